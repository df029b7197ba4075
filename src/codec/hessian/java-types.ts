/**
 * The Java type model behind Dubbo arguments and results, parsed from the type text written in a
 * mapping file (`long`, `java.math.BigDecimal`, `List<com.example.Transfer>`, `int[]`, ...).
 * Parsing happens once, when a config is compiled; encoders and decoders are built from the result.
 */
import type { TypeDef } from '../../config/types.js';

export type PrimitiveKind = 'boolean' | 'int' | 'short' | 'byte' | 'long' | 'float' | 'double' | 'char';

/** Java collection classes a `List<T>`-like declaration can name (the declared class, not the wire type). */
export type ListClass =
  | 'java.util.List'
  | 'java.util.ArrayList'
  | 'java.util.Collection'
  | 'java.util.LinkedList'
  | 'java.util.Set'
  | 'java.util.HashSet'
  | 'java.util.LinkedHashSet'
  | 'java.util.SortedSet'
  | 'java.util.TreeSet';

export type MapClass = 'java.util.Map' | 'java.util.HashMap' | 'java.util.LinkedHashMap' | 'java.util.SortedMap' | 'java.util.TreeMap';

export interface PojoField {
  readonly name: string;
  readonly type: JavaType;
}

export type JavaType =
  | { readonly kind: PrimitiveKind; readonly boxed: boolean }
  | { readonly kind: 'string' }
  | { readonly kind: 'bigdecimal' }
  | { readonly kind: 'biginteger' }
  | { readonly kind: 'date' }
  | { readonly kind: 'localdate' }
  | { readonly kind: 'localdatetime' }
  | { readonly kind: 'localtime' }
  | { readonly kind: 'instant' }
  | { readonly kind: JavaTimeKind }
  | { readonly kind: JdkValueKind }
  | { readonly kind: 'bytes' }
  | { readonly kind: 'enum'; readonly name: string; readonly constants: readonly string[] }
  | { readonly kind: 'enumset'; readonly elem: EnumType }
  | { readonly kind: 'enummap'; readonly key: EnumType; readonly value: JavaType }
  | { readonly kind: 'list'; readonly elem: JavaType; readonly javaClass: ListClass }
  | { readonly kind: 'array'; readonly elem: JavaType }
  | { readonly kind: 'map'; readonly key: JavaType; readonly value: JavaType; readonly javaClass: MapClass }
  | { readonly kind: 'pojo'; readonly name: string; readonly fields: readonly PojoField[] }
  | { readonly kind: 'object' };

export type JavaTypeOf<K extends JavaType['kind']> = Extract<JavaType, { kind: K }>;

/** A declared enum (the element of an EnumSet, the key of an EnumMap). */
export interface EnumType {
  readonly kind: 'enum';
  readonly name: string;
  readonly constants: readonly string[];
}

/** A type text that names no known Java type, or is malformed. The message is one plain sentence. */
export class JavaTypeError extends Error {
  readonly typeText: string;
  constructor(typeText: string, message: string) {
    super(message);
    this.name = 'JavaTypeError';
    this.typeText = typeText;
  }
}

const PRIMITIVES: Record<string, PrimitiveKind> = {
  boolean: 'boolean',
  int: 'int',
  short: 'short',
  byte: 'byte',
  long: 'long',
  float: 'float',
  double: 'double',
  char: 'char',
};

const BOXED: Record<string, PrimitiveKind> = {
  Boolean: 'boolean',
  Integer: 'int',
  Short: 'short',
  Byte: 'byte',
  Long: 'long',
  Float: 'float',
  Double: 'double',
  Character: 'char',
};

/** java.time and java.sql values beyond the first four, each one string in JSON (codec/hessian/java-time-values.ts). */
export type JavaTimeKind =
  | 'duration'
  | 'period'
  | 'year'
  | 'yearmonth'
  | 'monthday'
  | 'zoneoffset'
  | 'offsetdatetime'
  | 'offsettime'
  | 'zoneddatetime'
  | 'sqltimestamp'
  | 'sqldate'
  | 'sqltime';

