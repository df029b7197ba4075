/**
 * A ServiceSignature from a Dubbo 3 service definition (FullServiceDefinition JSON, what a provider
 * publishes to the metadata report under /dubbo/metadata/<interface>/<version>/<group>/provider/<app>
 * and serves from MetadataService#getServiceDefinition): `methods` with `parameterTypes` and
 * `returnType` in Java source form (`java.util.List<com.example.bank.Account>`, `long[]`), and
 * `types` whose entries carry `properties` (POJO field → type) or `enums`. The definition has no
 * parameter names (routes get arg0, arg1, …) and keeps fields in no particular order.
 *
 * A class the methods reach that is neither a JDK type Ferry maps nor defined in `types` makes the
 * whole definition unusable (SignatureSourceError): the provider's definition is incomplete.
 */
import { SignatureSourceError } from '../../errors/index.js';
import { MAX_GENERIC_DEPTH } from '../classfile/signature.js';
import {
  descriptorOf,
  PRIMITIVE_NAMES,
  typeDefsOf,
  typeText,
  UnsupportedTypeError,
  withoutUnsendable,
  type MethodSignature,
  type ParamSignature,
  type ServiceSignature,
  type SkippedMethod,
  type TypeSignature,
  type TypeTerm,
} from './model.js';

export interface DefinitionBudgets {
  readonly maxMethods: number;
  readonly maxTypes: number;
}

export const DEFAULT_DEFINITION_BUDGETS: DefinitionBudgets = { maxMethods: 10_000, maxTypes: 10_000 };

/** Parses `java.util.Map<java.lang.String,java.util.List<com.x.A>>`, `long[]`, `? extends com.x.A`. */
export function parseSourceType(text: string, where: string): TypeTerm {
  let pos = 0;
  const fail = (why: string): never => {
    throw new SignatureSourceError(`${where}: malformed type "${text.slice(0, 200)}" (${why})`);
  };
  const ws = (): void => {
    while (text[pos] === ' ') pos++;
  };
  const one = (depth: number): TypeTerm => {
    if (depth > MAX_GENERIC_DEPTH) fail(`nested deeper than ${MAX_GENERIC_DEPTH}`);
    ws();
    if (text[pos] === '?') {
      pos++;
      ws();
      if (text.startsWith('extends', pos)) {
        pos += 7;
        return one(depth + 1);
      }
      if (text.startsWith('super', pos)) {
        pos += 5;
        one(depth + 1);
      }
      return { kind: 'class', name: 'java.lang.Object', args: [] };
    }
    const m = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*/.exec(text.slice(pos));
    if (m === null) return fail(`expected a type name at ${pos + 1}`);
    pos += m[0].length;
    const args: TypeTerm[] = [];
    ws();
    if (text[pos] === '<') {
      pos++;
      for (;;) {
        args.push(one(depth + 1));
        ws();
        if (text[pos] === ',') pos++;
        else if (text[pos] === '>') {
          pos++;
          break;
        } else fail(`expected "," or ">" at ${pos + 1}`);
      }
    }
    let t: TypeTerm = PRIMITIVE_NAMES.has(m[0]) && args.length === 0 ? { kind: 'primitive', name: m[0] } : { kind: 'class', name: m[0], args };
    ws();
    while (text.startsWith('[]', pos)) {
      pos += 2;
      t = { kind: 'array', elem: t };
      ws();
    }
    return t;
  };
  const t = one(0);
  if (pos !== text.length) fail(`unexpected "${text.slice(pos, pos + 40)}"`);
  return t;
}

const asRecord = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

