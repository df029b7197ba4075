/**
 * The well-known types whose JSON is not an object of their fields: Timestamp (RFC 3339 text),
 * Duration ("1.5s"), FieldMask ("a,b.cD"), Struct / Value / ListValue (any JSON), the wrappers
 * (the bare wrapped value) and Any (`@type` plus the packed message's JSON). Timestamp, Duration,
 * FieldMask and Struct/Value/ListValue are converted here in both directions; wrappers and Any
 * recurse into the general walkers, which handle them (from-json.ts, to-json.ts).
 */
import protobuf from 'protobufjs';
import type { Type } from 'protobufjs';
import { isLosslessNumber } from 'lossless-json';
import { FerryError } from '../../errors/index.js';
import { MAX_JSON_NESTING } from '../../exchange/index.js';
import { DraftMap, longFromBigInt, longText, type Draft, type DraftValue } from './draft.js';
import { describe, fail, isJsonObject } from './mapping-error.js';
import { protoJsonName, snakeFromCamel } from './names.js';
import { floatOf, protoString } from './scalars.js';

export const WKT = {
  any: '.google.protobuf.Any',
  timestamp: '.google.protobuf.Timestamp',
  duration: '.google.protobuf.Duration',
  fieldMask: '.google.protobuf.FieldMask',
  struct: '.google.protobuf.Struct',
  value: '.google.protobuf.Value',
  listValue: '.google.protobuf.ListValue',
  nullValue: '.google.protobuf.NullValue',
} as const;
export const WRAPPERS: ReadonlySet<string> = new Set([
  '.google.protobuf.DoubleValue',
  '.google.protobuf.FloatValue',
  '.google.protobuf.Int64Value',
  '.google.protobuf.UInt64Value',
  '.google.protobuf.Int32Value',
  '.google.protobuf.UInt32Value',
  '.google.protobuf.BoolValue',
  '.google.protobuf.StringValue',
  '.google.protobuf.BytesValue',
]);
/** Well-known types whose JSON is not an object of fields (inside Any they sit under "value"). */
export const SPECIAL_JSON: ReadonlySet<string> = new Set<string>([
  WKT.any,
  WKT.timestamp,
  WKT.duration,
  WKT.fieldMask,
  WKT.struct,
  WKT.value,
  WKT.listValue,
  ...WRAPPERS,
]);

/** Timestamp range: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z. */
export const TS_MIN_SECONDS = -62135596800n;
export const TS_MAX_SECONDS = 253402300799n;
export const DURATION_MAX_SECONDS = 315576000000n;

// ---------------------------------------------------------------- Timestamp

export function timestampOf(v: unknown, path: string): Draft {
  if (typeof v !== 'string') return fail(path, `expected an RFC 3339 timestamp string, got ${describe(v)}`);
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/.exec(v);
  if (m === null) return fail(path, `invalid timestamp ${JSON.stringify(v)} (want RFC 3339, e.g. 2024-01-02T03:04:05.678Z)`);
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i]));
  const date = new Date(0);
  date.setUTCFullYear(y!, mo! - 1, d);
  date.setUTCHours(h!, mi, s, 0);
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo! - 1 || date.getUTCDate() !== d || h! > 23 || mi! > 59 || s! > 59) {
    fail(path, `invalid timestamp ${JSON.stringify(v)}`);
  }
  let seconds = BigInt(Math.floor(date.getTime() / 1000));
  if (m[8] === undefined) {
    const off = (Number(m[10]) * 60 + Number(m[11])) * 60;
    seconds += BigInt(m[9] === '+' ? -off : off);
  }
  if (seconds < TS_MIN_SECONDS || seconds > TS_MAX_SECONDS) fail(path, `timestamp out of range ${JSON.stringify(v)}`);
  const nanos = m[7] === undefined ? 0 : Number(m[7].padEnd(9, '0'));
  const draft: Draft = {};
  if (seconds !== 0n) draft['seconds'] = longFromBigInt(seconds, false);
  if (nanos !== 0) draft['nanos'] = nanos;
  return draft;
}