/** java.util and java.time values with a one-string JSON form of their own (codec/hessian/jdk-values.ts). */
export type JdkValueKind = 'uuid' | 'currency' | 'locale' | 'zoneid';

/** The Java class of each JdkValueKind (a ZoneId is a ZoneRegion or a ZoneOffset on the JVM). */
export const JDK_VALUE_CLASSES: Readonly<Record<JdkValueKind, string>> = {
  uuid: 'java.util.UUID',
  currency: 'java.util.Currency',
  locale: 'java.util.Locale',
  zoneid: 'java.time.ZoneId',
};

type SimpleKind =
  'string' | 'bigdecimal' | 'biginteger' | 'date' | 'localdate' | 'localdatetime' | 'localtime' | 'instant' | 'object' | JavaTimeKind | JdkValueKind;

/** The Java class of each JavaTimeKind. */
export const JAVA_TIME_CLASSES: Readonly<Record<JavaTimeKind, string>> = {
  duration: 'java.time.Duration',
  period: 'java.time.Period',
  year: 'java.time.Year',
  yearmonth: 'java.time.YearMonth',
  monthday: 'java.time.MonthDay',
  zoneoffset: 'java.time.ZoneOffset',
  offsetdatetime: 'java.time.OffsetDateTime',
  offsettime: 'java.time.OffsetTime',
  zoneddatetime: 'java.time.ZonedDateTime',
  sqltimestamp: 'java.sql.Timestamp',
  sqldate: 'java.sql.Date',
  sqltime: 'java.sql.Time',
};

/** Class names of the JavaTimeKinds, and short names for java.time only (java.sql.Date must never be taken for java.util.Date). */
function javaTimeNames(): Record<string, JavaTimeKind> {
  const out: Record<string, JavaTimeKind> = {};
  for (const [kind, cls] of Object.entries(JAVA_TIME_CLASSES) as Array<[JavaTimeKind, string]>) {
    out[cls] = kind;
    if (cls.startsWith('java.time.')) out[cls.slice('java.time.'.length)] = kind;
  }
  return out;
}

const SIMPLE: Record<string, SimpleKind> = {
  String: 'string',
  'java.lang.String': 'string',
  BigDecimal: 'bigdecimal',
  'java.math.BigDecimal': 'bigdecimal',
  BigInteger: 'biginteger',
  'java.math.BigInteger': 'biginteger',
  Date: 'date',
  'java.util.Date': 'date',
  LocalDate: 'localdate',
  'java.time.LocalDate': 'localdate',
  LocalDateTime: 'localdatetime',
  'java.time.LocalDateTime': 'localdatetime',
  LocalTime: 'localtime',
  'java.time.LocalTime': 'localtime',
  Instant: 'instant',
  'java.time.Instant': 'instant',
  Object: 'object',
  'java.lang.Object': 'object',
  ...javaTimeNames(),
  // java.util classes by their full name only: a mapping's own `Currency` enum must keep its short name.
  'java.util.UUID': 'uuid',
  'java.util.Currency': 'currency',
  'java.util.Locale': 'locale',
  ZoneId: 'zoneid',
  'java.time.ZoneId': 'zoneid',
};

/**
 * JDK types Hessian cannot carry, refused when a mapping names them, with why. hessian-lite (and
 * Caucho) refuse to write a class that is not Serializable ("Serialized class java.util.Optional
 * must implement java.io.Serializable"), so no provider can return one and none can receive one.
 */
const UNCARRIABLE: Readonly<Record<string, string>> = Object.fromEntries(
  ['Optional', 'OptionalInt', 'OptionalLong', 'OptionalDouble'].flatMap((n) => {
    const why = `java.util.${n} cannot travel over Dubbo's Hessian: it is not Serializable, so hessian-lite refuses to write it on either side. Declare the value type itself (it may be null) instead.`;
    return [
      [n, why],
      [`java.util.${n}`, why],
    ];
  }),
);

