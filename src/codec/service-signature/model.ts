/**
 * What a Dubbo service offers, whatever told Ferry (an API jar, a provider's service definition):
 * its methods with parameter and return types written as mapping type text (`long`,
 * `List<com.example.bank.Account>`), and the POJOs and enums those types reach. `ferry import` turns
 * it into a mapping; `ferry validate --against` checks a mapping's routes against it.
 */
import type { TypeDef } from '../../config/types.js';
import { compileJsonEncoder } from '../hessian/encode-json.js';
import { createJavaTypeParser, JAVA_TIME_CLASSES, JDK_VALUE_CLASSES, jvmDescriptor } from '../hessian/java-types.js';

export interface ParamSignature {
  /** The parameter's name, or `arg0`, `arg1`, … when the source does not have names. */
  readonly name: string;
  /** Mapping type text. */
  readonly type: string;
}

export interface MethodSignature {
  readonly name: string;
  readonly params: readonly ParamSignature[];
  /** Mapping type text; undefined for void. */
  readonly returns?: string;
  /** The erased JVM parameter descriptors, concatenated, as a Dubbo request carries them (`JLjava/lang/String;`). */
  readonly descriptor: string;
  /** Whether the parameter names are the source's own (javac -parameters) rather than arg0… */
  readonly namesKnown: boolean;
  /** Declared exceptions (`throws`) the source holds, with their own fields; only class files say. */
  readonly exceptions?: readonly ExceptionSignature[];
}

/** A declared exception class and the fields it and its superclasses below java.* declare, in declared order. */
export interface ExceptionSignature {
  readonly name: string;
  readonly fields: readonly string[];
}

export type TypeSignature =
  | { readonly kind: 'pojo'; readonly name: string; readonly fields: readonly ParamSignature[] }
  | { readonly kind: 'enum'; readonly name: string; readonly constants: readonly string[] };

export interface SkippedMethod {
  readonly method: string;
  readonly why: string;
}

export interface ServiceSignature {
  readonly interface: string;
  /** Where it was read from (a jar path, a ZooKeeper node, …), for messages. */
  readonly source: string;
  /** Methods Ferry can call, in the source's order. */
  readonly methods: readonly MethodSignature[];
  /** The POJOs and enums the methods reach, by class name. */
  readonly types: ReadonlyMap<string, TypeSignature>;
  /** Methods left out because a type they use cannot be mapped yet (named in the reason). */
  readonly skipped: readonly SkippedMethod[];
}

/** JDK classes the mapping type syntax names, and how it writes them. */
const JDK_TYPE_TEXT: Readonly<Record<string, string>> = {
  'java.lang.String': 'String',
  'java.lang.Object': 'Object',
  'java.lang.Boolean': 'Boolean',
  'java.lang.Integer': 'Integer',
  'java.lang.Short': 'Short',
  'java.lang.Byte': 'Byte',
  'java.lang.Long': 'Long',
  'java.lang.Float': 'Float',
  'java.lang.Double': 'Double',
  'java.lang.Character': 'Character',
  'java.math.BigDecimal': 'java.math.BigDecimal',
  'java.math.BigInteger': 'java.math.BigInteger',
  'java.util.Date': 'java.util.Date',
  'java.time.LocalDate': 'java.time.LocalDate',
  'java.time.LocalDateTime': 'java.time.LocalDateTime',
  'java.time.LocalTime': 'java.time.LocalTime',
  'java.time.Instant': 'java.time.Instant',
  ...Object.fromEntries(Object.values(JAVA_TIME_CLASSES).map((c) => [c, c])),
  ...Object.fromEntries(Object.values(JDK_VALUE_CLASSES).map((c) => [c, c])),
};

/** JDK classes Hessian cannot carry at all, with why (the mapping type parser refuses them too). */
const UNCARRIABLE: ReadonlySet<string> = new Set([
  'java.util.Optional',
  'java.util.OptionalInt',
  'java.util.OptionalLong',
  'java.util.OptionalDouble',
]);

/** Collection and map classes, by the name the mapping syntax gives them. */
const COLLECTIONS: ReadonlySet<string> = new Set([
  'List',
  'ArrayList',
  'Collection',
  'LinkedList',
  'Set',
  'HashSet',
  'LinkedHashSet',
  'SortedSet',
  'TreeSet',
]);
const MAPS: ReadonlySet<string> = new Set(['Map', 'HashMap', 'LinkedHashMap', 'SortedMap', 'TreeMap']);

export const PRIMITIVE_NAMES: ReadonlySet<string> = new Set(['boolean', 'byte', 'char', 'short', 'int', 'long', 'float', 'double']);

/** A type a source names that the mapping syntax cannot express yet (e.g. `java.time.ZonedDateTime`). */
export class UnsupportedTypeError extends Error {
  /** Says why, after the type's name ("has no mapping type yet"). */
  readonly reason: string;
  constructor(
    readonly typeName: string,
    reason = 'has no mapping type yet',
  ) {
    super(`${typeName} ${reason}`);
    this.reason = reason;
    this.name = 'UnsupportedTypeError';
  }
}

/** A type as both sources describe it: a class with type arguments, an array, or a primitive. */
export type TypeTerm =
  | { readonly kind: 'primitive'; readonly name: string }
  | { readonly kind: 'class'; readonly name: string; readonly args: readonly TypeTerm[] }
  | { readonly kind: 'array'; readonly elem: TypeTerm };