/** Fraction of a second with 0, 3, 6 or 9 digits, as protobuf's printers write it. */
export function fraction(nanos: number): string {
  if (nanos === 0) return '';
  const s = String(nanos).padStart(9, '0');
  if (s.endsWith('000000')) return '.' + s.slice(0, 3);
  if (s.endsWith('000')) return '.' + s.slice(0, 6);
  return '.' + s;
}

export function timestampJson(msg: Record<string, unknown>): string {
  const seconds = BigInt(longText(msg['seconds'] ?? 0, false));
  const nanos = (msg['nanos'] as number | undefined) ?? 0;
  if (seconds < TS_MIN_SECONDS || seconds > TS_MAX_SECONDS || nanos < 0 || nanos > 999_999_999) {
    throw new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', `Timestamp out of range (seconds ${seconds}, nanos ${nanos})`);
  }
  const d = new Date(Number(seconds) * 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${fraction(nanos)}Z`;
}

// ---------------------------------------------------------------- Duration

export function durationOf(v: unknown, path: string): Draft {
  if (typeof v !== 'string') return fail(path, `expected a duration string like "1.5s", got ${describe(v)}`);
  const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(v);
  if (m === null) return fail(path, `invalid duration ${JSON.stringify(v)} (want e.g. "1.5s")`);
  const secs = BigInt(m[2]!);
  if (secs > DURATION_MAX_SECONDS) fail(path, `duration out of range ${JSON.stringify(v)}`);
  const sign = m[1] === '-' ? -1 : 1;
  const nanos = m[3] === undefined ? 0 : Number(m[3].padEnd(9, '0'));
  const draft: Draft = {};
  if (secs !== 0n) draft['seconds'] = longFromBigInt(sign < 0 ? -secs : secs, false);
  if (nanos !== 0) draft['nanos'] = sign * nanos;
  return draft;
}

export function durationJson(msg: Record<string, unknown>): string {
  const seconds = BigInt(longText(msg['seconds'] ?? 0, false));
  const nanos = (msg['nanos'] as number | undefined) ?? 0;
  if (seconds > DURATION_MAX_SECONDS || seconds < -DURATION_MAX_SECONDS || (seconds > 0n && nanos < 0) || (seconds < 0n && nanos > 0)) {
    throw new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', `Duration out of range (seconds ${seconds}, nanos ${nanos})`);
  }
  const neg = seconds < 0n || nanos < 0;
  const abs = seconds < 0n ? -seconds : seconds;
  return `${neg ? '-' : ''}${abs}${fraction(Math.abs(nanos))}s`;
}

// ---------------------------------------------------------------- FieldMask

export function fieldMaskOf(v: unknown, path: string): Draft {
  if (typeof v !== 'string') return fail(path, `expected a FieldMask string, got ${describe(v)}`);
  return { paths: v === '' ? [] : v.split(',').map((p) => snakeFromCamel(p.trim())) };
}

export function fieldMaskJson(msg: Record<string, unknown>): string {
  return ((msg['paths'] as string[] | undefined) ?? []).map((p) => p.split('.').map(protoJsonName).join('.')).join(',');
}

// ---------------------------------------------------------------- Struct, Value, ListValue

/** Struct / Value / ListValue of one Root, both directions. */
export interface StructCodec {
  /** Draft of a Value holding null. */
  nullValue(): Draft;
  valueOf(v: unknown, path: string): Draft;
  structOf(v: unknown, path: string): Draft;
  listOf(v: unknown, path: string): Draft;
  valueJson(message: unknown): unknown;
  structJson(msg: Record<string, unknown>): unknown;
  listJson(msg: Record<string, unknown>): unknown;
  /**
   * Runs `f` one JSON level (object or array) deeper: the reply-side half of the one JSON nesting
   * limit (MAX_JSON_NESTING). Deeper is FERRY_UPSTREAM_PROTOCOL_ERROR, as for Dubbo replies.
   */
  nested<T>(f: () => T): T;
}

export function createStructCodec(root: protobuf.Root): StructCodec {
  // protobufjs' bundled google.protobuf.Value names its fields in camelCase; resolve by number.
  const valueType = root.lookupType(WKT.value);
  const vf = (id: number): string => valueType.fieldsById[id]!.name;
  const V = { null: vf(1), number: vf(2), string: vf(3), bool: vf(4), struct: vf(5), list: vf(6) };

  function structFields(obj: Record<string, unknown>, path: string): DraftValue {
    return new DraftMap(Object.entries(obj).map(([k, ev]) => [protoString(k, path), valueOf(ev, `${path}.${k}`)])) as unknown as DraftValue;
  }

  function listValues(arr: unknown[], path: string): DraftValue[] {
    return arr.map((ev, i) => valueOf(ev, `${path}[${i}]`));
  }

  function valueOf(v: unknown, path: string): Draft {
    if (v === null) return { [V.null]: 0 };
    if (typeof v === 'boolean') return { [V.bool]: v };
    if (typeof v === 'string') return { [V.string]: protoString(v, path) };
    if (typeof v === 'number') return { [V.number]: v };
    if (isLosslessNumber(v)) return { [V.number]: floatOf(v, path, false) };
    if (Array.isArray(v)) return { [V.list]: { values: listValues(v, path) } };
    if (isJsonObject(v)) return { [V.struct]: { fields: structFields(v, path) } };
    return fail(path, `unsupported JSON value ${describe(v)}`);
  }

  function valueJson(message: unknown): unknown {
    const msg = message as Record<string, unknown>;
    const has = (k: string) => Object.prototype.hasOwnProperty.call(msg, k) && msg[k] !== undefined && msg[k] !== null;
    if (has(V.null)) return null;
    if (has(V.number)) {
      const n = msg[V.number] as number;
      if (!Number.isFinite(n)) throw new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', `google.protobuf.Value holds ${n}, which JSON cannot carry`);
      return n;
    }
    if (has(V.string)) return msg[V.string];
    if (has(V.bool)) return msg[V.bool];
    if (has(V.struct)) return structJson(msg[V.struct] as Record<string, unknown>);
    if (has(V.list)) return listJson(msg[V.list] as Record<string, unknown>);
    return null;
  }

  let depth = 0;
  function nested<T>(f: () => T): T {
    if (depth >= MAX_JSON_NESTING) {
      throw new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', `the reply nests objects and arrays deeper than ${MAX_JSON_NESTING}`);
    }
    depth++;
    try {
      return f();
    } finally {
      depth--;
    }
  }

  function structJson(msg: Record<string, unknown>): unknown {
    return nested(() => {
      const out: Record<string, unknown> = {};
      for (const [k, ev] of Object.entries((msg['fields'] as Record<string, unknown> | undefined) ?? {})) out[k] = valueJson(ev);
      return out;
    });
  }

  function listJson(msg: Record<string, unknown>): unknown {
    return nested(() => ((msg['values'] as unknown[] | undefined) ?? []).map((ev) => valueJson(ev)));
  }

  return {
    nullValue: () => ({ [V.null]: 0 }),
    valueOf,
    structOf(v, path) {
      if (!isJsonObject(v)) return fail(path, `expected an object, got ${describe(v)}`);
      return { fields: structFields(v, path) };
    },
    listOf(v, path) {
      if (!Array.isArray(v)) return fail(path, `expected an array, got ${describe(v)}`);
      return { values: listValues(v, path) };
    },
    valueJson,
    nested,
    structJson,
    listJson,
  };
}

// ---------------------------------------------------------------- Any

/** The message type an Any's type URL names (the part after the last `/`), looked up in `root`. */
export function lookupTypeUrl(root: protobuf.Root, url: string, path: string): Type {
  const slash = url.lastIndexOf('/');
  const name = url.slice(slash + 1);
  if (slash < 0 || name === '') return fail(path, `invalid type URL ${JSON.stringify(url)}`);
  let t: protobuf.ReflectionObject | null = null;
  try {
    t = root.lookup(name);
  } catch {
    t = null;
  }
  if (!(t instanceof protobuf.Type)) return fail(path, `unknown type ${JSON.stringify(name)} in Any`);
  return t;
}