const LISTS: Record<string, ListClass> = {
  List: 'java.util.List',
  ArrayList: 'java.util.ArrayList',
  Collection: 'java.util.Collection',
  LinkedList: 'java.util.LinkedList',
  Set: 'java.util.Set',
  HashSet: 'java.util.HashSet',
  LinkedHashSet: 'java.util.LinkedHashSet',
  SortedSet: 'java.util.SortedSet',
  TreeSet: 'java.util.TreeSet',
};

const ENUM_COLLECTIONS: Record<string, 'enumset' | 'enummap'> = { EnumSet: 'enumset', EnumMap: 'enummap' };

const MAPS: Record<string, MapClass> = {
  Map: 'java.util.Map',
  HashMap: 'java.util.HashMap',
  LinkedHashMap: 'java.util.LinkedHashMap',
  SortedMap: 'java.util.SortedMap',
  TreeMap: 'java.util.TreeMap',
};

function lookupTable<T>(table: Record<string, T>, name: string, pkg: string): T | undefined {
  if (Object.hasOwn(table, name)) return table[name];
  if (name.startsWith(pkg) && Object.hasOwn(table, name.slice(pkg.length))) return table[name.slice(pkg.length)];
  return undefined;
}

/**
 * A parser bound to one set of declared types. It memoises declared POJOs and enums by name, so a
 * recursive POJO (a field whose type is the POJO itself) resolves to the same JavaType object.
 */
export interface JavaTypeParser {
  parse(text: string): JavaType;
}

