package ferry.oracle;

import com.caucho.hessian.io.Hessian2Input;
import com.caucho.hessian.io.Hessian2Output;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.*;

/**
 * A line-oriented Hessian 2 oracle for Ferry's codec tests. The same source compiles against Caucho
 * Hessian (com.caucho.hessian.io) and, with the package renamed, against Dubbo's hessian-lite
 * (com.alibaba.com.caucho.hessian.io).
 *
 * Commands (one per line on stdin, one answer line on stdout):
 *   write NAME     -> "ok HEX": the bytes Java writes for the named sample value(s)
 *   read HEX       -> "ok D1 | D2 | ...": every top-level value in HEX, described canonically
 * Errors answer "err MESSAGE".
 */
public final class HessianOracle {
  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    PrintStream out = new PrintStream(System.out, true, "UTF-8");
    String line;
    while ((line = in.readLine()) != null) {
      line = line.trim();
      if (line.isEmpty()) continue;
      try {
        if (line.startsWith("write ")) {
          out.println("ok " + hex(write(samples(line.substring(6).trim()))));
        } else if (line.startsWith("read ")) {
          out.println("ok " + read(unhex(line.substring(5).trim())));
        } else if (line.equals("quit")) {
          break;
        } else {
          out.println("err unknown command");
        }
      } catch (Throwable t) {
        out.println("err " + t.getClass().getName() + ": " + String.valueOf(t.getMessage()).replace('\n', ' '));
      }
    }
  }

  private static byte[] write(Object[] values) throws Exception {
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    Hessian2Output h = new Hessian2Output(bos);
    for (Object v : values) h.writeObject(v);
    h.flush();
    return bos.toByteArray();
  }

  private static String read(byte[] data) throws Exception {
    ByteArrayInputStream bis = new ByteArrayInputStream(data);
    Hessian2Input h = new Hessian2Input(bis);
    StringBuilder sb = new StringBuilder();
    boolean first = true;
    while (!h.isEnd()) {
      Object v = h.readObject();
      if (!first) sb.append(" | ");
      first = false;
      sb.append(describe(v, new IdentityHashMap<>()));
    }
    return sb.toString();
  }

  private static Object[] samples(String name) {
    switch (name) {
      case "ints":
        return new Object[] {0, -16, 47, 48, -17, -2048, 2047, 2048, -2049, -262144, 262143, 262144, -262145,
          Integer.MIN_VALUE, Integer.MAX_VALUE};
      case "longs":
        return new Object[] {0L, -8L, 15L, 16L, -9L, -2048L, 2047L, 2048L, -262144L, 262143L, 262144L,
          2147483647L, -2147483648L, 2147483648L, -2147483649L, 9007199254740993L, Long.MAX_VALUE, Long.MIN_VALUE};
      case "doubles":
        return new Object[] {0.0, -0.0, 1.0, -1.0, 127.0, -128.0, 128.0, 32767.0, -32768.0, 32768.0, 1.5, 0.001,
          -12.345, 2147483.647, 0.1, 1e300, Double.MIN_VALUE, Double.NaN, Double.POSITIVE_INFINITY,
          Double.NEGATIVE_INFINITY, 3.0e9};
      case "strings": {
        StringBuilder big = new StringBuilder();
        for (int i = 0; i < 40000; i++) big.append((char) ('a' + (i % 26)));
        StringBuilder edge = new StringBuilder();
        for (int i = 0; i < 0x8000 - 1; i++) edge.append('x');
        edge.append("\uD83D\uDE00tail");
        return new Object[] {"", "hello", "\u4E2D\u6587\u5B57\u7B26", "a\uD83D\uDE00b", "\uD800", "\u00E9\u0000\u07FF\u0800\uFFFF",
          big.toString(), edge.toString(), repeat('z', 31), repeat('z', 32), repeat('z', 1023), repeat('z', 1024)};
      }
      case "dates":
        return new Object[] {new Date(0L), new Date(1625097599123L), new Date(60000L * 27000000L), new Date(-1L),
          new Date(60000L * 3000000000L)};
      case "bytes":
        return new Object[] {new byte[0], bytes(15), bytes(16), bytes(1023), bytes(1024), bytes(5000)};
      case "lists": {
        ArrayList<Object> al = new ArrayList<>(Arrays.asList(1, "two", 3L, null));
        HashSet<String> hs = new HashSet<>(Arrays.asList("x"));
        return new Object[] {al, new int[] {1, 2, 3}, new long[] {1L, 1L << 40}, new String[] {"a", "b"},
          new Object[] {1, "x"}, hs, new ArrayList<>(), new ArrayList<>(Arrays.asList(1, 2, 3, 4, 5, 6, 7, 8)),
          new LinkedList<>(Arrays.asList("q")), new double[] {1.5}, new boolean[] {true, false}, new short[] {7},
          new Integer[] {1, null}, Arrays.asList(1, 2).iterator(), new Currency[] {Currency.USD}};
      }
      case "maps": {
        HashMap<String, Object> hm = new HashMap<>();
        hm.put("a", 1);
        hm.put("b", "x");
        LinkedHashMap<String, Object> lhm = new LinkedHashMap<>();
        lhm.put("z", 1L);
        lhm.put("y", null);
        TreeMap<Integer, String> tm = new TreeMap<>();
        tm.put(2, "two");
        tm.put(1, "one");
        HashMap<Long, String> lk = new HashMap<>();
        lk.put(5L, "five");
        return new Object[] {hm, lhm, tm, lk, new HashMap<>()};
      }
      case "simple": {
        Simple s = simple();
        return new Object[] {s, s.child};
      }
      case "nodes": {
        Node a = new Node("a", null);
        Node b = new Node("b", a);
        a.next = b;
        return new Object[] {a};
      }
      case "enums":
        return new Object[] {Currency.USD, Currency.EUR, Currency.USD};
      case "exception":
        return new Object[] {new IllegalStateException("boom"), new RuntimeException("outer", new IllegalArgumentException("inner"))};
      case "bigdecimal":
        return new Object[] {new BigDecimal("1.10"), new BigDecimal("12345678901234567890.123456789"), new BigDecimal("1E+3"),
          new BigDecimal("-0.00"), new BigDecimal("1E-10")};
      case "biginteger":
        return new Object[] {BigInteger.ZERO, BigInteger.ONE, BigInteger.valueOf(-5), new BigInteger("18446744073709551617"),
          new BigInteger("-123456789012345678901234567890")};
      case "javatime":
        return new Object[] {java.time.LocalDate.of(2021, 6, 30), java.time.LocalTime.of(23, 59, 59, 123456789),
          java.time.LocalDateTime.of(2021, 6, 30, 23, 59, 59, 123456789), java.time.Instant.ofEpochSecond(1625097599L, 123000000),
          java.time.LocalDateTime.of(2021, 1, 2, 3, 4), java.time.LocalTime.MIDNIGHT};
      case "javatime2":
        return new Object[] {java.time.Duration.parse("PT51H4M"), java.time.Duration.ofSeconds(-1, 500_000_000),
          java.time.Period.of(1, 2, 21), java.time.Year.of(2024), java.time.YearMonth.of(-44, 3), java.time.MonthDay.of(2, 29),
          java.time.ZoneOffset.ofHoursMinutes(5, 30),
          java.time.OffsetDateTime.of(2024, 2, 29, 9, 30, 0, 123_000_000, java.time.ZoneOffset.ofHours(1)),
          java.time.OffsetTime.of(23, 59, 59, 999_999_999, java.time.ZoneOffset.ofHours(-8)),
          java.time.ZonedDateTime.ofLocal(java.time.LocalDateTime.of(2024, 3, 31, 3, 30), java.time.ZoneId.of("Europe/Paris"),
            java.time.ZoneOffset.ofHours(2)),
          new java.sql.Timestamp(1709199000123L), new java.sql.Date(0L), new java.sql.Time(3600000L)};
      case "uuid":
        return new Object[] {UUID.fromString("123e4567-e89b-12d3-a456-426614174000"), new UUID(-1L, 0L)};
      case "currency":
        return new Object[] {java.util.Currency.getInstance("EUR"), java.util.Currency.getInstance("JPY")};
      case "locale":
        return new Object[] {Locale.US, new Locale("de", "DE", "POSIX"), Locale.ROOT, new Locale("", "US")};
      case "localescript":
        return new Object[] {Locale.forLanguageTag("zh-Hans-CN")};
      case "zoneid":
        return new Object[] {java.time.ZoneId.of("Europe/Paris"), java.time.ZoneId.of("UTC"), java.time.ZoneId.of("UTC+5"),
          java.time.ZoneId.of("+05:30"), java.time.ZoneId.of("America/Argentina/Buenos_Aires")};
      case "enumset":
        return new Object[] {EnumSet.of(Currency.EUR, Currency.CNY)};
      case "enumsetempty":
        return new Object[] {EnumSet.noneOf(Currency.class)};
      case "enummap": {
        EnumMap<Currency, Integer> m = new EnumMap<>(Currency.class);
        m.put(Currency.EUR, 2);
        m.put(Currency.USD, 1);
        return new Object[] {m};
      }
      case "floats":
        return new Object[] {Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, 0.1f, 1.0E-44f, 3.0E38f, 16777217f,
          new float[] {Float.MAX_VALUE, Float.MIN_VALUE, 0.1f}};
      case "floatminnormal":
        return new Object[] {Float.MIN_NORMAL};
      case "floatbag": {
        FloatBag b = new FloatBag();
        b.f = Float.MAX_VALUE;
        b.pad = 0L;
        return new Object[] {b};
      }
      case "optional":
        return new Object[] {Optional.of("x")};
      case "transfer": {
        Transfer t = new Transfer();
        t.to = 9007199254740993L;
        t.amount = new BigDecimal("12345678901234567.89");
        t.memo = "rent \u2603";
        t.executeAt = java.time.LocalDateTime.of(2024, 2, 29, 12, 0, 0, 5);
        t.tags = new ArrayList<>(Arrays.asList("a", "b"));
        t.currency = Currency.EUR;
        t.count = 3;
        t.maybe = null;
        return new Object[] {t};
      }
      default:
        throw new IllegalArgumentException("no sample " + name);
    }
  }

  private static Simple simple() {
    Simple s = new Simple();
    s.id = Long.MAX_VALUE;
    s.n = -7;
    s.name = "\u00FCber \uD83D\uDE00";
    s.ratio = 0.25;
    s.flag = true;
    s.when = new Date(1625097599123L);
    s.blob = new byte[] {1, 2, (byte) 255};
    s.tags = new ArrayList<>(Arrays.asList("t1"));
    s.counts = new HashMap<>();
    s.counts.put("k", 1L << 40);
    s.currency = Currency.CNY;
    Simple c = new Simple();
    c.name = "child";
    c.tags = new ArrayList<>();
    s.child = c;
    return s;
  }

  private static String repeat(char c, int n) {
    char[] a = new char[n];
    Arrays.fill(a, c);
    return new String(a);
  }

  private static byte[] bytes(int n) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) b[i] = (byte) (i * 7 + 3);
    return b;
  }

  // ---- canonical descriptions -------------------------------------------------------------

  static String describe(Object o, IdentityHashMap<Object, Boolean> seen) throws Exception {
    if (o == null) return "null";
    if (o instanceof Integer) return "int:" + o;
    if (o instanceof Long) return "long:" + o;
    if (o instanceof Short) return "short:" + o;
    if (o instanceof Byte) return "byte:" + o;
    if (o instanceof Double) return "double:" + o;
    if (o instanceof Float) return "float:" + o;
    if (o instanceof Boolean) return "bool:" + o;
    if (o instanceof Character) return "char:" + esc(o.toString());
    if (o instanceof String) return "str:" + esc((String) o);
    if (o instanceof Date) return "date:" + ((Date) o).getTime();
    if (o instanceof byte[]) return "bytes:" + hex((byte[]) o);
    if (o instanceof BigDecimal) return "bigdecimal:" + o;
    if (o instanceof BigInteger) return "biginteger:" + o;
    if (o instanceof java.time.temporal.Temporal) return o.getClass().getSimpleName() + ":" + o;
    if (o instanceof UUID || o instanceof java.util.Currency || o instanceof Locale || o instanceof java.time.ZoneId) {
      return o.getClass().getName() + ":" + o;
    }
    if (o instanceof Float) return "float:" + o + "/bits:" + Integer.toHexString(Float.floatToIntBits((Float) o));
    if (o instanceof Enum) return "enum:" + ((Enum<?>) o).getDeclaringClass().getName() + "." + ((Enum<?>) o).name();
    if (seen.containsKey(o)) return "@cycle";
    seen.put(o, Boolean.TRUE);
    try {
      if (o.getClass().isArray()) {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < Array.getLength(o); i++) parts.add(describe(Array.get(o, i), seen));
        return "array<" + o.getClass().getComponentType().getName() + ">[" + String.join(",", parts) + "]";
      }
      if (o instanceof Throwable) {
        Throwable t = (Throwable) o;
        String s = o.getClass().getName() + "(" + esc(String.valueOf(t.getMessage())) + ")";
        if (t.getCause() != null && t.getCause() != t) s += " causedBy " + describe(t.getCause(), seen);
        return s;
      }
      if (o instanceof Collection) {
        List<String> parts = new ArrayList<>();
        for (Object e : (Collection<?>) o) parts.add(describe(e, seen));
        if (o instanceof Set && !(o instanceof SortedSet) && !(o instanceof LinkedHashSet)) Collections.sort(parts);
        return o.getClass().getName() + "[" + String.join(",", parts) + "]";
      }
      if (o instanceof Map) {
        List<String> parts = new ArrayList<>();
        for (Map.Entry<?, ?> e : ((Map<?, ?>) o).entrySet()) {
          parts.add(describe(e.getKey(), seen) + "=" + describe(e.getValue(), seen));
        }
        if (!(o instanceof SortedMap) && !(o instanceof LinkedHashMap)) Collections.sort(parts);
        return o.getClass().getName() + "{" + String.join(",", parts) + "}";
      }
      List<Field> fields = new ArrayList<>();
      for (Class<?> c = o.getClass(); c != null && c != Object.class; c = c.getSuperclass()) {
        for (Field f : c.getDeclaredFields()) {
          if (Modifier.isStatic(f.getModifiers()) || Modifier.isTransient(f.getModifiers())) continue;
          fields.add(f);
        }
      }
      fields.sort(Comparator.comparing(Field::getName));
      List<String> parts = new ArrayList<>();
      for (Field f : fields) {
        f.setAccessible(true);
        parts.add(f.getName() + "=" + describe(f.get(o), seen));
      }
      return o.getClass().getName() + "{" + String.join(",", parts) + "}";
    } finally {
      seen.remove(o);
    }
  }

  /** Escapes everything outside printable ASCII (and the separators) as \\uXXXX, per UTF-16 unit. */
  static String esc(String s) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c > 0x7e || c == '\\' || c == '|') sb.append(String.format("\\u%04x", (int) c));
      else sb.append(c);
    }
    return sb.toString();
  }

  static String hex(byte[] b) {
    StringBuilder sb = new StringBuilder(b.length * 2);
    for (byte x : b) sb.append(String.format("%02x", x & 0xff));
    return sb.toString();
  }

  static byte[] unhex(String s) {
    byte[] b = new byte[s.length() / 2];
    for (int i = 0; i < b.length; i++) b[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
    return b;
  }
}