/**
 * The mapping type text of a term. `isDomain(name)` says whether a class is one of the service's
 * own POJOs or enums (the caller records it); JDK classes outside the table throw UnsupportedTypeError.
 */
export function typeText(t: TypeTerm, isDomain: (className: string) => boolean): string {
  switch (t.kind) {
    case 'primitive':
      return t.name;
    case 'array':
      return `${typeText(t.elem, isDomain)}[]`;
    case 'class': {
      const known = JDK_TYPE_TEXT[t.name];
      if (known !== undefined) return known;
      const simple = t.name.startsWith('java.util.') ? t.name.slice('java.util.'.length) : undefined;
      if (simple !== undefined && COLLECTIONS.has(simple)) return `${simple}<${t.args[0] ? typeText(t.args[0], isDomain) : 'Object'}>`;
      if (simple !== undefined && MAPS.has(simple)) {
        const [k, v] = t.args;
        return `${simple}<${k ? typeText(k, isDomain) : 'Object'},${v ? typeText(v, isDomain) : 'Object'}>`;
      }
      // EnumSet<E> and EnumMap<K,V> need their enum: a raw one cannot be typed.
      if ((t.name === 'java.util.EnumSet' || t.name === 'java.util.EnumMap') && t.args[0] !== undefined && t.args[0].kind === 'class') {
        const e = typeText(t.args[0], isDomain);
        if (t.name === 'java.util.EnumSet') return `EnumSet<${e}>`;
        return `EnumMap<${e},${t.args[1] ? typeText(t.args[1], isDomain) : 'Object'}>`;
      }
      if (UNCARRIABLE.has(t.name))
        throw new UnsupportedTypeError(t.name, "cannot travel over Dubbo's Hessian (it is not Serializable: hessian-lite refuses to write it)");
      if (t.name.startsWith('java.') || t.name.startsWith('javax.') || !isDomain(t.name)) throw new UnsupportedTypeError(t.name);
      return t.name;
    }
  }
}

/** The class names of a mapping type text (`Map<String,List<com.x.A>>` → String, com.x.A). */
export function namesIn(text: string): string[] {
  return text.split(/[<>,[\]\s]+/).filter((n) => n !== '' && !PRIMITIVE_NAMES.has(n));
}

/** TypeDefs (as the config has them) from type signatures, for Ferry's own type parser. */
export function typeDefsOf(types: ReadonlyMap<string, TypeSignature>): Map<string, TypeDef> {
  const source = { file: '(imported)', line: 1, col: 1 };
  const out = new Map<string, TypeDef>();
  for (const [name, t] of types) {
    out.set(
      name,
      t.kind === 'enum'
        ? { kind: 'enum', name, constants: t.constants, source }
        : { kind: 'pojo', name, fields: t.fields.map((f) => ({ ...f, source })), source },
    );
  }
  return out;
}

/** The erased descriptor of parameter type texts, computed by the same parser and rule Ferry's calls use. */
export function descriptorOf(types: readonly string[], defs: ReadonlyMap<string, TypeDef>): string {
  const parser = createJavaTypeParser((n) => defs.get(n));
  return types.map((t) => jvmDescriptor(parser.parse(t))).join('');
}

/** `getAccount(long)`, `transfer(long, com.example.bank.Transfer, String)`: how a message names a method. */
export function methodLabel(m: Pick<MethodSignature, 'name' | 'params'>): string {
  return `${m.name}(${m.params.map((p) => p.type).join(', ')})`;
}

/**
 * The signature without the methods Ferry can type but not call: an argument that reaches a type
 * Hessian cannot deliver to Java (an EnumMap, whose encoder refuses it) would make the imported
 * mapping fail to load. Such methods move to `skipped` with the encoder's reason, and `types` keeps
 * only what the remaining methods reach.
 */
export function withoutUnsendable(sig: ServiceSignature): ServiceSignature {
  const defs = typeDefsOf(sig.types);
  const parser = createJavaTypeParser((n) => defs.get(n));
  const methods: MethodSignature[] = [];
  const skipped: SkippedMethod[] = [...sig.skipped];
  for (const m of sig.methods) {
    const why = m.params.flatMap((p) => {
      try {
        compileJsonEncoder(parser.parse(p.type), { generic: false });
        return [];
      } catch (err) {
        return [`parameter ${p.name}: ${err instanceof Error ? err.message : String(err)}`];
      }
    })[0];
    if (why === undefined) methods.push(m);
    else skipped.push({ method: methodLabel(m), why });
  }
  if (methods.length === sig.methods.length) return sig;
  const reached = new Set<string>();
  const queue = methods.flatMap((m) => [...m.params.map((p) => p.type), ...(m.returns !== undefined ? [m.returns] : [])].flatMap(namesIn));
  while (queue.length > 0) {
    const n = queue.pop() as string;
    const t = sig.types.get(n);
    if (t === undefined || reached.has(n)) continue;
    reached.add(n);
    if (t.kind === 'pojo') queue.push(...t.fields.flatMap((f) => namesIn(f.type)));
  }
  return { ...sig, methods, skipped, types: new Map([...sig.types].filter(([n]) => reached.has(n))) };
}