export function createJavaTypeParser(lookup: (name: string) => TypeDef | undefined): JavaTypeParser {
  const declared = new Map<string, JavaType>();

  function resolveDeclared(name: string, whole: string): JavaType {
    const hit = declared.get(name);
    if (hit !== undefined) return hit;
    const def = lookup(name);
    if (def === undefined) {
      throw new JavaTypeError(
        whole,
        whole === name
          ? `Unknown Java type "${name}": declare it under types: or use a built-in type such as long, String or java.math.BigDecimal.`
          : `Unknown Java type "${name}" in "${whole}": declare it under types: or use a built-in type.`,
      );
    }
    if (def.kind === 'enum') {
      const t: JavaType = Object.freeze({ kind: 'enum', name: def.name, constants: Object.freeze([...def.constants]) });
      declared.set(name, t);
      return t;
    }
    const fields: PojoField[] = [];
    const t: JavaType = { kind: 'pojo', name: def.name, fields };
    declared.set(name, t); // before the fields, so that self-references find it
    for (const f of def.fields) fields.push(Object.freeze({ name: f.name, type: parseWhole(f.type) }));
    Object.freeze(fields);
    return Object.freeze(t);
  }

  function parseWhole(text: string): JavaType {
    const src = text.trim();
    if (src === '') throw new JavaTypeError(text, 'The type is empty: name a Java type such as long or String.');
    let pos = 0;

    const fail = (why: string): never => {
      throw new JavaTypeError(text, `Malformed Java type "${src}": ${why}.`);
    };
    const skipWs = (): void => {
      while (pos < src.length && (src[pos] === ' ' || src[pos] === '\t')) pos++;
    };
    const ident = (): string => {
      skipWs();
      const m = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*/.exec(src.slice(pos));
      if (m === null) return fail(`expected a type name at position ${pos + 1}`);
      pos += m[0].length;
      return m[0];
    };
    const expect = (ch: string): void => {
      skipWs();
      if (src[pos] !== ch) fail(`expected "${ch}" at position ${pos + 1}`);
      pos++;
    };

    const one = (): JavaType => {
      const name = ident();
      skipWs();
      let t: JavaType;
      const list = lookupTable(LISTS, name, 'java.util.');
      const map = lookupTable(MAPS, name, 'java.util.');
      const enumCollection = lookupTable(ENUM_COLLECTIONS, name, 'java.util.');
      if (Object.hasOwn(UNCARRIABLE, name)) {
        throw new JavaTypeError(text, UNCARRIABLE[name] as string);
      } else if (enumCollection !== undefined) {
        const enumOf = (t: JavaType): EnumType =>
          t.kind === 'enum' ? t : fail(`the ${enumCollection === 'enumset' ? 'element' : 'key'} type of ${name} must be a declared enum`);
        if (src[pos] !== '<')
          return fail(`${name} needs its enum type, e.g. ${name}<com.example.Color${enumCollection === 'enummap' ? ', Integer' : ''}>`);
        pos++;
        const a = enumOf(one());
        if (enumCollection === 'enummap') {
          expect(',');
          const b = one();
          expect('>');
          t = Object.freeze({ kind: 'enummap', key: a, value: b });
        } else {
          expect('>');
          t = Object.freeze({ kind: 'enumset', elem: a });
        }
      } else if (list !== undefined || map !== undefined) {
        if (src[pos] === '<') {
          pos++;
          const a = one();
          if (map !== undefined) {
            expect(',');
            const b = one();
            expect('>');
            t = Object.freeze({ kind: 'map', key: a, value: b, javaClass: map });
          } else {
            expect('>');
            t = Object.freeze({ kind: 'list', elem: a, javaClass: list as ListClass });
          }
        } else if (map !== undefined) {
          t = Object.freeze({ kind: 'map', key: OBJECT, value: OBJECT, javaClass: map });
        } else {
          t = Object.freeze({ kind: 'list', elem: OBJECT, javaClass: list as ListClass });
        }
      } else if (src[pos] === '<') {
        return fail(`"${name}" takes no type arguments`);
      } else if (Object.hasOwn(PRIMITIVES, name)) {
        t = PRIMITIVE_TYPES[PRIMITIVES[name] as PrimitiveKind];
      } else {
        const boxed = lookupTable(BOXED, name, 'java.lang.');
        const simple = lookupTable(SIMPLE, name, '');
        if (boxed !== undefined) t = BOXED_TYPES[boxed];
        else if (simple !== undefined) t = SIMPLE_TYPES[simple];
        else t = resolveDeclared(name, src);
      }
      skipWs();
      while (src.startsWith('[]', pos)) {
        pos += 2;
        skipWs();
        t = t.kind === 'byte' && !t.boxed ? BYTES : Object.freeze({ kind: 'array', elem: t });
      }
      return t;
    };

    const t = one();
    skipWs();
    if (pos !== src.length) fail(`unexpected "${src.slice(pos)}" after the type`);
    return t;
  }

  return { parse: parseWhole };
}

/**
 * Parses one type text against the mapping's declared types. Throws JavaTypeError for unknown names
 * and malformed text. Use createJavaTypeParser to share POJO identities across many calls.
 */
export function parseJavaType(text: string, lookup: (name: string) => TypeDef | undefined): JavaType {
  return createJavaTypeParser(lookup).parse(text);
}

const OBJECT: JavaType = Object.freeze({ kind: 'object' });
const BYTES: JavaType = Object.freeze({ kind: 'bytes' });
const PRIMITIVE_TYPES = Object.fromEntries(Object.values(PRIMITIVES).map((k) => [k, Object.freeze({ kind: k, boxed: false })])) as Record<
  PrimitiveKind,
  JavaType
>;
const BOXED_TYPES = Object.fromEntries(Object.values(PRIMITIVES).map((k) => [k, Object.freeze({ kind: k, boxed: true })])) as Record<
  PrimitiveKind,
  JavaType
>;
const SIMPLE_TYPES = Object.fromEntries(Object.values(SIMPLE).map((k) => [k, Object.freeze({ kind: k })])) as Record<SimpleKind, JavaType>;