export function signatureFromDefinition(definition: unknown, where: string, budgets: Partial<DefinitionBudgets> = {}): ServiceSignature {
  const b = { ...DEFAULT_DEFINITION_BUDGETS, ...budgets };
  const fail = (why: string): never => {
    throw new SignatureSourceError(`${where}: ${why}`);
  };
  const def = asRecord(definition) ?? fail('the service definition is not a JSON object');
  const iface = typeof def['canonicalName'] === 'string' ? def['canonicalName'] : fail('the service definition has no canonicalName');
  const rawMethods = Array.isArray(def['methods']) ? def['methods'] : fail('the service definition has no methods list');
  const rawTypes = Array.isArray(def['types']) ? def['types'] : [];
  if (rawMethods.length > b.maxMethods) fail(`${rawMethods.length} methods, over the budget of ${b.maxMethods}`);
  if (rawTypes.length > b.maxTypes) fail(`${rawTypes.length} types, over the budget of ${b.maxTypes}`);

  // Type entries by their (generic) name; only plain class names can be POJOs or enums.
  const entries = new Map<string, Record<string, unknown>>();
  for (const t of rawTypes) {
    const r = asRecord(t);
    if (r !== undefined && typeof r['type'] === 'string') entries.set(r['type'], r);
  }
  const isDefined = (name: string): boolean => {
    const e = entries.get(name);
    return e !== undefined && ((Array.isArray(e['enums']) && e['enums'].length > 0) || Object.keys(asRecord(e['properties']) ?? {}).length > 0);
  };
  const types = new Map<string, TypeSignature>();
  const textOf = (text: unknown, what: string, refs: Set<string>): string => {
    if (typeof text !== 'string') return fail(`${what} has no type`);
    return typeText(parseSourceType(text, `${where}, ${what}`), (name) => {
      if (!isDefined(name)) {
        if (name.startsWith('java.') || name.startsWith('javax.')) return false;
        return fail(`${what} names ${name}, which the definition's types do not define`);
      }
      refs.add(name);
      return true;
    });
  };
  const loadType = (name: string, refs: Set<string>): TypeSignature => {
    const e = entries.get(name)!;
    const enums = Array.isArray(e['enums']) ? e['enums'] : [];
    if (enums.length > 0) {
      if (!enums.every((c) => typeof c === 'string')) fail(`the constants of enum ${name} are not all strings`);
      return { kind: 'enum', name, constants: enums as string[] };
    }
    const fields: ParamSignature[] = Object.entries(asRecord(e['properties']) ?? {}).map(([f, t]) => ({
      name: f,
      type: textOf(t, `field ${name}.${f}`, refs),
    }));
    return { kind: 'pojo', name, fields };
  };

  const methods: MethodSignature[] = [];
  const skipped: SkippedMethod[] = [];
  const failedTypes = new Map<string, string>();
  const deps = new Map<string, string[]>();
  const used = new Set<string>();
  for (const raw of rawMethods) {
    const m = asRecord(raw) ?? fail('a method is not a JSON object');
    const name = typeof m['name'] === 'string' ? m['name'] : fail('a method has no name');
    const paramTypes = Array.isArray(m['parameterTypes']) ? m['parameterTypes'] : fail(`method ${name} has no parameterTypes`);
    const label = `${name}(${paramTypes.map(String).join(',')})`;
    const refs = new Set<string>();
    try {
      const params = paramTypes.map((t, i) => ({ name: `arg${i}`, type: textOf(t, `parameter ${i + 1} of ${name}`, refs) }));
      const returns = m['returnType'] === 'void' ? undefined : textOf(m['returnType'], `the return type of ${name}`, refs);
      // The closure of the types it reaches.
      const queue = [...refs];
      const reached = new Set<string>();
      while (queue.length > 0) {
        const n = queue.shift()!;
        if (reached.has(n)) continue;
        reached.add(n);
        const bad = failedTypes.get(n);
        if (bad !== undefined) throw new UnsupportedTypeError(bad, '');
        if (!types.has(n)) {
          const inner = new Set<string>();
          try {
            types.set(n, loadType(n, inner));
          } catch (err) {
            if (err instanceof UnsupportedTypeError) failedTypes.set(n, `${err.typeName} (a field of ${n}), which ${err.reason}`);
            throw err;
          }
          deps.set(n, [...inner]);
        }
        queue.push(...(deps.get(n) ?? []));
      }
      for (const n of reached) used.add(n);
      methods.push({ name, params, ...(returns !== undefined ? { returns } : {}), descriptor: '', namesKnown: false });
    } catch (err) {
      if (!(err instanceof UnsupportedTypeError)) throw err;
      skipped.push({ method: label, why: `uses ${err.typeName}${err.reason === '' ? '' : `, which ${err.reason}`}` });
    }
  }
  const kept = new Map([...types].filter(([n]) => used.has(n)).sort(([a], [b2]) => (a < b2 ? -1 : a > b2 ? 1 : 0)));
  const defs = typeDefsOf(kept);
  const withDescriptors = methods.map((m) => ({
    ...m,
    descriptor: descriptorOf(
      m.params.map((p) => p.type),
      defs,
    ),
  }));
  return withoutUnsendable({ interface: iface, source: where, methods: withDescriptors, types: kept, skipped });
}
