package ferry.oracle;

import com.caucho.hessian.io.AbstractDeserializer;
import com.caucho.hessian.io.AbstractHessianInput;
import com.caucho.hessian.io.AbstractHessianOutput;
import com.caucho.hessian.io.AbstractSerializer;
import com.caucho.hessian.io.AbstractSerializerFactory;
import com.caucho.hessian.io.Deserializer;
import com.caucho.hessian.io.Hessian2Input;
import com.caucho.hessian.io.Hessian2Output;
import com.caucho.hessian.io.HessianProtocolException;
import com.caucho.hessian.io.Serializer;
import com.caucho.hessian.io.SerializerFactory;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.reflect.Array;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Caucho Hessian 2 oracle (Debian's libhessian-java, Caucho 4.0.38) for Ferry's codec tests.
 *
 * <h2>Protocol</h2>
 *
 * One request per line on stdin, one answer line per request on stdout (flushed), so one JVM can
 * serve a whole test file. Also accepted as two program arguments: {@code ENC '<json>'}.
 *
 * <pre>
 *   ENC &lt;json spec&gt;   ->  OK &lt;lower-case hex of the Hessian 2 bytes&gt;
 *   DEC &lt;hex&gt;         ->  OK &lt;description of each top-level value, separated by TAB&gt;
 *   PING                ->  OK pong
 *   anything failing    ->  ERR &lt;exception class&gt;: &lt;message&gt;
 * </pre>
 *
 * <h2>Specs (ENC)</h2>
 *
 * A JSON object {"kind": K, ...}. Caucho's own serializers write the Java value built from it:
 *
 * <pre>
 *   {"kind":"null"}
 *   {"kind":"bool","value":true}
 *   {"kind":"int"|"short"|"byte","value":-5}          Integer / Short / Byte (all written as int)
 *   {"kind":"long","value":"9223372036854775807"}     Long; a JSON number or a decimal string
 *   {"kind":"double"|"float","value":1.5}             also "NaN", "Infinity", "-Infinity", "-0.0"
 *   {"kind":"char","value":"x"}
 *   {"kind":"string","value":"..."}                   JSON \\uXXXX escapes give any UTF-16 units
 *   {"kind":"binary","value":"00ff"}                  byte[] from hex
 *   {"kind":"date","value":1577836800000}             java.util.Date from epoch ms
 *   {"kind":"list","items":[spec...]}                 java.util.ArrayList (untyped list)
 *   {"kind":"typed-list","type":T,"items":[...]}      T = a java.util collection class
 *                                                     (LinkedList, HashSet, TreeSet, ...) or an
 *                                                     array type: [int [long [short [double
 *                                                     [float [boolean [char [string [object
 *   {"kind":"map","entries":[[kspec,vspec]...]}       java.util.HashMap (untyped map)
 *   {"kind":"typed-map","type":T,"entries":[...]}     e.g. java.util.TreeMap, LinkedHashMap
 *   {"kind":"object","type":"com.x.Y","fields":[["name",spec]...]}
 *                                                     a typed object (class def + instance);
 *                                                     every object of one type must list the
 *                                                     same fields in the same order
 *   {"kind":"def","id":"a","value":spec}              builds spec and names it "a"
 *   {"kind":"use","id":"a"}                           the SAME Java object again: Caucho writes
 *                                                     a ref (Q) for lists, maps and objects
 *   {"kind":"seq","items":[spec...]}                  several top-level values in one stream
 *                                                     (shared class defs and refs), like a
 *                                                     Dubbo body
 * </pre>
 *
 * <h2>Descriptions (DEC)</h2>
 *
 * <pre>
 *   null | bool:true | int:5 | long:5 | double:1.5 (Double.toString) | date:&lt;epoch ms&gt;
 *   string:"..." (JSON-style escapes; every char outside 0x20..0x7e as \\uXXXX UTF-16 units)
 *   binary:&lt;hex&gt;
 *   list:&lt;java class&gt;[d, d]         e.g. list:java.util.ArrayList[int:1, int:2]
 *   array:&lt;component&gt;[d, d]         e.g. array:long[long:1, long:2], array:java.lang.String[...]
 *   map:&lt;java class&gt;{k=&gt;v, k=&gt;v}    entries sorted by their key's description
 *   object:&lt;type&gt;{f=d, f=d}         types not on this classpath (all of Ferry's), fields in
 *                                     the order of the class definition
 *   @n                               a list/map/object/array already described: the n-th
 *                                     (0-based, in order of first appearance)
 * </pre>
 *
 * Caucho needs, on Java 17: --add-opens java.base/java.lang=ALL-UNNAMED (and java.math,
 * java.util, java.time, java.io).
 */
public final class HessianOracle {
  private HessianOracle() {}

  public static void main(String[] args) throws IOException {
    PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
    if (args.length == 2) {
      out.println(handle(args[0] + " " + args[1]));
      out.flush();
      return;
    }
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isBlank()) {
        continue;
      }
      out.println(handle(line));
      out.flush();
    }
  }

  /** Answers one request line. Never throws. */
  static String handle(String line) {
    try {
      int sp = line.indexOf(' ');
      String cmd = sp < 0 ? line.trim() : line.substring(0, sp);
      String arg = sp < 0 ? "" : line.substring(sp + 1).trim();
      switch (cmd) {
        case "PING":
          return "OK pong";
        case "ENC":
          return "OK " + toHex(encode(Json.parse(arg)));
        case "DEC":
          return "OK " + decode(fromHex(arg));
        default:
          return "ERR unknown command " + cmd;
      }
    } catch (Throwable e) {
      String msg = e.getClass().getName() + ": " + e.getMessage();
      return "ERR " + msg.replace('\n', ' ').replace('\r', ' ');
    }
  }

  // ------------------------------------------------------------------------------ encoding

  static SerializerFactory factory() {
    SerializerFactory f = new OracleSerializerFactory();
    f.addFactory(new GenericObjectFactory());
    return f;
  }

  static byte[] encode(Object spec) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Hessian2Output out = new Hessian2Output(bytes);
    out.setSerializerFactory(factory());
    Map<String, Object> named = new HashMap<>();
    Map<?, ?> s = asMap(spec);
    if ("seq".equals(s.get("kind"))) {
      for (Object item : asList(s.get("items"))) {
        out.writeObject(build(item, named));
      }
    } else {
      out.writeObject(build(spec, named));
    }
    out.flush();
    return bytes.toByteArray();
  }

  /** The Java value for a spec (see the class comment). */
  static Object build(Object spec, Map<String, Object> named) {
    Map<?, ?> s = asMap(spec);
    String kind = String.valueOf(s.get("kind"));
    Object v = s.get("value");
    switch (kind) {
      case "null":
        return null;
      case "bool":
        return (Boolean) v;
      case "int":
        return Integer.valueOf(text(v));
      case "short":
        return Short.valueOf(text(v));
      case "byte":
        return Byte.valueOf(text(v));
      case "long":
        return Long.valueOf(text(v));
      case "double":
        return Double.valueOf(text(v));
      case "float":
        return Float.valueOf(text(v));
      case "char": {
        String t = (String) v;
        if (t.length() != 1) {
          throw new IllegalArgumentException("char needs a one-unit string");
        }
        return t.charAt(0);
      }
      case "string":
        return (String) v;
      case "binary":
        return fromHex((String) v);
      case "date":
        return new Date(Long.parseLong(text(v)));
      case "list": {
        List<Object> l = new ArrayList<>();
        for (Object item : asList(s.get("items"))) {
          l.add(build(item, named));
        }
        return l;
      }
      case "typed-list":
        return typedList(String.valueOf(s.get("type")), asList(s.get("items")), named);
      case "map":
        return fillMap(new HashMap<>(), asList(s.get("entries")), named);
      case "typed-map":
        return fillMap(newMap(String.valueOf(s.get("type"))), asList(s.get("entries")), named);
      case "object": {
        GenericObject o = new GenericObject(String.valueOf(s.get("type")));
        for (Object f : asList(s.get("fields"))) {
          List<?> pair = asList(f);
          o.fields.put(String.valueOf(pair.get(0)), build(pair.get(1), named));
        }
        return o;
      }
      case "def": {
        Object built = build(s.get("value"), named);
        named.put(String.valueOf(s.get("id")), built);
        return built;
      }
      case "use": {
        String id = String.valueOf(s.get("id"));
        if (!named.containsKey(id)) {
          throw new IllegalArgumentException("use of undefined id " + id);
        }
        return named.get(id);
      }
      default:
        throw new IllegalArgumentException("unknown kind " + kind);
    }
  }

  private static Object typedList(String type, List<?> items, Map<String, Object> named) {
    int n = items.size();
    switch (type) {
      case "[int": {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) a[i] = (Integer) build(items.get(i), named);
        return a;
      }
      case "[long": {
        long[] a = new long[n];
        for (int i = 0; i < n; i++) a[i] = (Long) build(items.get(i), named);
        return a;
      }
      case "[short": {
        short[] a = new short[n];
        for (int i = 0; i < n; i++) a[i] = (Short) build(items.get(i), named);
        return a;
      }
      case "[double": {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) a[i] = (Double) build(items.get(i), named);
        return a;
      }
      case "[float": {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (Float) build(items.get(i), named);
        return a;
      }
      case "[boolean": {
        boolean[] a = new boolean[n];
        for (int i = 0; i < n; i++) a[i] = (Boolean) build(items.get(i), named);
        return a;
      }
      case "[char": {
        char[] a = new char[n];
        for (int i = 0; i < n; i++) a[i] = (Character) build(items.get(i), named);
        return a;
      }
      case "[string": {
        String[] a = new String[n];
        for (int i = 0; i < n; i++) a[i] = (String) build(items.get(i), named);
        return a;
      }
      case "[object": {
        Object[] a = new Object[n];
        for (int i = 0; i < n; i++) a[i] = build(items.get(i), named);
        return a;
      }
      default: {
        Collection<Object> c = newCollection(type);
        for (Object item : items) {
          c.add(build(item, named));
        }
        return c;
      }
    }
  }

  @SuppressWarnings("unchecked")
  private static Collection<Object> newCollection(String type) {
    try {
      Class<?> cl = Class.forName(type);
      if (!type.startsWith("java.util.") || !Collection.class.isAssignableFrom(cl)) {
        throw new IllegalArgumentException("typed-list type must be a java.util collection or array: " + type);
      }
      return (Collection<Object>) cl.getDeclaredConstructor().newInstance();
    } catch (ReflectiveOperationException e) {
      throw new IllegalArgumentException("cannot create " + type + ": " + e);
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<Object, Object> newMap(String type) {
    try {
      Class<?> cl = Class.forName(type);
      if (!type.startsWith("java.util.") || !Map.class.isAssignableFrom(cl)) {
        throw new IllegalArgumentException("typed-map type must be a java.util map: " + type);
      }
      return (Map<Object, Object>) cl.getDeclaredConstructor().newInstance();
    } catch (ReflectiveOperationException e) {
      throw new IllegalArgumentException("cannot create " + type + ": " + e);
    }
  }

  private static Map<Object, Object> fillMap(Map<Object, Object> m, List<?> entries, Map<String, Object> named) {
    for (Object e : entries) {
      List<?> pair = asList(e);
      m.put(build(pair.get(0), named), build(pair.get(1), named));
    }
    return m;
  }

  /** A typed object whose class exists only by name (Ferry's POJOs are not on this classpath). */
  static final class GenericObject {
    final String type;
    final LinkedHashMap<String, Object> fields = new LinkedHashMap<>();

    GenericObject(String type) {
      // Caucho keys its class-definition table by identity (serializers pass Class.getName(),
      // one String per class); interning gives one instance per type name too.
      this.type = type.intern();
    }
  }

  /** Writes a GenericObject like Caucho's own bean serializers: ref check, class def, fields. */
  static final class GenericObjectSerializer extends AbstractSerializer {
    @Override
    public void writeObject(Object obj, AbstractHessianOutput out) throws IOException {
      if (out.addRef(obj)) {
        return;
      }
      GenericObject g = (GenericObject) obj;
      int ref = out.writeObjectBegin(g.type);
      if (ref == -1) {
        out.writeClassFieldLength(g.fields.size());
        for (String name : g.fields.keySet()) {
          out.writeString(name);
        }
        out.writeObjectBegin(g.type);
      }
      for (Object value : g.fields.values()) {
        out.writeObject(value);
      }
    }
  }

  /** Reads objects of unknown types into GenericObject (Caucho would fall back to a HashMap). */
  static final class GenericObjectDeserializer extends AbstractDeserializer {
    private final String type;

    GenericObjectDeserializer(String type) {
      this.type = type;
    }

    @Override
    public Object readObject(AbstractHessianInput in, Object[] fieldNames) throws IOException {
      GenericObject g = new GenericObject(type);
      in.addRef(g);
      for (Object name : fieldNames) {
        g.fields.put(String.valueOf(name), in.readObject());
      }
      return g;
    }

    @Override
    public Object readObject(AbstractHessianInput in, String[] fieldNames) throws IOException {
      return readObject(in, (Object[]) fieldNames);
    }
  }

  static final class GenericObjectFactory extends AbstractSerializerFactory {
    @Override
    public Serializer getSerializer(Class cl) {
      return cl == GenericObject.class ? new GenericObjectSerializer() : null;
    }

    @Override
    public Deserializer getDeserializer(Class cl) {
      return null;
    }
  }

  static final class OracleSerializerFactory extends SerializerFactory {
    @Override
    public Deserializer getObjectDeserializer(String type, Class cl) throws HessianProtocolException {
      if (!loadable(type)) {
        return new GenericObjectDeserializer(type);
      }
      return super.getObjectDeserializer(type, cl);
    }

    @Override
    public Deserializer getObjectDeserializer(String type) throws HessianProtocolException {
      if (!loadable(type)) {
        return new GenericObjectDeserializer(type);
      }
      return super.getObjectDeserializer(type);
    }

    private static boolean loadable(String type) {
      if (type == null || type.isEmpty() || type.startsWith("[")) {
        return true;
      }
      try {
        Class.forName(type, false, HessianOracle.class.getClassLoader());
        return true;
      } catch (ClassNotFoundException | LinkageError e) {
        return false;
      }
    }
  }

  // ------------------------------------------------------------------------------ decoding

  static String decode(byte[] bytes) throws IOException {
    PeekableInput in = new PeekableInput(bytes);
    in.setSerializerFactory(factory());
    List<String> parts = new ArrayList<>();
    IdentityHashMap<Object, Integer> seen = new IdentityHashMap<>();
    while (!in.atEnd()) {
      parts.add(describe(in.readObject(), seen));
    }
    return String.join("\t", parts);
  }

  /** Hessian2Input that can tell whether another top-level value follows. */
  static final class PeekableInput extends Hessian2Input {
    PeekableInput(byte[] bytes) {
      super(new ByteArrayInputStream(bytes));
    }

    boolean atEnd() throws IOException {
      if (read() < 0) {
        return true;
      }
      unread();
      return false;
    }
  }

  static String describe(Object v, IdentityHashMap<Object, Integer> seen) {
    if (v == null) {
      return "null";
    }
    if (v instanceof Boolean) {
      return "bool:" + v;
    }
    if (v instanceof Integer || v instanceof Short || v instanceof Byte) {
      return "int:" + v;
    }
    if (v instanceof Long) {
      return "long:" + v;
    }
    if (v instanceof Double || v instanceof Float) {
      return "double:" + ((Number) v).doubleValue();
    }
    if (v instanceof String) {
      return "string:" + quote((String) v);
    }
    if (v instanceof Character) {
      return "string:" + quote(String.valueOf(v));
    }
    if (v instanceof byte[]) {
      return "binary:" + toHex((byte[]) v);
    }
    if (v instanceof Date) {
      return "date:" + ((Date) v).getTime();
    }
    Integer earlier = seen.get(v);
    if (earlier != null) {
      return "@" + earlier;
    }
    seen.put(v, seen.size());
    if (v.getClass().isArray()) {
      List<String> items = new ArrayList<>();
      int n = Array.getLength(v);
      for (int i = 0; i < n; i++) {
        items.add(describe(Array.get(v, i), seen));
      }
      return "array:" + v.getClass().getComponentType().getName() + "[" + String.join(", ", items) + "]";
    }
    if (v instanceof Collection) {
      List<String> items = new ArrayList<>();
      for (Object o : (Collection<?>) v) {
        items.add(describe(o, seen));
      }
      return "list:" + v.getClass().getName() + "[" + String.join(", ", items) + "]";
    }
    if (v instanceof Map) {
      List<String[]> entries = new ArrayList<>();
      for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
        entries.add(new String[] {describe(e.getKey(), seen), describe(e.getValue(), seen)});
      }
      entries.sort((a, b) -> a[0].compareTo(b[0]));
      List<String> items = new ArrayList<>();
      for (String[] e : entries) {
        items.add(e[0] + "=>" + e[1]);
      }
      return "map:" + v.getClass().getName() + "{" + String.join(", ", items) + "}";
    }
    if (v instanceof GenericObject) {
      GenericObject g = (GenericObject) v;
      List<String> items = new ArrayList<>();
      for (Map.Entry<String, Object> e : g.fields.entrySet()) {
        items.add(e.getKey() + "=" + describe(e.getValue(), seen));
      }
      return "object:" + g.type + "{" + String.join(", ", items) + "}";
    }
    return "other:" + v.getClass().getName() + ":" + quote(String.valueOf(v));
  }

  static String quote(String s) {
    StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        sb.append('\\').append(c);
      } else if (c >= 0x20 && c <= 0x7e) {
        sb.append(c);
      } else {
        sb.append(String.format("\\u%04x", (int) c));
      }
    }
    return sb.append('"').toString();
  }

  // ------------------------------------------------------------------------------ helpers

  static String toHex(byte[] b) {
    StringBuilder sb = new StringBuilder(b.length * 2);
    for (byte x : b) {
      sb.append(Character.forDigit((x >> 4) & 0xF, 16)).append(Character.forDigit(x & 0xF, 16));
    }
    return sb.toString();
  }

  static byte[] fromHex(String hex) {
    String h = hex.replaceAll("\\s+", "");
    if (h.length() % 2 != 0) {
      throw new IllegalArgumentException("odd hex length");
    }
    byte[] out = new byte[h.length() / 2];
    for (int i = 0; i < out.length; i++) {
      int hi = Character.digit(h.charAt(2 * i), 16);
      int lo = Character.digit(h.charAt(2 * i + 1), 16);
      if (hi < 0 || lo < 0) {
        throw new IllegalArgumentException("bad hex digit near offset " + (2 * i));
      }
      out[i] = (byte) ((hi << 4) | lo);
    }
    return out;
  }

  private static String text(Object v) {
    if (v instanceof Json.Num) {
      return ((Json.Num) v).text;
    }
    if (v instanceof String) {
      return (String) v;
    }
    throw new IllegalArgumentException("expected a number or a numeric string, got " + v);
  }

  private static Map<?, ?> asMap(Object o) {
    if (!(o instanceof Map)) {
      throw new IllegalArgumentException("expected a JSON object, got " + o);
    }
    return (Map<?, ?>) o;
  }

  private static List<?> asList(Object o) {
    if (o == null) {
      return List.of();
    }
    if (!(o instanceof List)) {
      throw new IllegalArgumentException("expected a JSON array, got " + o);
    }
    return (List<?>) o;
  }

  /** A small JSON reader: objects, arrays, strings (UTF-16 escapes kept as is), numbers as text. */
  static final class Json {
    /** A JSON number kept as its literal text (no rounding through double). */
    static final class Num {
      final String text;

      Num(String text) {
        this.text = text;
      }

      @Override
      public String toString() {
        return text;
      }
    }

    private final String s;
    private int i;

    private Json(String s) {
      this.s = s;
    }

    static Object parse(String text) {
      Json j = new Json(text);
      Object v = j.value();
      j.ws();
      if (j.i != j.s.length()) {
        throw new IllegalArgumentException("trailing characters at " + j.i);
      }
      return v;
    }

    private void ws() {
      while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
        i++;
      }
    }

    private Object value() {
      ws();
      if (i >= s.length()) {
        throw new IllegalArgumentException("unexpected end of JSON");
      }
      char c = s.charAt(i);
      switch (c) {
        case '{': {
          i++;
          Map<String, Object> m = new LinkedHashMap<>();
          ws();
          if (s.charAt(i) == '}') {
            i++;
            return m;
          }
          while (true) {
            ws();
            String k = string();
            ws();
            expect(':');
            m.put(k, value());
            ws();
            if (s.charAt(i) == ',') {
              i++;
              continue;
            }
            expect('}');
            return m;
          }
        }
        case '[': {
          i++;
          List<Object> l = new ArrayList<>();
          ws();
          if (s.charAt(i) == ']') {
            i++;
            return l;
          }
          while (true) {
            l.add(value());
            ws();
            if (s.charAt(i) == ',') {
              i++;
              continue;
            }
            expect(']');
            return l;
          }
        }
        case '"':
          return string();
        case 't':
          literal("true");
          return Boolean.TRUE;
        case 'f':
          literal("false");
          return Boolean.FALSE;
        case 'n':
          literal("null");
          return null;
        default: {
          int start = i;
          while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) {
            i++;
          }
          if (start == i) {
            throw new IllegalArgumentException("unexpected character '" + c + "' at " + i);
          }
          return new Num(s.substring(start, i));
        }
      }
    }

    private void literal(String word) {
      if (!s.startsWith(word, i)) {
        throw new IllegalArgumentException("bad literal at " + i);
      }
      i += word.length();
    }

    private void expect(char c) {
      if (i >= s.length() || s.charAt(i) != c) {
        throw new IllegalArgumentException("expected '" + c + "' at " + i);
      }
      i++;
    }

    private String string() {
      expect('"');
      StringBuilder sb = new StringBuilder();
      while (true) {
        if (i >= s.length()) {
          throw new IllegalArgumentException("unterminated string");
        }
        char c = s.charAt(i++);
        if (c == '"') {
          return sb.toString();
        }
        if (c != '\\') {
          sb.append(c);
          continue;
        }
        char e = s.charAt(i++);
        switch (e) {
          case '"', '\\', '/' -> sb.append(e);
          case 'b' -> sb.append('\b');
          case 'f' -> sb.append('\f');
          case 'n' -> sb.append('\n');
          case 'r' -> sb.append('\r');
          case 't' -> sb.append('\t');
          case 'u' -> {
            sb.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
            i += 4;
          }
          default -> throw new IllegalArgumentException("bad escape \\" + e);
        }
      }
    }
  }
}
