/**
 * Canonical proto3 JSON mapping, both directions, written against protobufjs reflection.
 *
 * JSON → message builds a "draft" (plain object keyed by proto field name; 64-bit integers as
 * Long, maps as [key, value] pairs) and encodes it with our own encoder, because protobufjs'
 * generated encoder mis-encodes `map<bool, …>` keys and its fromObject does not follow the JSON
 * mapping (int64 strings, Any, wrappers, Timestamp/Duration/FieldMask, NaN/Infinity, json_name).
 * Message → JSON decodes with protobufjs' generated decoder (fast, exact with Long) and walks the
 * result. Rules followed are those of the protobuf JSON mapping spec, checked against Python's
 * `google.protobuf.json_format` by test/e2e/grpc-json-conformance.test.ts.
 */
import protobuf from 'protobufjs';
import type { Enum, Field, Type, Writer } from 'protobufjs';
import { isLosslessNumber, parse as parseLossless } from 'lossless-json';
import { FerryError } from '../../errors/index.js';

/** A protobufjs Long as far as this module needs it. */
interface LongLike {
  low: number;
  high: number;
  unsigned: boolean;
  toString(radix?: number): string;
}
interface LongStatic {
  fromBits(low: number, high: number, unsigned?: boolean): LongLike;
}
const LongImpl = protobuf.util.Long as unknown as LongStatic;

/** A message being built from JSON: proto field name → value (see module doc for the shapes). */
export type Draft = { [field: string]: DraftValue };
export type DraftValue =
  | number
  | boolean
  | string
  | Uint8Array
  | LongLike
  | Draft
  | DraftValue[]
  | Array<[DraftValue, DraftValue]>;

/** Marks a draft map so it is not mistaken for a repeated field. */
class DraftMap {
  constructor(readonly entries: Array<[DraftValue, DraftValue]> = []) {}
}

export interface ToJsonOptions {
  /** Emit fields without presence that hold their default value (0, "", false, [], {}). */
  readonly emitDefaults?: boolean;
}

/** Where in a request a JSON value came from, for 400 messages. */
export interface JsonSource {
  /** `body`, `query.x`, `path.x` … (goes into the problem's `argument`). */
  readonly argument: string;
  /** JSON path prefix, `$` for a body. */
  readonly jsonPath: string;
}

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;
const UINT32_MAX = 2n ** 32n - 1n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
/** Timestamp range: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z. */
const TS_MIN_SECONDS = -62135596800n;
const TS_MAX_SECONDS = 253402300799n;
const DURATION_MAX_SECONDS = 315576000000n;

const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const UNSIGNED_LONG = new Set(['uint64', 'fixed64']);
const PACKABLE = new Set([
  'double', 'float', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64',
  'fixed32', 'fixed64', 'sfixed32', 'sfixed64', 'bool',
]);

const WKT = {
  any: '.google.protobuf.Any',
  timestamp: '.google.protobuf.Timestamp',
  duration: '.google.protobuf.Duration',
  fieldMask: '.google.protobuf.FieldMask',
  struct: '.google.protobuf.Struct',
  value: '.google.protobuf.Value',
  listValue: '.google.protobuf.ListValue',
  nullValue: '.google.protobuf.NullValue',
} as const;
const WRAPPERS = new Set([
  '.google.protobuf.DoubleValue', '.google.protobuf.FloatValue', '.google.protobuf.Int64Value',
  '.google.protobuf.UInt64Value', '.google.protobuf.Int32Value', '.google.protobuf.UInt32Value',
  '.google.protobuf.BoolValue', '.google.protobuf.StringValue', '.google.protobuf.BytesValue',
]);
/** Well-known types whose JSON is not an object of fields (inside Any they sit under "value"). */
const SPECIAL_JSON = new Set<string>([
  WKT.any, WKT.timestamp, WKT.duration, WKT.fieldMask, WKT.struct, WKT.value, WKT.listValue, ...WRAPPERS,
]);

/** The lowerCamelCase JSON name protoc gives a field (underscore removed, next letter upper-cased). */
export function protoJsonName(name: string): string {
  let out = '';
  let upper = false;
  for (const ch of name) {
    if (ch === '_') {
      upper = true;
    } else if (upper) {
      out += ch.toUpperCase();
      upper = false;
    } else {
      out += ch;
    }
  }
  return out;
}

function snakeFromCamel(path: string): string {
  return path.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
}

/** Per-message facts computed once per Type. */
interface TypeInfo {
  readonly type: Type;
  readonly fields: readonly FieldInfo[];
  /** JSON name and proto name → field. */
  readonly byKey: ReadonlyMap<string, FieldInfo>;
  readonly wkt: string | undefined;
}
interface FieldInfo {
  readonly field: Field;
  readonly name: string;
  readonly jsonName: string;
  readonly id: number;
  /** Scalar type name, or 'message' / 'enum'. */
  readonly kind: string;
  readonly repeated: boolean;
  readonly map: boolean;
  readonly keyType: string | undefined;
  readonly messageType: Type | undefined;
  readonly enumType: Enum | undefined;
  /** Oneof (real, not the synthetic one of proto3 `optional`) this field belongs to. */
  readonly oneof: string | undefined;
  /** True when the field tracks presence (message, oneof member, proto3 optional). */
  readonly presence: boolean;
}

