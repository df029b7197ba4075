/**
 * Random proto3 messages as drafts for the protojson codec tests (the reply writer's and the request
 * encoder's): every field kind, edge values of each scalar, unknown enum numbers, oneofs, maps,
 * nested and well-known types, deterministic from a seed fast-check gives.
 */
import path from 'node:path';
import protobuf from 'protobufjs';
import type { Root, Type } from 'protobufjs';
import type { Draft, DraftValue, ProtoJson } from '../../src/codec/protojson/index.js';
import { DraftMap, longFromBigInt } from '../../src/codec/protojson/draft.js';
import { createTypePlans, LONG_TYPES, type FieldInfo } from '../../src/codec/protojson/plan.js';
import { SPECIAL_JSON, WRAPPERS } from '../../src/codec/protojson/well-known.js';
import { loadProtoRoot } from '../../src/upstream/grpc/proto-loader.js';

const plans = createTypePlans();

/** Every sample proto the codec property tests draw types from (kitchen sink, payments, the bench's orders, greeter, the peer). */
export function loadSampleProtos(): Root {
  const idl = path.resolve('idl');
  const files = [
    'payments/v1/kitchen_sink.proto',
    'payments/v1/payments.proto',
    'bench/v1/orders.proto',
    'sample/greeter.proto',
    'ferry/peer/v1/peer.proto',
  ];
  return loadProtoRoot(
    files.map((f) => path.join(idl, f)),
    { includeDirs: [idl] },
  );
}

/**
 * Every message type the loaded protos declare (google.* included), but for proto2 types with a
 * field default or a required field (google/protobuf/descriptor.proto): protobufjs' decoded object
 * shows such a default as set when the field is absent, which the general path then prints, and
 * refuses a message without a required field; the writer, as json_format, prints what was sent.
 */
export function allTypes(root: Root): Type[] {
  const out: Type[] = [];
  const walk = (ns: protobuf.NamespaceBase): void => {
    for (const o of ns.nestedArray) {
      if (o instanceof protobuf.Type && !reachesDefault(o, new Set())) out.push(o);
      if (o instanceof protobuf.Namespace || o instanceof protobuf.Type) walk(o);
    }
  };
  walk(root);
  return out;
}
function reachesDefault(t: Type, seen: Set<Type>): boolean {
  if (seen.has(t)) return false;
  seen.add(t);
  return t.fieldsArray.some((f) => {
    f.resolve();
    if (f.required || (f.options as Record<string, unknown> | undefined)?.['default'] !== undefined) return true;
    return f.resolvedType instanceof protobuf.Type && reachesDefault(f.resolvedType, seen);
  });
}