const PRIMITIVE_DESCRIPTOR: Record<PrimitiveKind, string> = {
  boolean: 'Z',
  byte: 'B',
  char: 'C',
  double: 'D',
  float: 'F',
  int: 'I',
  long: 'J',
  short: 'S',
};
const BOXED_CLASS: Record<PrimitiveKind, string> = {
  boolean: 'java.lang.Boolean',
  byte: 'java.lang.Byte',
  char: 'java.lang.Character',
  double: 'java.lang.Double',
  float: 'java.lang.Float',
  int: 'java.lang.Integer',
  long: 'java.lang.Long',
  short: 'java.lang.Short',
};
const SIMPLE_CLASS: Record<SimpleKind, string> = {
  string: 'java.lang.String',
  bigdecimal: 'java.math.BigDecimal',
  biginteger: 'java.math.BigInteger',
  date: 'java.util.Date',
  localdate: 'java.time.LocalDate',
  localdatetime: 'java.time.LocalDateTime',
  localtime: 'java.time.LocalTime',
  instant: 'java.time.Instant',
  object: 'java.lang.Object',
  ...JAVA_TIME_CLASSES,
  ...JDK_VALUE_CLASSES,
};

/** The Java class name of a non-primitive, non-array type (the erasure: `java.util.List`, `com.x.Bar`). */
function className(t: JavaType): string {
  switch (t.kind) {
    case 'boolean':
    case 'int':
    case 'short':
    case 'byte':
    case 'long':
    case 'float':
    case 'double':
    case 'char':
      return BOXED_CLASS[t.kind];
    case 'bytes':
    case 'array':
      throw new Error('arrays have no class name');
    case 'enum':
    case 'pojo':
      return t.name;
    case 'list':
    case 'map':
      return t.javaClass;
    case 'enumset':
      return 'java.util.EnumSet';
    case 'enummap':
      return 'java.util.EnumMap';
    default:
      return SIMPLE_CLASS[t.kind];
  }
}

/**
 * The JVM descriptor of a parameter type, as Dubbo's request body carries it (`J`, `I`,
 * `Ljava/lang/String;`, `[J`, `Ljava/util/List;`, `Lcom/example/bank/Transfer;`).
 */
export function jvmDescriptor(t: JavaType): string {
  if (t.kind === 'bytes') return '[B';
  if (t.kind === 'array') return '[' + jvmDescriptor(t.elem);
  if ('boxed' in t && !t.boxed) return PRIMITIVE_DESCRIPTOR[t.kind];
  return 'L' + className(t).replaceAll('.', '/') + ';';
}

/**
 * The parameter type name generic `$invoke` expects in its `String[]`: what `Class.getName()` returns.
 * Dubbo's GenericFilter resolves these names with ReflectUtils.findMethodByMethodSignature, which
 * turns each name into a class with ReflectUtils.name2class: primitives by keyword (`long`), classes by
 * FQCN (`java.util.List`, the erasure), arrays in the Java-source form with `[]` suffixes (`long[]`,
 * `java.lang.String[]`, `byte[]`). name2class also passes the JVM form (`[J`) to Class.forName, so
 * both work; Ferry sends the source form, which is what ReflectUtils.getName produces.
 */
export function javaTypeName(t: JavaType): string {
  if (t.kind === 'bytes') return 'byte[]';
  if (t.kind === 'array') return javaTypeName(t.elem) + '[]';
  if ('boxed' in t && !t.boxed) return t.kind;
  return className(t);
}

/** The type string Java's Hessian writer puts on a typed list for an array of this element type. */
export function hessianArrayType(elem: JavaType): string {
  switch (elem.kind) {
    case 'boolean':
    case 'int':
    case 'short':
    case 'long':
    case 'float':
    case 'double':
      return elem.boxed ? '[' + BOXED_CLASS[elem.kind] : '[' + elem.kind;
    case 'byte':
      return elem.boxed ? '[java.lang.Byte' : '[byte';
    case 'char':
      return elem.boxed ? '[java.lang.Character' : '[char';
    case 'string':
      return '[string';
    case 'object':
      return '[object';
    case 'date':
      return '[date';
    case 'bytes':
      return '[[byte';
    case 'array':
      return '[' + hessianArrayType(elem.elem);
    default:
      return '[' + className(elem);
  }
}