/** Thrown inside the walkers; carries the JSON path so the caller can build a FerryError. */
class JsonMappingError extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
  }
}

/** Encoder/decoder between proto3 JSON and protobuf binary for the types of one protobufjs Root. */
export interface ProtoJson {
  /**
   * Parses request JSON text. Numbers are kept as exact text (lossless-json) when `type` has any
   * 64-bit integer field (or an Any, which may hold one), otherwise JSON.parse is used.
   */
  parseText(type: Type, text: string, source: JsonSource): unknown;
  /** JSON value (from parseText or JSON.parse) → draft of `type`. Throws FERRY_BAD_ARGUMENT naming the field. */
  fromJson(type: Type, value: unknown, source: JsonSource): Draft;
  /** JSON value for one field (used for a named `body` field). */
  fieldFromJson(type: Type, fieldName: string, value: unknown, source: JsonSource): DraftValue | undefined;
  /**
   * Sets a field reached by a dotted path of proto or JSON names from a string (path and query
   * parameters). Repeated fields append. Throws FERRY_BAD_ARGUMENT on unknown fields and bad values.
   */
  setFromString(type: Type, draft: Draft, path: readonly string[], text: string, source: JsonSource, overwrite?: boolean): void;
  /** Resolves a dotted field path to fields (throws FERRY_BAD_ARGUMENT when one does not exist). */
  resolvePath(type: Type, path: readonly string[], source: JsonSource): readonly Field[];
  /** Draft → protobuf binary. */
  encode(type: Type, draft: Draft): Uint8Array;
  /** Binary → JSON value (plain JS: int64 as strings, bytes base64). */
  toJson(type: Type, bytes: Uint8Array, opts?: ToJsonOptions): unknown;
  /** A decoded protobufjs message → JSON value. */
  messageToJson(type: Type, message: unknown, opts?: ToJsonOptions): unknown;
  /** One field of a decoded message → JSON (response_body); default value when unset. */
  fieldToJson(type: Type, message: unknown, fieldName: string, opts?: ToJsonOptions): unknown;
  /** Whether parsing JSON for `type` needs lossless numbers. */
  needsLossless(type: Type): boolean;
}