/** A small deterministic generator (mulberry32), seeded by fast-check. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STRINGS = ['', 'a', 'héllo wörld', '"quoted" \\ back', '\u2028\u2029', '😀 emoji', '\u0000\u001f', 'snake_case.path', '12', '-3', '__x'];
const I32 = [0, 1, -1, 2147483647, -2147483648, 42];
const U32 = [0, 1, 4294967295, 2147483648, 7];
const I64 = [0n, 1n, -1n, 9007199254740993n, -9007199254740993n, 9223372036854775807n, -9223372036854775808n, 4294967296n];
const U64 = [0n, 1n, 18446744073709551615n, 9007199254740993n, 4294967296n, 2097152n * 4294967296n];
const DOUBLES = [0, -0, NaN, Infinity, -Infinity, 1.5, 1e300, 5e-324, 0.1, 123456789.125, -2.5e-7];
const FLOATS = [0, -0, NaN, Infinity, 0.1, 1e-45, 3.4028234663852886e38, -1.5, 16777217];

export function generator(seed: number, root: Root, pj: ProtoJson) {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const chance = (p: number) => r() < p;
  const int = (n: number) => Math.floor(r() * n);
  const randomString = (): string => (chance(0.7) ? pick(STRINGS) : String.fromCodePoint(...Array.from({ length: int(6) }, () => int(0x2ffff))));

  function scalar(kind: string): DraftValue {
    switch (kind) {
      case 'int32':
      case 'sint32':
      case 'sfixed32':
        return chance(0.7) ? pick(I32) : int(2 ** 32) | 0;
      case 'uint32':
      case 'fixed32':
        return chance(0.7) ? pick(U32) : int(2 ** 32);
      case 'int64':
      case 'sint64':
      case 'sfixed64':
        return longFromBigInt(chance(0.7) ? pick(I64) : BigInt.asIntN(64, BigInt(int(2 ** 32)) * BigInt(int(2 ** 32)) + BigInt(int(1000))), false);
      case 'uint64':
      case 'fixed64':
        return longFromBigInt(chance(0.7) ? pick(U64) : BigInt(int(2 ** 32)) * BigInt(int(2 ** 32)), true);
      case 'double':
        return chance(0.8) ? pick(DOUBLES) : (r() - 0.5) * 10 ** int(40);
      case 'float':
        return chance(0.8) ? pick(FLOATS) : Math.fround((r() - 0.5) * 10 ** int(30));
      case 'bool':
        return chance(0.5);
      case 'string':
        return randomString();
      case 'bytes':
        return Uint8Array.from(Array.from({ length: int(7) }, () => int(256)));
      default:
        throw new Error(`no generator for ${kind}`);
    }
  }

  function mapKey(kind: string): DraftValue {
    if (kind === 'string') return pick(['', 'a', 'b', '1', '10', '2', '-1', 'z y', '😀', '4294967295']);
    if (kind === 'bool') return chance(0.5);
    return scalar(kind);
  }

  function element(fi: FieldInfo, depth: number): DraftValue {
    if (fi.messageType !== undefined) return message(fi.messageType, depth + 1);
    if (fi.enumType !== undefined) return chance(0.85) ? pick(Object.values(fi.enumType.values)) : pick([7, -1, 100]);
    return scalar(fi.kind);
  }

  function special(type: Type, depth: number): Draft | undefined {
    switch (type.fullName) {
      case '.google.protobuf.Timestamp': {
        const seconds = chance(0.9) ? BigInt(int(253402300799 + 62135596800) - 62135596800) : pick([-62135596801n, 253402300800n]);
        const nanos = chance(0.5) ? 0 : pick([1, 1000, 1000000, 999999999, 123456789, int(1e9)]);
        const d: Draft = {};
        if (seconds !== 0n) d['seconds'] = longFromBigInt(seconds, false);
        if (nanos !== 0) d['nanos'] = nanos;
        return d;
      }
      case '.google.protobuf.Duration': {
        const neg = chance(0.3);
        const seconds = BigInt(int(315576000001));
        const nanos = chance(0.5) ? 0 : pick([1, 1000, 1000000, 999999999, int(1e9)]);
        const d: Draft = {};
        if (seconds !== 0n) d['seconds'] = longFromBigInt(neg ? -seconds : seconds, false);
        if (nanos !== 0) d['nanos'] = neg ? -nanos : nanos;
        return d;
      }
      case '.google.protobuf.Any': {
        if (chance(0.1)) return {};
        const inner = root.lookupType(
          pick([
            'example.kitchen.v1.Nested',
            'google.protobuf.Timestamp',
            'google.protobuf.Int32Value',
            'google.protobuf.Value',
            'google.protobuf.Empty',
          ]),
        );
        return { type_url: `type.googleapis.com/${inner.fullName.slice(1)}`, value: pj.encode(inner, message(inner, depth + 1)) };
      }
      default:
        return undefined;
    }
  }

  function message(type: Type, depth: number): Draft {
    const s = special(type, depth);
    if (s !== undefined) return s;
    const draft: Draft = {};
    const ti = plans.info(type);
    const oneofPick = new Map<string, string>();
    for (const fi of ti.fields) {
      if (fi.oneof !== undefined && !oneofPick.has(fi.oneof)) {
        const members = ti.fields.filter((f) => f.oneof === fi.oneof);
        oneofPick.set(fi.oneof, chance(0.6) ? pick(members).name : '');
      }
      if (fi.oneof !== undefined && oneofPick.get(fi.oneof) !== fi.name) continue;
      const deep = depth >= 3 && fi.messageType !== undefined;
      if (fi.oneof === undefined && (deep || !chance(0.55))) continue;
      if (fi.map) {
        const entries: Array<[DraftValue, DraftValue]> = [];
        for (let i = int(4); i > 0; i--) entries.push([mapKey(fi.keyType!), element(fi, depth)]);
        draft[fi.name] = new DraftMap(entries) as unknown as DraftValue;
      } else if (fi.repeated) {
        draft[fi.name] = Array.from({ length: int(4) }, () => element(fi, depth));
      } else {
        draft[fi.name] = element(fi, depth);
      }
    }
    return draft;
  }

  return { message, int, chance };
}

// ---------------------------------------------------------------- random JSON spellings

/** Writes the JSON value `v` of a message of `type` (as toJson gives it) in a random spelling. */
export function speller(seed: number, opts: { nulls?: boolean } = {}) {
  const r = rng(seed);
  const chance = (p: number) => r() < p;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  let shuffledKeys = false;
  const sp = () => (chance(0.15) ? pick([' ', '\n', '\t ', '\r\n  ']) : '');

  function str(s: string): string {
    const j = JSON.stringify(s);
    if (!chance(0.2)) return j;
    // escape a few plain characters as \uXXXX (never surrogates: those the encoder leaves to the general path)
    // (escape sequences JSON.stringify wrote are kept whole)
    return j.replace(/\\u[0-9a-fA-F]{4}|\\.|[a-z/]/g, (c) =>
      c.length > 1 || !chance(0.3) ? c : c === '/' ? '\\/' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  }

  function scalar(fi: FieldInfo, kind: string, v: unknown): string {
    if (fi.enumType !== undefined && kind === 'enum') {
      if (typeof v === 'string' && chance(0.4)) return String(fi.enumType.values[v]);
      return JSON.stringify(v);
    }
    if (LONG_TYPES.has(kind)) return chance(0.5) ? String(v) : JSON.stringify(v); // a bare number keeps every digit
    switch (kind) {
      case 'int32':
      case 'sint32':
      case 'sfixed32':
      case 'uint32':
      case 'fixed32':
        return pick([String(v), JSON.stringify(String(v)), `${String(v)}.0`, `${String(v)}e0`]);
      case 'double':
      case 'float':
        if (typeof v === 'string') return JSON.stringify(v);
        return chance(0.2) ? JSON.stringify(String(v)) : JSON.stringify(v);
      case 'bytes': {
        const b64 = v as string;
        return chance(0.4) ? JSON.stringify(b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')) : JSON.stringify(b64);
      }
      case 'string':
        return str(v as string);
      default:
        return JSON.stringify(v);
    }
  }

  function element(fi: FieldInfo, v: unknown): string {
    if (fi.messageType !== undefined) return message(fi.messageType, v);
    return scalar(fi, fi.enumType !== undefined ? 'enum' : fi.kind, v);
  }

  function field(fi: FieldInfo, v: unknown): string {
    if (v === null) return 'null';
    if (fi.map) {
      const entries = Object.entries(v as Record<string, unknown>).map(([k, ev]) => `${sp()}${str(k)}${sp()}:${sp()}${element(fi, ev)}`);
      return `{${entries.join(',')}${sp()}}`;
    }
    if (fi.repeated) return `[${(v as unknown[]).map((ev) => sp() + element(fi, ev)).join(',')}${sp()}]`;
    return element(fi, v);
  }

  function message(type: Type, v: unknown): string {
    const full = plans.info(type).fullName;
    if (WRAPPERS.has(full)) return scalar(plans.info(type).fields[0]!, plans.info(type).fields[0]!.kind, v);
    if (SPECIAL_JSON.has(full)) return JSON.stringify(v);
    const obj = v as Record<string, unknown>;
    const parts: string[] = [];
    for (const fi of plans.info(type).fields) {
      const key = chance(0.3) ? fi.name : fi.jsonName;
      if (fi.jsonName in obj) parts.push(`${sp()}${JSON.stringify(key)}${sp()}:${sp()}${field(fi, obj[fi.jsonName])}`);
      else if (opts.nulls !== false && chance(0.05)) parts.push(`${sp()}${JSON.stringify(key)}:null`); // explicit "not set" (or a Value null)
    }
    if (parts.length > 1 && chance(0.25)) {
      shuffledKeys = true;
      parts.sort(() => r() - 0.5);
    }
    return `{${parts.join(',')}${sp()}}`;
  }

  return { message, shuffled: () => shuffledKeys, chance, pick, int: (n: number) => Math.floor(r() * n) };
}

/** A random message of `type` as JSON text (undefined when the generator made one toJson refuses, e.g. a Timestamp out of range). */
export function randomBody(
  root: Root,
  pj: ProtoJson,
  type: Type,
  seed: number,
  opts: { nulls?: boolean } = {},
): { text: string; shuffled: boolean } | undefined {
  const g = generator(seed, root, pj);
  let value: unknown;
  try {
    value = pj.toJson(type, pj.encode(type, g.message(type, 0)));
  } catch {
    return undefined;
  }
  const s = speller(seed ^ 0x5bd1e995, opts);
  const text = s.message(type, value);
  return { text, shuffled: s.shuffled() };
}
