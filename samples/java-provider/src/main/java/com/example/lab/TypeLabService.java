package com.example.lab;

import com.example.bank.Currency;
import com.example.bank.Transfer;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Type laboratory, exported over the dubbo protocol without version or group.
 *
 * <p>echo* methods return their argument unchanged (tests both directions of a type).
 *
 * <p>describe* methods return a String of exactly what Java received:
 * <ul>
 *   <li>describeLong: Long.toString(v)
 *   <li>describePrimitives: the 8 values joined by "|" with String.valueOf, in parameter order
 *       (int|long|double|boolean|short|byte|float|char)
 *   <li>describeBoxed: the 4 values joined by "|" with String.valueOf ("null" for nulls)
 *   <li>describeDecimal: v.toString() + "|scale=" + v.scale(); "null" for null
 *   <li>describeBigInteger: v.toString(); "null" for null
 *   <li>describeString: length() + "|" + code points in lower hex joined by " " (e.g. "2|1f600"
 *       for one emoji: length counts UTF-16 units, the list code points); "null" for null
 *   <li>describeDate: getTime() (epoch milliseconds); "null" for null
 *   <li>describeLocalDate / describeLocalDateTime / describeLocalTime / describeInstant: toString()
 *   <li>describeCurrency: name() + "|" + ordinal()
 *   <li>describeBytes: lower-case hex, no separators ("" for empty, "null" for null)
 *   <li>describeLongList: each element as "&lt;simpleClassName&gt;:&lt;value&gt;" joined by ","
 *       (shows Long vs Integer elements); "null" for a null element; prefixed by nothing
 *   <li>describeMap: entries sorted by key as "k=&lt;simpleClassName&gt;:&lt;value&gt;" joined by ","
 *       ("k=null" for a null value; value via String.valueOf)
 *   <li>describeTransfer: "to=..|amount=..|currency=..|memo=..|executeAt=..|tags=[a, b]"
 *       (String.valueOf each, so "null" for nulls; amount via BigDecimal.toString)
 *   <li>describeCustomer: "id=..|createdBy=..|name=..|limit=..|level=.." (String.valueOf each)
 *   <li>describeTimeBag: each field in declared order as String.valueOf, joined by "|", except the
 *       java.sql ones as getTime() (epoch milliseconds; "null" for null)
 *   <li>describeJdkBag: each field in declared order as "&lt;simpleClassName&gt;:&lt;toString&gt;" joined by "|"
 *       ("null" for null), the Float's bits after "/" in hex, so the JVM class (ZoneRegion or
 *       ZoneOffset, RegularEnumSet) and the exact float are visible
 *   <li>describeFloats: f, g and each element of a as Float.toString + "/" + the bits in hex, joined by "|"
 *   <li>countCurrencies: an EnumMap of each constant in the list to how often it appears
 * </ul>
 *
 * <p>parse* methods build a value in Java from its text (BigInteger/BigDecimal constructors,
 * LocalDate.parse, ..., Currency.valueOf) and return it, so tests can see exactly how Dubbo
 * writes any value of these types on the wire.
 *
 * <p>fail(code, details) always throws a LabException with that code and details and the
 * internalNote "secret-note-" + code.
 */
public interface TypeLabService {
  boolean echoBoolean(boolean v);
  Boolean echoBoxedBoolean(Boolean v);
  int echoInt(int v);
  Integer echoInteger(Integer v);
  short echoShort(short v);
  byte echoByte(byte v);
  long echoLong(long v);
  Long echoBoxedLong(Long v);
  double echoDouble(double v);
  float echoFloat(float v);
  BigDecimal echoDecimal(BigDecimal v);
  BigInteger echoBigInteger(BigInteger v);
  String echoString(String v);
  Date echoDate(Date v);
  LocalDate echoLocalDate(LocalDate v);
  LocalDateTime echoLocalDateTime(LocalDateTime v);
  LocalTime echoLocalTime(LocalTime v);
  Instant echoInstant(Instant v);
  Currency echoCurrency(Currency v);
  byte[] echoBytes(byte[] v);
  List<String> echoStringList(List<String> v);
  Set<Long> echoLongSet(Set<Long> v);
  long[] echoLongArray(long[] v);
  String[] echoStringArray(String[] v);
  List<Transfer> echoTransfers(List<Transfer> v);
  Map<String, Object> echoMap(Map<String, Object> v);
  Map<String, BigDecimal> echoDecimalMap(Map<String, BigDecimal> v);
  Transfer echoTransfer(Transfer v);
  Customer echoCustomer(Customer v);
  TimeBag echoTimeBag(TimeBag v);

  JdkBag echoJdkBag(JdkBag v);

  String describeLong(long v);
  String describePrimitives(int i, long l, double d, boolean z, short s, byte b, float f, char c);
  String describeBoxed(Integer i, Long l, Double d, Boolean z);
  String describeDecimal(BigDecimal v);
  String describeBigInteger(BigInteger v);
  String describeString(String v);
  String describeDate(Date v);
  String describeLocalDate(LocalDate v);
  String describeLocalDateTime(LocalDateTime v);
  String describeLocalTime(LocalTime v);
  String describeInstant(Instant v);
  String describeCurrency(Currency v);
  String describeBytes(byte[] v);
  String describeLongList(List<Long> v);
  String describeMap(Map<String, Object> v);
  String describeTransfer(Transfer v);
  String describeCustomer(Customer v);
  String describeTimeBag(TimeBag v);

  String describeJdkBag(JdkBag v);

  String describeFloats(float f, Float g, float[] a);

  java.util.EnumMap<Currency, Integer> countCurrencies(List<Currency> v);

  String fail(String code, List<String> details) throws LabException;

  BigInteger parseBigInteger(String text);
  BigDecimal parseDecimal(String text);
  LocalDate parseLocalDate(String text);
  LocalDateTime parseLocalDateTime(String text);
  LocalTime parseLocalTime(String text);
  Instant parseInstant(String text);
  Date parseDate(long epochMillis);
  Currency parseCurrency(String name);
}
