package com.example.sample;

import com.example.bank.Currency;
import com.example.bank.Transfer;
import com.example.lab.Customer;
import com.example.lab.JdkBag;
import com.example.lab.LabException;
import com.example.lab.TimeBag;
import com.example.lab.TypeLabService;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** Echoes and describes values; formats are documented on {@link TypeLabService}. */
public final class TypeLabServiceImpl implements TypeLabService {
  @Override public boolean echoBoolean(boolean v) { return v; }
  @Override public Boolean echoBoxedBoolean(Boolean v) { return v; }
  @Override public int echoInt(int v) { return v; }
  @Override public Integer echoInteger(Integer v) { return v; }
  @Override public short echoShort(short v) { return v; }
  @Override public byte echoByte(byte v) { return v; }
  @Override public long echoLong(long v) { return v; }
  @Override public Long echoBoxedLong(Long v) { return v; }
  @Override public double echoDouble(double v) { return v; }
  @Override public float echoFloat(float v) { return v; }
  @Override public BigDecimal echoDecimal(BigDecimal v) { return v; }
  @Override public BigInteger echoBigInteger(BigInteger v) { return v; }
  @Override public String echoString(String v) { return v; }
  @Override public Date echoDate(Date v) { return v; }
  @Override public LocalDate echoLocalDate(LocalDate v) { return v; }
  @Override public LocalDateTime echoLocalDateTime(LocalDateTime v) { return v; }
  @Override public LocalTime echoLocalTime(LocalTime v) { return v; }
  @Override public Instant echoInstant(Instant v) { return v; }
  @Override public Currency echoCurrency(Currency v) { return v; }
  @Override public byte[] echoBytes(byte[] v) { return v; }
  @Override public List<String> echoStringList(List<String> v) { return v; }
  @Override public Set<Long> echoLongSet(Set<Long> v) { return v; }
  @Override public long[] echoLongArray(long[] v) { return v; }
  @Override public String[] echoStringArray(String[] v) { return v; }
  @Override public List<Transfer> echoTransfers(List<Transfer> v) { return v; }
  @Override public Map<String, Object> echoMap(Map<String, Object> v) { return v; }
  @Override public Map<String, BigDecimal> echoDecimalMap(Map<String, BigDecimal> v) { return v; }
  @Override public Transfer echoTransfer(Transfer v) { return v; }
  @Override public Customer echoCustomer(Customer v) { return v; }
  @Override public TimeBag echoTimeBag(TimeBag v) { return v; }

  @Override public JdkBag echoJdkBag(JdkBag v) { return v; }

  private static String classAndText(Object o) {
    return o == null ? "null" : o.getClass().getSimpleName() + ":" + o;
  }

  private static String floatText(Float f) {
    return f == null ? "null" : f + "/" + Integer.toHexString(Float.floatToRawIntBits(f));
  }

  @Override
  public String describeJdkBag(JdkBag v) {
    if (v == null) {
      return "null";
    }
    return String.join("|", classAndText(v.getId()), classAndText(v.getMoney()), classAndText(v.getLocale()), classAndText(v.getZone()),
        classAndText(v.getCurrencies()), floatText(v.getRatio()));
  }

  @Override
  public String describeFloats(float f, Float g, float[] a) {
    List<String> parts = new ArrayList<>();
    parts.add(floatText(f));
    parts.add(floatText(g));
    if (a == null) {
      parts.add("null");
    } else {
      for (float x : a) {
        parts.add(floatText(x));
      }
    }
    return String.join("|", parts);
  }

  @Override
  public java.util.EnumMap<Currency, Integer> countCurrencies(List<Currency> v) {
    java.util.EnumMap<Currency, Integer> out = new java.util.EnumMap<>(Currency.class);
    for (Currency c : v) {
      out.merge(c, 1, Integer::sum);
    }
    return out;
  }

  private static String millis(java.util.Date d) {
    return d == null ? "null" : Long.toString(d.getTime());
  }

  @Override
  public String describeTimeBag(TimeBag v) {
    if (v == null) {
      return "null";
    }
    return String.join("|", String.valueOf(v.getDuration()), String.valueOf(v.getPeriod()), String.valueOf(v.getYear()),
        String.valueOf(v.getYearMonth()), String.valueOf(v.getMonthDay()), String.valueOf(v.getZoneOffset()),
        String.valueOf(v.getOffsetDateTime()), String.valueOf(v.getOffsetTime()), String.valueOf(v.getZonedDateTime()),
        millis(v.getTimestamp()), millis(v.getSqlDate()), millis(v.getSqlTime()));
  }