/** Builds the JSON mapping for the types of `root` (caches per-type facts; no global state). */
export function createProtoJson(root: protobuf.Root): ProtoJson {
  const infos = new Map<Type, TypeInfo>();
  const lossless = new Map<Type, boolean>();
  // protobufjs' bundled google.protobuf.Value names its fields in camelCase; resolve by number.
  const valueType = root.lookupType(WKT.value);
  const vf = (id: number): string => valueType.fieldsById[id]!.name;
  const structType = root.lookupType(WKT.struct);
  const listType = root.lookupType(WKT.listValue);
  const V = { null: vf(1), number: vf(2), string: vf(3), bool: vf(4), struct: vf(5), list: vf(6) };

  function info(type: Type): TypeInfo {
    let ti = infos.get(type);
    if (ti !== undefined) return ti;
    const fields: FieldInfo[] = [];
    const byKey = new Map<string, FieldInfo>();
    for (const f of type.fieldsArray) {
      f.resolve();
      const rt = f.resolvedType;
      const opts = f.options as Record<string, unknown> | undefined;
      const jsonName = typeof opts?.['json_name'] === 'string' ? (opts['json_name'] as string) : protoJsonName(f.name);
      const proto3Optional = opts?.['proto3_optional'] === true;
      const isMap = (f as { map?: boolean }).map === true;
      const messageType = rt instanceof protobuf.Type ? rt : undefined;
      const enumType = rt instanceof protobuf.Enum ? rt : undefined;
      const oneof = f.partOf !== null && f.partOf !== undefined && !proto3Optional ? f.partOf.name : undefined;
      const fi: FieldInfo = {
        field: f,
        name: f.name,
        jsonName,
        id: f.id,
        kind: messageType !== undefined ? 'message' : enumType !== undefined ? 'enum' : f.type,
        repeated: f.repeated && !isMap,
        map: isMap,
        keyType: isMap ? (f as unknown as { keyType: string }).keyType : undefined,
        messageType,
        enumType,
        oneof,
        presence: !f.repeated && !isMap && (messageType !== undefined || oneof !== undefined || proto3Optional),
      };
      fields.push(fi);
      byKey.set(jsonName, fi);
      byKey.set(f.name, fi);
    }
    ti = { type, fields, byKey, wkt: type.fullName };
    infos.set(type, ti);
    return ti;
  }

  function needsLossless(type: Type, seen = new Set<Type>()): boolean {
    const cached = lossless.get(type);
    if (cached !== undefined) return cached;
    if (seen.has(type)) return false;
    seen.add(type);
    let result = type.fullName === WKT.any;
    for (const fi of info(type).fields) {
      if (result) break;
      if (LONG_TYPES.has(fi.kind) || (fi.keyType !== undefined && LONG_TYPES.has(fi.keyType))) result = true;
      else if (fi.messageType !== undefined && needsLossless(fi.messageType, seen)) result = true;
    }
    lossless.set(type, result);
    return result;
  }

  // ---------------------------------------------------------------- JSON → draft

  function fail(path: string, message: string): never {
    throw new JsonMappingError(path, message);
  }

  function describe(v: unknown): string {
    if (v === null) return 'null';
    if (Array.isArray(v)) return 'an array';
    if (isLosslessNumber(v)) return `the number ${v.value}`;
    if (typeof v === 'object') return 'an object';
    if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
    return `${typeof v} ${String(v)}`;
  }

  /** Exact integer from a JSON number, lossless number or integer string. */
  function integerOf(v: unknown, path: string, allowString: boolean): bigint {
    let text: string;
    if (typeof v === 'number') {
      if (!Number.isInteger(v)) fail(path, `expected an integer, got ${describe(v)}`);
      return BigInt(v);
    } else if (isLosslessNumber(v)) {
      text = v.value;
    } else if (typeof v === 'string' && allowString) {
      if (!/^-?\d+$/.test(v)) fail(path, `expected an integer, got ${describe(v)}`);
      return BigInt(v);
    } else {
      return fail(path, `expected an integer, got ${describe(v)}`);
    }
    const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
    if (m === null) return fail(path, `expected an integer, got ${describe(v)}`);
    let digits = m[2]! + (m[3] ?? '');
    let exp = Number(m[4] ?? '0') - (m[3]?.length ?? 0);
    if (exp < 0) {
      const cut = digits.slice(digits.length + exp);
      if (!/^0*$/.test(cut)) fail(path, `expected an integer, got ${describe(v)}`);
      digits = digits.slice(0, digits.length + exp) || '0';
      exp = 0;
    }
    if (exp > 40) fail(path, `integer out of range: ${text}`);
    const n = BigInt(digits) * 10n ** BigInt(exp);
    return m[1] === '-' ? -n : n;
  }

  function longFromBigInt(n: bigint, unsigned: boolean): LongLike {
    const u = BigInt.asUintN(64, n);
    return LongImpl.fromBits(Number(u & 0xffffffffn) | 0, Number(u >> 32n) | 0, unsigned);
  }

  function floatOf(v: unknown, path: string, isFloat: boolean): number {
    let n: number;
    if (typeof v === 'number') n = v;
    else if (isLosslessNumber(v)) n = Number(v.value);
    else if (typeof v === 'string') {
      if (v === 'NaN') return NaN;
      if (v === 'Infinity') return Infinity;
      if (v === '-Infinity') return -Infinity;
      if (!/^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v)) fail(path, `expected a number, got ${describe(v)}`);
      n = Number(v);
    } else return fail(path, `expected a number, got ${describe(v)}`);
    if (!Number.isFinite(n)) fail(path, `number out of range for ${isFloat ? 'float' : 'double'}`);
    // Accept anything that rounds to a finite float32 (FLT_MAX itself prints as 3.4028235e38).
    if (isFloat && !Number.isFinite(Math.fround(n))) fail(path, 'number out of range for float');
    return n;
  }

  function bytesOf(v: unknown, path: string): Uint8Array {
    if (typeof v !== 'string') return fail(path, `expected base64 bytes, got ${describe(v)}`);
    if (!/^[A-Za-z0-9+/\-_]*={0,2}$/.test(v) || v.replace(/=+$/, '').length % 4 === 1) {
      fail(path, 'expected base64 bytes (standard or URL-safe alphabet)');
    }
    return Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  }

  function enumOf(e: Enum, v: unknown, path: string): number {
    if (typeof v === 'string') {
      const n = e.values[v];
      if (n === undefined) fail(path, `unknown value ${JSON.stringify(v)} for enum ${e.name}`);
      return n;
    }
    const n = integerOf(v, path, false);
    if (n < INT32_MIN || n > INT32_MAX) fail(path, `enum number out of range: ${n}`);
    return Number(n);
  }

  function scalarOf(kind: string, v: unknown, path: string): DraftValue {
    switch (kind) {
      case 'int32': case 'sint32': case 'sfixed32': {
        const n = integerOf(v, path, true);
        if (n < INT32_MIN || n > INT32_MAX) fail(path, `value out of range for ${kind}: ${n}`);
        return Number(n);
      }
      case 'uint32': case 'fixed32': {
        const n = integerOf(v, path, true);
        if (n < 0n || n > UINT32_MAX) fail(path, `value out of range for ${kind}: ${n}`);
        return Number(n);
      }
      case 'int64': case 'sint64': case 'sfixed64': {
        const n = integerOf(v, path, true);
        if (n < INT64_MIN || n > INT64_MAX) fail(path, `value out of range for ${kind}: ${n}`);
        return longFromBigInt(n, false);
      }
      case 'uint64': case 'fixed64': {
        const n = integerOf(v, path, true);
        if (n < 0n || n > UINT64_MAX) fail(path, `value out of range for ${kind}: ${n}`);
        return longFromBigInt(n, true);
      }
      case 'double': return floatOf(v, path, false);
      case 'float': return floatOf(v, path, true);
      case 'bool':
        if (typeof v !== 'boolean') fail(path, `expected true or false, got ${describe(v)}`);
        return v;
      case 'string':
        if (typeof v !== 'string') fail(path, `expected a string, got ${describe(v)}`);
        return v;
      case 'bytes': return bytesOf(v, path);
      default: return fail(path, `unsupported field type ${kind}`);
    }
  }

  function mapKeyOf(kind: string, key: string, path: string): DraftValue {
    switch (kind) {
      case 'string': return key;
      case 'bool':
        if (key !== 'true' && key !== 'false') fail(path, `map key must be "true" or "false", got ${JSON.stringify(key)}`);
        return key === 'true';
      default:
        if (!/^-?\d+$/.test(key)) fail(path, `map key must be an integer, got ${JSON.stringify(key)}`);
        return scalarOf(kind, key, path);
    }
  }

  function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === 'object' && v !== null && !Array.isArray(v) && !isLosslessNumber(v);
  }

  /** JSON value → draft value for one (non-repeated) element of a field. */
  function elementOf(fi: FieldInfo, v: unknown, path: string): DraftValue | undefined {
    if (fi.messageType !== undefined) return messageOf(fi.messageType, v, path);
    if (fi.enumType !== undefined) {
      if (v === null && fi.enumType.fullName === WKT.nullValue) return 0;
      return enumOf(fi.enumType, v, path);
    }
    return scalarOf(fi.kind, v, path);
  }

  function fieldValueOf(fi: FieldInfo, v: unknown, path: string): DraftValue | undefined {
    if (v === null) {
      // null means "not set", except where null is itself a value.
      if (fi.messageType?.fullName === WKT.value && !fi.repeated && !fi.map) return { [V.null]: 0 };
      if (fi.enumType?.fullName === WKT.nullValue && !fi.repeated && !fi.map) return 0;
      return undefined;
    }
    if (fi.map) {
      if (!isObject(v)) fail(path, `expected an object (map), got ${describe(v)}`);
      const entries: Array<[DraftValue, DraftValue]> = [];
      for (const [k, ev] of Object.entries(v)) {
        const kp = `${path}[${JSON.stringify(k)}]`;
        const key = mapKeyOf(fi.keyType!, k, kp);
        if (ev === null && fi.messageType?.fullName !== WKT.value) fail(kp, 'map values must not be null');
        const val = ev === null ? { [V.null]: 0 } : elementOf(fi, ev, kp);
        entries.push([key, val ?? 0]);
      }
      return new DraftMap(entries) as unknown as DraftValue;
    }
    if (fi.repeated) {
      if (!Array.isArray(v)) fail(path, `expected an array, got ${describe(v)}`);
      return v.map((ev, i) => {
        const ep = `${path}[${i}]`;
        if (ev === null && fi.messageType?.fullName !== WKT.value) fail(ep, 'array elements must not be null');
        return ev === null ? { [V.null]: 0 } : elementOf(fi, ev, ep)!;
      });
    }
    return elementOf(fi, v, path);
  }

  function isDefault(fi: FieldInfo, dv: DraftValue): boolean {
    if (fi.presence || fi.repeated || fi.map) return false;
    if (typeof dv === 'number') return dv === 0 && !Object.is(dv, -0);
    if (typeof dv === 'boolean') return dv === false;
    if (typeof dv === 'string') return dv === '';
    if (dv instanceof Uint8Array) return dv.length === 0;
    const l = dv as LongLike;
    return typeof l === 'object' && l !== null && 'low' in l && l.low === 0 && l.high === 0;
  }

  function messageOf(type: Type, v: unknown, path: string): Draft {
    switch (type.fullName) {
      case WKT.any: return anyOf(v, path);
      case WKT.timestamp: return timestampOf(v, path);
      case WKT.duration: return durationOf(v, path);
      case WKT.fieldMask: {
        if (typeof v !== 'string') return fail(path, `expected a FieldMask string, got ${describe(v)}`);
        return { paths: v === '' ? [] : v.split(',').map((p) => snakeFromCamel(p.trim())) };
      }
      case WKT.struct: {
        if (!isObject(v)) return fail(path, `expected an object, got ${describe(v)}`);
        return { fields: new DraftMap(Object.entries(v).map(([k, ev]) => [k, valueOf(ev, `${path}.${k}`)])) as unknown as DraftValue };
      }
      case WKT.value: return valueOf(v, path);
      case WKT.listValue: {
        if (!Array.isArray(v)) return fail(path, `expected an array, got ${describe(v)}`);
        return { values: v.map((ev, i) => valueOf(ev, `${path}[${i}]`)) };
      }
      default:
        break;
    }
    const ti = info(type);
    if (WRAPPERS.has(type.fullName)) {
      const inner = ti.fields[0]!;
      const sv = scalarOf(inner.kind, v, path);
      return isDefault(inner, sv) ? {} : { value: sv };
    }
    if (!isObject(v)) return fail(path, `expected an object for ${type.name}, got ${describe(v)}`);
    const draft: Draft = {};
    const oneofSet = new Map<string, string>();
    for (const [key, fv] of Object.entries(v)) {
      const fi = ti.byKey.get(key);
      const fp = `${path}.${key}`;
      if (fi === undefined) fail(fp, `unknown field ${JSON.stringify(key)} in ${type.fullName.slice(1)}`);
      if (draft[fi.name] !== undefined || (fv === null && oneofSet.get(fi.oneof ?? '') === fi.name)) {
        fail(fp, `field ${fi.name} is given twice`);
      }
      const dv = fieldValueOf(fi, fv, fp);
      if (dv === undefined) continue;
      if (fi.oneof !== undefined) {
        const other = oneofSet.get(fi.oneof);
        if (other !== undefined) fail(fp, `oneof ${fi.oneof} has more than one field set (${other}, ${fi.name})`);
        oneofSet.set(fi.oneof, fi.name);
      }
      if (isDefault(fi, dv)) continue;
      draft[fi.name] = dv;
    }
    return draft;
  }

  function valueOf(v: unknown, path: string): Draft {
    if (v === null) return { [V.null]: 0 };
    if (typeof v === 'boolean') return { [V.bool]: v };
    if (typeof v === 'string') return { [V.string]: v };
    if (typeof v === 'number') return { [V.number]: v };
    if (isLosslessNumber(v)) return { [V.number]: floatOf(v, path, false) };
    if (Array.isArray(v)) return { [V.list]: { values: v.map((ev, i) => valueOf(ev, `${path}[${i}]`)) } };
    if (isObject(v)) {
      return { [V.struct]: { fields: new DraftMap(Object.entries(v).map(([k, ev]) => [k, valueOf(ev, `${path}.${k}`)])) as unknown as DraftValue } };
    }
    return fail(path, `unsupported JSON value ${describe(v)}`);
  }

  function lookupTypeUrl(url: string, path: string): Type {
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

  function anyOf(v: unknown, path: string): Draft {
    if (!isObject(v)) return fail(path, `expected an object for Any, got ${describe(v)}`);
    const keys = Object.keys(v);
    if (keys.length === 0) return {};
    const url = v['@type'];
    if (typeof url !== 'string') return fail(`${path}.@type`, 'Any needs an "@type" string');
    const inner = lookupTypeUrl(url, `${path}.@type`);
    let draft: Draft;
    if (SPECIAL_JSON.has(inner.fullName)) {
      for (const k of keys) if (k !== '@type' && k !== 'value') fail(`${path}.${k}`, `unknown field ${JSON.stringify(k)} in Any of ${inner.fullName.slice(1)}`);
      if (!('value' in v)) fail(`${path}.value`, `Any of ${inner.fullName.slice(1)} needs "value"`);
      draft = messageOf(inner, v['value'], `${path}.value`);
    } else {
      const rest: Record<string, unknown> = {};
      for (const k of keys) if (k !== '@type') rest[k] = v[k];
      draft = messageOf(inner, rest, path);
    }
    return { type_url: url, value: encode(inner, draft) };
  }

  function timestampOf(v: unknown, path: string): Draft {
    if (typeof v !== 'string') return fail(path, `expected an RFC 3339 timestamp string, got ${describe(v)}`);
    const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/.exec(v);
    if (m === null) return fail(path, `invalid timestamp ${JSON.stringify(v)} (want RFC 3339, e.g. 2024-01-02T03:04:05.678Z)`);
    const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i]));
    const date = new Date(0);
    date.setUTCFullYear(y!, mo! - 1, d!);
    date.setUTCHours(h!, mi!, s!, 0);
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

  function durationOf(v: unknown, path: string): Draft {
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

  function toFerry(err: unknown, source: JsonSource): never {
    if (err instanceof JsonMappingError) {
      const jsonPath = source.jsonPath + err.path;
      throw new FerryError('FERRY_BAD_ARGUMENT', `${source.argument} ${jsonPath}: ${err.message}`, {
        argument: source.argument,
        jsonPath,
      });
    }
    throw err;
  }

  // ---------------------------------------------------------------- draft → binary

  function writeElement(w: Writer, fi: FieldInfo, id: number, v: DraftValue): void {
    if (fi.messageType !== undefined) {
      w.uint32(((id << 3) | 2) >>> 0).fork();
      writeMessage(w, fi.messageType, v as Draft);
      w.ldelim();
    } else if (fi.enumType !== undefined) {
      w.uint32((id << 3) >>> 0).int32(v as number);
    } else {
      writeScalar(w, fi.kind, id, v);
    }
  }

  function writeScalar(w: Writer, kind: string, id: number, v: DraftValue): void {
    const wire = protobuf.types.basic[kind as keyof typeof protobuf.types.basic];
    w.uint32(((id << 3) | (wire as number)) >>> 0);
    (w as unknown as Record<string, (x: unknown) => Writer>)[kind]!(v);
  }

  function writeMessage(w: Writer, type: Type, draft: Draft): void {
    for (const fi of info(type).fields) {
      const v = draft[fi.name];
      if (v === undefined) continue;
      if (fi.map) {
        for (const [k, val] of (v as unknown as DraftMap).entries) {
          w.uint32(((fi.id << 3) | 2) >>> 0).fork();
          writeScalar(w, fi.keyType!, 1, k);
          writeElement(w, fi, 2, val);
          w.ldelim();
        }
      } else if (fi.repeated) {
        const arr = v as DraftValue[];
        if (arr.length === 0) continue;
        if (fi.enumType !== undefined || PACKABLE.has(fi.kind)) {
          w.uint32(((fi.id << 3) | 2) >>> 0).fork();
          const m = (w as unknown as Record<string, (x: unknown) => Writer>)[fi.enumType !== undefined ? 'int32' : fi.kind]!;
          for (const x of arr) m.call(w, x);
          w.ldelim();
        } else {
          for (const x of arr) writeElement(w, fi, fi.id, x);
        }
      } else {
        writeElement(w, fi, fi.id, v);
      }
    }
  }

  function encode(type: Type, draft: Draft): Uint8Array {
    const w = protobuf.Writer.create();
    writeMessage(w, type, draft);
    return w.finish();
  }

  // ---------------------------------------------------------------- message → JSON

  function longText(v: unknown, unsigned: boolean): string {
    if (typeof v === 'number') return String(v);
    if (typeof v === 'string') return v;
    const l = v as LongLike;
    if (l.unsigned !== unsigned) return LongImpl.fromBits(l.low, l.high, unsigned).toString();
    return l.toString();
  }

  function floatJson(v: number, isFloat: boolean): number | string {
    if (Number.isNaN(v)) return 'NaN';
    if (v === Infinity) return 'Infinity';
    if (v === -Infinity) return '-Infinity';
    if (isFloat && v !== 0) {
      // Shortest form with at least 6 significant digits that reads back as the same float32
      // (the form protobuf's Python and C++ printers use).
      for (let p = 6; p <= 9; p++) {
        const s = Number(v.toPrecision(p));
        if (Math.fround(s) === v) return s;
      }
    }
    return v;
  }

  function scalarJson(kind: string, v: unknown): unknown {
    switch (kind) {
      case 'int64': case 'sint64': case 'sfixed64': return longText(v, false);
      case 'uint64': case 'fixed64': return longText(v, true);
      case 'double': return floatJson(v as number, false);
      case 'float': return floatJson(v as number, true);
      case 'bytes': return Buffer.from(v as Uint8Array).toString('base64');
      default: return v;
    }
  }

  function elementJson(fi: FieldInfo, v: unknown, opts: ToJsonOptions): unknown {
    if (fi.messageType !== undefined) return messageJson(fi.messageType, v, opts);
    if (fi.enumType !== undefined) {
      if (fi.enumType.fullName === WKT.nullValue) return null;
      return fi.enumType.valuesById[v as number] ?? v;
    }
    return scalarJson(fi.kind, v);
  }

  function mapKeyJson(kind: string, k: string): string {
    if (LONG_TYPES.has(kind) && k.length === 8) {
      return longText(protobuf.util.longFromHash(k, UNSIGNED_LONG.has(kind)), UNSIGNED_LONG.has(kind));
    }
    return k;
  }

  function defaultJson(fi: FieldInfo): unknown {
    if (fi.map) return {};
    if (fi.repeated) return [];
    if (fi.enumType !== undefined) return fi.enumType.fullName === WKT.nullValue ? null : (fi.enumType.valuesById[0] ?? 0);
    switch (fi.kind) {
      case 'int64': case 'sint64': case 'sfixed64': case 'uint64': case 'fixed64': return '0';
      case 'bool': return false;
      case 'string': case 'bytes': return '';
      default: return 0;
    }
  }

  function hasValue(fi: FieldInfo, msg: Record<string, unknown>): boolean {
    const v = msg[fi.name];
    if (fi.presence) return Object.prototype.hasOwnProperty.call(msg, fi.name) && v !== null && v !== undefined;
    if (v === undefined || v === null) return false;
    if (fi.map) return Object.keys(v as object).length > 0;
    if (fi.repeated) return (v as unknown[]).length > 0;
    if (typeof v === 'number') return v !== 0 || Object.is(v, -0);
    if (typeof v === 'boolean') return v;
    if (typeof v === 'string') return v !== '';
    if (v instanceof Uint8Array || Array.isArray(v)) return v.length > 0;
    const l = v as LongLike;
    return l.low !== 0 || l.high !== 0;
  }

  function fieldJson(fi: FieldInfo, v: unknown, opts: ToJsonOptions): unknown {
    if (fi.map) {
      const out: Record<string, unknown> = {};
      for (const [k, ev] of Object.entries(v as Record<string, unknown>)) out[mapKeyJson(fi.keyType!, k)] = elementJson(fi, ev, opts);
      return out;
    }
    if (fi.repeated) return (v as unknown[]).map((ev) => elementJson(fi, ev, opts));
    return elementJson(fi, v, opts);
  }

  function messageJson(type: Type, message: unknown, opts: ToJsonOptions): unknown {
    const msg = message as Record<string, unknown>;
    switch (type.fullName) {
      case WKT.any: return anyJson(msg, opts);
      case WKT.timestamp: return timestampJson(msg);
      case WKT.duration: return durationJson(msg);
      case WKT.fieldMask: return ((msg['paths'] as string[] | undefined) ?? []).map((p) => p.split('.').map(protoJsonName).join('.')).join(',');
      case WKT.struct: {
        const out: Record<string, unknown> = {};
        for (const [k, ev] of Object.entries((msg['fields'] as Record<string, unknown> | undefined) ?? {})) out[k] = valueJson(ev, opts);
        return out;
      }
      case WKT.value: return valueJson(msg, opts);
      case WKT.listValue: return ((msg['values'] as unknown[] | undefined) ?? []).map((ev) => valueJson(ev, opts));
      default: break;
    }
    const ti = info(type);
    if (WRAPPERS.has(type.fullName)) {
      const inner = ti.fields[0]!;
      return scalarJson(inner.kind, msg['value'] ?? defaultJson(inner));
    }
    const out: Record<string, unknown> = {};
    for (const fi of ti.fields) {
      if (hasValue(fi, msg)) out[fi.jsonName] = fieldJson(fi, msg[fi.name], opts);
      else if (opts.emitDefaults === true && !fi.presence) out[fi.jsonName] = defaultJson(fi);
    }
    return out;
  }

  function valueJson(message: unknown, opts: ToJsonOptions): unknown {
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
    if (has(V.struct)) return messageJson(structType, msg[V.struct], opts);
    if (has(V.list)) return messageJson(listType, msg[V.list], opts);
    return null;
  }

  function anyJson(msg: Record<string, unknown>, opts: ToJsonOptions): unknown {
    const url = (msg['type_url'] as string | undefined) ?? '';
    const value = (msg['value'] as Uint8Array | undefined) ?? new Uint8Array(0);
    if (url === '') return {};
    let inner: Type;
    try {
      inner = lookupTypeUrl(url, '');
    } catch {
      throw new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', `Any holds type ${url}, which no loaded proto declares`);
    }
    const decoded = inner.decode(value);
    const json = messageJson(inner, decoded, opts);
    if (SPECIAL_JSON.has(inner.fullName)) return { '@type': url, value: json };
    return { '@type': url, ...(json as Record<string, unknown>) };
  }

  function fraction(nanos: number): string {
    if (nanos === 0) return '';
    const s = String(nanos).padStart(9, '0');
    if (s.endsWith('000000')) return '.' + s.slice(0, 3);
    if (s.endsWith('000')) return '.' + s.slice(0, 6);
    return '.' + s;
  }

  function timestampJson(msg: Record<string, unknown>): string {
    const seconds = BigInt(longText(msg['seconds'] ?? 0, false));
    const nanos = (msg['nanos'] as number | undefined) ?? 0;
    if (seconds < TS_MIN_SECONDS || seconds > TS_MAX_SECONDS || nanos < 0 || nanos > 999_999_999) {
      throw new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', `Timestamp out of range (seconds ${seconds}, nanos ${nanos})`);
    }
    const d = new Date(Number(seconds) * 1000);
    const pad = (n: number, w = 2) => String(n).padStart(w, '0');
    return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${fraction(nanos)}Z`;
  }

  function durationJson(msg: Record<string, unknown>): string {
    const seconds = BigInt(longText(msg['seconds'] ?? 0, false));
    const nanos = (msg['nanos'] as number | undefined) ?? 0;
    if (seconds > DURATION_MAX_SECONDS || seconds < -DURATION_MAX_SECONDS || (seconds > 0n && nanos < 0) || (seconds < 0n && nanos > 0)) {
      throw new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', `Duration out of range (seconds ${seconds}, nanos ${nanos})`);
    }
    const neg = seconds < 0n || nanos < 0;
    const abs = seconds < 0n ? -seconds : seconds;
    return `${neg ? '-' : ''}${abs}${fraction(Math.abs(nanos))}s`;
  }

  // ---------------------------------------------------------------- public surface

  function resolvePathInfos(type: Type, path: readonly string[], source: JsonSource): FieldInfo[] {
    const out: FieldInfo[] = [];
    let t: Type | undefined = type;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      const fi: FieldInfo | undefined = t === undefined ? undefined : info(t).byKey.get(seg);
      if (fi === undefined || (i < path.length - 1 && (fi.messageType === undefined || fi.repeated || fi.map))) {
        throw new FerryError('FERRY_BAD_ARGUMENT', `${source.argument}: no field ${path.slice(0, i + 1).join('.')} in ${type.fullName.slice(1)}`, {
          argument: source.argument,
          jsonPath: source.jsonPath,
        });
      }
      out.push(fi);
      t = fi.messageType;
    }
    return out;
  }

  function stringToValue(fi: FieldInfo, text: string, path: string): DraftValue {
    if (fi.messageType !== undefined) {
      const full = fi.messageType.fullName;
      if (WRAPPERS.has(full)) {
        const inner = info(fi.messageType).fields[0]!;
        return { value: stringScalar(inner.kind, text, path) };
      }
      if (full === WKT.timestamp || full === WKT.duration || full === WKT.fieldMask) return messageOf(fi.messageType, text, path);
      return fail(path, `a message field (${full.slice(1)}) cannot be set from a single value`);
    }
    if (fi.enumType !== undefined) return enumOf(fi.enumType, /^-?\d+$/.test(text) ? Number(text) : text, path);
    return stringScalar(fi.kind, text, path);
  }

  function stringScalar(kind: string, text: string, path: string): DraftValue {
    if (kind === 'bool') {
      if (text === 'true' || text === '1') return true;
      if (text === 'false' || text === '0') return false;
      return fail(path, `expected true or false, got ${JSON.stringify(text)}`);
    }
    return scalarOf(kind, text, path);
  }

  return {
    needsLossless: (type) => needsLossless(type),

    parseText(type, text, source) {
      try {
        if (needsLossless(type)) return parseLossless(text);
        return JSON.parse(text);
      } catch (err) {
        throw new FerryError('FERRY_BAD_JSON', `${source.argument}: ${(err as Error).message}`, {
          argument: source.argument,
          cause: err,
        });
      }
    },

    fromJson(type, value, source) {
      try {
        return messageOf(type, value, '');
      } catch (err) {
        return toFerry(err, source);
      }
    },

    fieldFromJson(type, fieldName, value, source) {
      const fi = resolvePathInfos(type, [fieldName], source)[0]!;
      try {
        return fieldValueOf(fi, value, '');
      } catch (err) {
        return toFerry(err, source);
      }
    },

    setFromString(type, draft, path, text, source, overwrite = false) {
      const fis = resolvePathInfos(type, path, source);
      let d = draft;
      for (let i = 0; i < fis.length - 1; i++) {
        const name = fis[i]!.name;
        let next = d[name];
        if (next === undefined) {
          next = {};
          d[name] = next;
        }
        d = next as Draft;
      }
      const last = fis[fis.length - 1]!;
      try {
        if (last.map) fail('', `map field ${last.name} cannot be set from a parameter`);
        const v = stringToValue(last, text, '');
        if (last.repeated) {
          const arr = (d[last.name] as DraftValue[] | undefined) ?? [];
          arr.push(v);
          d[last.name] = arr;
        } else {
          if (d[last.name] !== undefined && !overwrite) fail('', `field ${path.join('.')} is given more than once`);
          d[last.name] = v;
        }
      } catch (err) {
        toFerry(err, source);
      }
    },

    resolvePath(type, path, source) {
      return resolvePathInfos(type, path, source).map((fi) => fi.field);
    },

    encode,

    toJson(type, bytes, opts = {}) {
      return messageJson(type, type.decode(bytes), opts);
    },

    messageToJson(type, message, opts = {}) {
      return messageJson(type, message, opts);
    },

    fieldToJson(type, message, fieldName, opts = {}) {
      const fi = info(type).byKey.get(fieldName);
      if (fi === undefined) throw new FerryError('FERRY_CONFIG_INVALID', `response_body names no field ${fieldName} of ${type.fullName.slice(1)}`);
      const msg = message as Record<string, unknown>;
      if (hasValue(fi, msg)) return fieldJson(fi, msg[fi.name], opts);
      if (fi.messageType !== undefined) return messageJson(fi.messageType, fi.messageType.create({}), opts);
      return defaultJson(fi);
    },
  };
}