  @Override
  public String describeCustomer(Customer v) {
    if (v == null) {
      return "null";
    }
    return "id=" + v.getId()
        + "|createdBy=" + v.getCreatedBy()
        + "|name=" + v.getName()
        + "|limit=" + v.getLimit()
        + "|level=" + v.getLevel();
  }

  @Override
  public String fail(String code, List<String> details) throws LabException {
    throw new LabException(code, details, "secret-note-" + code);
  }

  @Override
  public String describeLong(long v) {
    return Long.toString(v);
  }

  @Override
  public String describePrimitives(int i, long l, double d, boolean z, short s, byte b, float f, char c) {
    return String.join("|", String.valueOf(i), String.valueOf(l), String.valueOf(d), String.valueOf(z),
        String.valueOf(s), String.valueOf(b), String.valueOf(f), String.valueOf(c));
  }

  @Override
  public String describeBoxed(Integer i, Long l, Double d, Boolean z) {
    return String.join("|", String.valueOf(i), String.valueOf(l), String.valueOf(d), String.valueOf(z));
  }

  @Override
  public String describeDecimal(BigDecimal v) {
    return v == null ? "null" : v.toString() + "|scale=" + v.scale();
  }

  @Override
  public String describeBigInteger(BigInteger v) {
    return String.valueOf(v);
  }

  @Override
  public String describeString(String v) {
    if (v == null) {
      return "null";
    }
    List<String> cps = new ArrayList<>();
    v.codePoints().forEach(cp -> cps.add(Integer.toHexString(cp)));
    return v.length() + "|" + String.join(" ", cps);
  }

  @Override
  public String describeDate(Date v) {
    return v == null ? "null" : Long.toString(v.getTime());
  }

  @Override public String describeLocalDate(LocalDate v) { return String.valueOf(v); }
  @Override public String describeLocalDateTime(LocalDateTime v) { return String.valueOf(v); }
  @Override public String describeLocalTime(LocalTime v) { return String.valueOf(v); }
  @Override public String describeInstant(Instant v) { return String.valueOf(v); }

  @Override
  public String describeCurrency(Currency v) {
    return v == null ? "null" : v.name() + "|" + v.ordinal();
  }

  @Override
  public String describeBytes(byte[] v) {
    if (v == null) {
      return "null";
    }
    StringBuilder sb = new StringBuilder(v.length * 2);
    for (byte x : v) {
      sb.append(Character.forDigit((x >> 4) & 0xF, 16)).append(Character.forDigit(x & 0xF, 16));
    }
    return sb.toString();
  }

  /** Elements are deliberately typed as Object: hessian may have put Integers in a List<Long>. */
  @Override
  public String describeLongList(List<Long> v) {
    if (v == null) {
      return "null";
    }
    List<String> parts = new ArrayList<>();
    for (Object o : (List<?>) v) {
      parts.add(typed(o));
    }
    return String.join(",", parts);
  }

  @Override
  public String describeMap(Map<String, Object> v) {
    if (v == null) {
      return "null";
    }
    Map<String, Object> sorted = new TreeMap<>();
    for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
      sorted.put(String.valueOf(e.getKey()), e.getValue());
    }
    List<String> parts = new ArrayList<>();
    for (Map.Entry<String, Object> e : sorted.entrySet()) {
      parts.add(e.getKey() + "=" + typed(e.getValue()));
    }
    return String.join(",", parts);
  }

  @Override
  public String describeTransfer(Transfer v) {
    if (v == null) {
      return "null";
    }
    return "to=" + v.getTo()
        + "|amount=" + v.getAmount()
        + "|currency=" + v.getCurrency()
        + "|memo=" + v.getMemo()
        + "|executeAt=" + v.getExecuteAt()
        + "|tags=" + v.getTags();
  }

  @Override public BigInteger parseBigInteger(String text) { return new BigInteger(text); }
  @Override public BigDecimal parseDecimal(String text) { return new BigDecimal(text); }
  @Override public LocalDate parseLocalDate(String text) { return LocalDate.parse(text); }
  @Override public LocalDateTime parseLocalDateTime(String text) { return LocalDateTime.parse(text); }
  @Override public LocalTime parseLocalTime(String text) { return LocalTime.parse(text); }
  @Override public Instant parseInstant(String text) { return Instant.parse(text); }
  @Override public Date parseDate(long epochMillis) { return new Date(epochMillis); }
  @Override public Currency parseCurrency(String name) { return Currency.valueOf(name); }

  private static String typed(Object o) {
    return o == null ? "null" : o.getClass().getSimpleName() + ":" + o;
  }
}
