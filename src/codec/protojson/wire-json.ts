/**
 * Protobuf binary → proto3 JSON text in one pass, compiled per message type: the wire bytes are
 * read once and JSON text is written directly, without protobufjs' decoded object, the JSON walk
 * (to-json.ts) or JSON.stringify. The output is the same text as JSON.stringify(toJson(...)) for
 * every message protobufjs decodes the same way (test/codec/protojson-wire-json.test.ts compares
 * the two on the sample protos and on random messages); where protobufjs departs from the
 * protobuf spec on odd but valid encodings, this follows the spec, as Python's json_format does:
 * a message field sent twice is merged, the last member of a oneof wins, a field sent with another
 * wire type than declared is skipped as unknown, a map entry without a value holds the default.
 *
 * Budgets are today's: JSON nesting (MAX_JSON_NESTING, counted as to-json.ts does) and message
 * nesting (protobufjs' Reader.recursionLimit, which each Any restarts). Malformed bytes are
 * FERRY_UPSTREAM_PROTOCOL_ERROR. The route's deadline is looked at every DECODE_CHECK_EVERY fields
 * and packed elements (decode-deadline.ts): past it, 504 FERRY_UPSTREAM_TIMEOUT.
 */
import protobuf from 'protobufjs';
import type { Root, Type } from 'protobufjs';
import { FerryError } from '../../errors/index.js';
import { DECODE_CHECK_EVERY, DecodeDeadlineError, NO_DEADLINE, pastDeadline } from '../decode-deadline.js';
import { MAX_JSON_NESTING } from '../../exchange/index.js';
import { protoJsonName } from './names.js';
import type { FieldInfo, TypePlans } from './plan.js';
import type { ToJsonOptions } from './to-json.js';
import { floatJson } from './scalars.js';
import { K, KIND, wireOf } from './kinds.js';
import { fraction, lookupTypeUrl, SPECIAL_JSON, TS_MAX_SECONDS, TS_MIN_SECONDS, DURATION_MAX_SECONDS, WKT, WRAPPERS } from './well-known.js';

/** How a message type's JSON is not an object of its fields. */
const enum Special {
  None,
  Any,
  Timestamp,
  Duration,
  FieldMask,
  Struct,
  Value,
  ListValue,
  Wrapper,
}

interface FieldPlan {
  readonly slot: number;
  readonly id: number;
  readonly kind: K;
  readonly wire: number;
  readonly packable: boolean;
  readonly repeated: boolean;
  readonly map: boolean;
  readonly presence: boolean;
  /** Index of the real oneof this field belongs to, or -1. */
  readonly oneof: number;
  /** `"jsonName":` */
  readonly prefix: string;
  /** JSON text of the default (for emitDefaults), undefined for fields with presence. */
  readonly defaultText: string | undefined;
  readonly keyKind: K;
  /** Enum value names as JSON text by number; null for google.protobuf.NullValue. */
  readonly enumNames: Map<number, string> | null | undefined;
  /** The message plan of a message field (or of a map's message value), resolved on first use. */
  message: MessagePlan | undefined;
  readonly messageType: Type | undefined;
}

interface MessagePlan {
  readonly fullName: string;
  readonly special: Special;
  readonly fields: readonly FieldPlan[];
  /** Field plans by field number (an array: field numbers are small in practice; holes are unknown fields). */
  readonly byId: Array<FieldPlan | undefined>;
  /** Fields numbered MAX_DENSE_ID and above. */
  readonly sparse: Map<number, FieldPlan> | undefined;
  readonly oneofs: number;
}

/** Thrown inside the walk; turned into FERRY_UPSTREAM_PROTOCOL_ERROR naming the top-level type. */
class WireError extends Error {}

/** Buffer's own slicing methods (what buf.toString() calls after checking its arguments; protobufjs uses them too). */
interface NodeBuffer extends Buffer {
  utf8Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
  base64Slice(start: number, end: number): string;
}

// 64-bit varints are read into these two (no allocation); read them right after the call.
let lo = 0;
let hi = 0;
/**
 * The read position, one for the whole walk: every read is synchronous and a nested message is read
 * within its parent's bounds, after which the parent moves the position to the nested one's end.
 */
let pos = 0;
/**
 * Fields (and packed elements) left before the next look at the clock, the fields counted so far and
 * the route's deadline (performance.now() ms): one walk at a time, as `pos` (decode-deadline.ts).
 */
let untilCheck = DECODE_CHECK_EVERY;
let counted = 0;
let deadlineAt = NO_DEADLINE;

/** The clock's turn: past the deadline, the walk stops with DecodeDeadlineError. */
function checkpoint(): void {
  counted += DECODE_CHECK_EVERY;
  untilCheck = DECODE_CHECK_EVERY;
  if (pastDeadline(deadlineAt)) throw new DecodeDeadlineError(counted);
}

/** A compiled writer: reply bytes → JSON text; past `deadline` (performance.now() ms) it stops with DecodeDeadlineError. */
export type WireJsonWriter = (bytes: Uint8Array, deadline?: number) => string;

export interface WireJson {
  /** The writer for messages of `type` (compiled once per type and options). */
  writer(type: Type, opts?: ToJsonOptions): WireJsonWriter;
}

export function createWireJson(root: Root, plans: TypePlans): WireJson {
  const { info } = plans;
  const planCache = [new Map<Type, MessagePlan>(), new Map<Type, MessagePlan>()];
  const anyTypes = new Map<string, Type>();

  function planOf(type: Type, emitDefaults: boolean): MessagePlan {
    const cache = planCache[emitDefaults ? 1 : 0]!;
    let plan = cache.get(type);
    if (plan !== undefined) return plan;
    const ti = info(type);
    const oneofNames: string[] = [];
    const fields: FieldPlan[] = ti.fields.map((fi, slot) => fieldPlan(fi, slot, oneofNames, emitDefaults));
    const byId: Array<FieldPlan | undefined> = [];
    for (const f of fields) if (f.id < MAX_DENSE_ID) byId[f.id] = f;
    for (let i = 0; i < byId.length; i++) byId[i] ??= undefined; // no holes: a packed array
    plan = {
      fullName: ti.fullName,
      special: specialOf(ti.fullName),
      fields,
      byId,
      sparse: fields.some((f) => f.id >= MAX_DENSE_ID) ? new Map(fields.filter((f) => f.id >= MAX_DENSE_ID).map((f) => [f.id, f])) : undefined,
      oneofs: oneofNames.length,
    };
    cache.set(type, plan);
    return plan;
  }

  function fieldPlan(fi: FieldInfo, slot: number, oneofNames: string[], emitDefaults: boolean): FieldPlan {
    const kind: K | undefined = fi.messageType !== undefined ? K.Message : fi.enumType !== undefined ? K.Enum : KIND[fi.kind];
    if (kind === undefined) throw new FerryError('FERRY_CONFIG_INVALID', `unsupported field type ${fi.kind} in ${fi.field.fullName}`);
    let oneof = -1;
    if (fi.oneof !== undefined) {
      oneof = oneofNames.indexOf(fi.oneof);
      if (oneof < 0) oneof = oneofNames.push(fi.oneof) - 1;
    }
    let enumNames: Map<number, string> | null | undefined;
    if (fi.enumType !== undefined) {
      if (fi.refName === WKT.nullValue) enumNames = null;
      else {
        enumNames = new Map();
        for (const [id, name] of Object.entries(fi.enumType.valuesById)) enumNames.set(Number(id), JSON.stringify(name));
      }
    }
    const prefix = JSON.stringify(fi.jsonName) + ':';
    return {
      slot,
      id: fi.id,
      kind,
      wire: wireOf(kind),
      packable: !fi.map && fi.repeated && kind !== K.String && kind !== K.Bytes && kind !== K.Message,
      repeated: fi.repeated,
      map: fi.map,
      presence: fi.presence,
      oneof,
      prefix,
      defaultText: emitDefaults && !fi.presence ? defaultText(fi, kind, enumNames) : undefined,
      keyKind: fi.keyType !== undefined ? KIND[fi.keyType]! : K.String,
      enumNames,
      message: undefined,
      messageType: fi.messageType,
    };
  }

  function defaultText(fi: FieldInfo, kind: K, enumNames: Map<number, string> | null | undefined): string {
    if (fi.map) return '{}';
    if (fi.repeated) return '[]';
    return scalarDefaultText(kind, enumNames);
  }

  function fieldOf(plan: MessagePlan, id: number): FieldPlan | undefined {
    return id < plan.byId.length ? plan.byId[id] : plan.sparse?.get(id);
  }

  function childPlan(f: FieldPlan, emitDefaults: boolean): MessagePlan {
    return (f.message ??= planOf(f.messageType!, emitDefaults));
  }

  // ---------------------------------------------------------------- reading

  function fail(reason: string): never {
    throw new WireError(reason);
  }

  /** A varint's low 32 bits (unsigned); up to 10 bytes are read. */
  function varint32(buf: Buffer, end: number): number {
    let p = pos;
    let b = p < end ? buf[p++]! : fail('index out of range');
    let v = b & 0x7f;
    if (b >= 0x80) {
      b = p < end ? buf[p++]! : fail('index out of range');
      v |= (b & 0x7f) << 7;
      if (b >= 0x80) {
        b = p < end ? buf[p++]! : fail('index out of range');
        v |= (b & 0x7f) << 14;
        if (b >= 0x80) {
          b = p < end ? buf[p++]! : fail('index out of range');
          v |= (b & 0x7f) << 21;
          if (b >= 0x80) {
            b = p < end ? buf[p++]! : fail('index out of range');
            v |= b << 28;
            // The upper bits of a longer varint do not change the low 32.
            let n = 5;
            while (b >= 0x80) {
              if (n++ === 10) fail('invalid varint encoding');
              b = p < end ? buf[p++]! : fail('index out of range');
            }
          }
        }
      }
    }
    pos = p;
    return v >>> 0;
  }

  /** A 64-bit varint into lo/hi. */
  function varint64(buf: Buffer, end: number): void {
    let p = pos;
    let l = 0;
    let h = 0;
    let b: number;
    let shift = 0;
    for (; shift < 28; shift += 7) {
      b = p < end ? buf[p++]! : fail('index out of range');
      l |= (b & 0x7f) << shift;
      if (b < 0x80) {
        pos = p;
        lo = l >>> 0;
        hi = 0;
        return;
      }
    }
    b = p < end ? buf[p++]! : fail('index out of range');
    l |= (b & 0x0f) << 28;
    h = (b & 0x7f) >> 4;
    if (b >= 0x80) {
      for (shift = 3; ; shift += 7) {
        if (shift > 31) fail('invalid varint encoding');
        b = p < end ? buf[p++]! : fail('index out of range');
        h |= (b & 0x7f) << shift;
        if (b < 0x80) break;
      }
    }
    pos = p;
    lo = l >>> 0;
    hi = h >>> 0;
  }

  function fixed32(buf: Buffer, end: number): number {
    const p = pos;
    if (p + 4 > end) fail('index out of range');
    pos = p + 4;
    return (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
  }

  function fixed64(buf: Buffer, end: number): void {
    lo = fixed32(buf, end);
    hi = fixed32(buf, end);
  }

  const f64 = new Float64Array(1);
  const f64u = new Uint32Array(f64.buffer);
  const f32 = new Float32Array(1);
  const f32u = new Uint32Array(f32.buffer);

  /** The end of a length-delimited payload starting at pos (after its length). */
  function delimited(buf: Buffer, end: number): number {
    const len = varint32(buf, end);
    const stop = pos + len;
    if (stop > end) fail('index out of range');
    return stop;
  }

  function skip(buf: Buffer, end: number, wire: number, depth: number): void {
    switch (wire) {
      case 0:
        varint64(buf, end);
        return;
      case 1:
        if ((pos += 8) > end) fail('index out of range');
        return;
      case 2:
        pos = delimited(buf, end);
        return;
      case 5:
        if ((pos += 4) > end) fail('index out of range');
        return;
      case 3: {
        if (depth > protobuf.Reader.recursionLimit) fail('maximum nesting depth exceeded');
        for (;;) {
          const tag = varint32(buf, end);
          if ((tag & 7) === 4) return;
          skip(buf, end, tag & 7, depth + 1);
        }
      }
      default:
        return fail(`invalid wire type ${wire} at offset ${pos}`);
    }
  }

  // ---------------------------------------------------------------- scalars → JSON text

  function unsignedText(l: number, h: number): string {
    if (h < 0x200000) return String(h * 4294967296 + l);
    return ((BigInt(h) << 32n) | BigInt(l)).toString();
  }

  function signedText(l: number, h: number): string {
    if (h < 0x80000000) return unsignedText(l, h);
    const nl = (~l + 1) >>> 0;
    const nh = (~h + (nl === 0 ? 1 : 0)) >>> 0;
    return '-' + unsignedText(nl, nh);
  }

  /** lo/hi as a signed Number (exact within 2^53; only range-checked beyond). */
  function signedNumber(l: number, h: number): number {
    return (h | 0) * 4294967296 + l;
  }

  function doubleText(v: number): string {
    if (v !== v) return '"NaN"';
    if (v === Infinity) return '"Infinity"';
    if (v === -Infinity) return '"-Infinity"';
    return String(v);
  }

  function floatText(v: number): string {
    const j = floatJson(v, true);
    return typeof j === 'string' ? '"' + j + '"' : String(j);
  }

  function stringAt(buf: Buffer, start: number, stop: number): string {
    return (buf as NodeBuffer).utf8Slice(start, stop);
  }

  function base64At(buf: Buffer, start: number, stop: number): string {
    return (buf as NodeBuffer).base64Slice(start, stop);
  }

  /** JSON text of the UTF-8 string in buf[start, stop): printable ASCII without `"` or `\` is copied as is. */
  function stringJson(buf: Buffer, start: number, stop: number): string {
    for (let i = start; i < stop; i++) {
      const b = buf[i]!;
      if (b < 0x20 || b > 0x7e || b === 0x22 || b === 0x5c) return JSON.stringify((buf as NodeBuffer).utf8Slice(start, stop));
    }
    return '"' + (buf as NodeBuffer).latin1Slice(start, stop) + '"';
  }

  /** Set by scalarText: whether the value it read was the proto3 default (no allocation for a second result). */
  let wasDefault = false;
  /** Reads one (unpacked) scalar or enum of `f` and returns its JSON text. */
  function scalarText(f: FieldPlan, kind: K, buf: Buffer, end: number): string {
    switch (kind) {
      case K.Double: {
        if (pos + 8 > end) fail('index out of range');
        const p = pos;
        f64u[0] = (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
        f64u[1] = (buf[p + 4]! | (buf[p + 5]! << 8) | (buf[p + 6]! << 16) | (buf[p + 7]! << 24)) >>> 0;
        pos = p + 8;
        const v = f64[0]!;
        wasDefault = v === 0 && f64u[1] === 0;
        return doubleText(v);
      }
      case K.Float: {
        f32u[0] = fixed32(buf, end);
        const v = f32[0]!;
        wasDefault = f32u[0] === 0;
        return floatText(v);
      }
      case K.Int32: {
        const v = varint32(buf, end) | 0;
        wasDefault = v === 0;
        return String(v);
      }
      case K.Uint32: {
        const v = varint32(buf, end);
        wasDefault = v === 0;
        return String(v);
      }
      case K.Sint32: {
        const u = varint32(buf, end);
        const v = ((u >>> 1) ^ -(u & 1)) | 0;
        wasDefault = v === 0;
        return String(v);
      }
      case K.Fixed32: {
        const v = fixed32(buf, end);
        wasDefault = v === 0;
        return String(v);
      }
      case K.Sfixed32: {
        const v = fixed32(buf, end) | 0;
        wasDefault = v === 0;
        return String(v);
      }
      case K.Int64:
        varint64(buf, end);
        wasDefault = lo === 0 && hi === 0;
        return '"' + signedText(lo, hi) + '"';
      case K.Uint64:
        varint64(buf, end);
        wasDefault = lo === 0 && hi === 0;
        return '"' + unsignedText(lo, hi) + '"';
      case K.Sint64: {
        varint64(buf, end);
        const mask = -(lo & 1);
        const l = (((lo >>> 1) | (hi << 31)) ^ mask) >>> 0;
        const h = ((hi >>> 1) ^ mask) >>> 0;
        wasDefault = l === 0 && h === 0;
        return '"' + signedText(l, h) + '"';
      }
      case K.Fixed64:
        fixed64(buf, end);
        wasDefault = lo === 0 && hi === 0;
        return '"' + unsignedText(lo, hi) + '"';
      case K.Sfixed64:
        fixed64(buf, end);
        wasDefault = lo === 0 && hi === 0;
        return '"' + signedText(lo, hi) + '"';
      case K.Bool:
        varint64(buf, end);
        wasDefault = lo === 0 && hi === 0;
        return wasDefault ? 'false' : 'true';
      case K.String: {
        const stop = delimited(buf, end);
        const start = pos;
        pos = stop;
        wasDefault = stop === start;
        return wasDefault ? '""' : stringJson(buf, start, stop);
      }
      case K.Bytes: {
        const stop = delimited(buf, end);
        const start = pos;
        pos = stop;
        wasDefault = stop === start;
        return '"' + base64At(buf, start, stop) + '"';
      }
      case K.Enum: {
        const v = varint32(buf, end) | 0;
        wasDefault = v === 0;
        if (f.enumNames === null) return 'null';
        return f.enumNames!.get(v) ?? String(v);
      }
      default:
        return fail('not a scalar');
    }
  }

  // ---------------------------------------------------------------- messages

  /**
   * A value that a later one may replace (a singular message field, a map value, a Value's kind)
   * fails only if it is printed, as in the general path, which converts only the decoded survivor:
   * its error is kept and a marker (NUL, which JSON text never holds raw) stands for it until then.
   */
  const deferred: FerryError[] = [];
  function defer(err: FerryError): string {
    return '\u0000' + String(deferred.push(err) - 1);
  }
  function lazyText(plan: MessagePlan, buf: Buffer, start: number, stop: number, pb: number, depth: number, ed: boolean): string {
    try {
      return messageText(plan, buf, start, stop, pb, depth, ed);
    } catch (err) {
      if (err instanceof FerryError && !(err instanceof DecodeDeadlineError)) return defer(err);
      throw err;
    }
  }
  function settled(text: string): string {
    // Only when something was deferred: charCodeAt would flatten every concatenated text it is given.
    if (deferred.length !== 0 && text.charCodeAt(0) === 0) throw deferred[Number(text.slice(1))]!;
    return text;
  }

  function enter(depth: number): void {
    if (depth >= MAX_JSON_NESTING) {
      throw new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', `the reply nests objects and arrays deeper than ${MAX_JSON_NESTING}`);
    }
  }

  /**
   * JSON text of the message in buf[start, stop). `pb` is the protobuf message depth (protobufjs'
   * recursion count), `depth` the JSON nesting of the enclosing value.
   */
  function messageText(plan: MessagePlan, buf: Buffer, start: number, stop: number, pb: number, depth: number, ed: boolean): string {
    if (pb > protobuf.Reader.recursionLimit) fail('maximum nesting depth exceeded');
    switch (plan.special) {
      case Special.None:
        break;
      case Special.Timestamp:
      case Special.Duration:
        return timeText(plan.special, buf, start, stop);
      case Special.Wrapper:
        return wrapperText(plan, buf, start, stop);
      case Special.FieldMask:
        return fieldMaskText(buf, start, stop);
      case Special.Any:
        return anyText(buf, start, stop, depth, ed);
      case Special.Value:
        return valueText(plan, buf, start, stop, pb, depth, ed);
      case Special.Struct:
      case Special.ListValue:
        enter(depth);
        break;
    }
    if (plan.special === Special.None) enter(depth);
    const fields = plan.fields;
    const vals: Array<string | Record<string, string> | undefined> = new Array<string | Record<string, string> | undefined>(fields.length);
    const oneofLast = plan.oneofs > 0 ? new Int32Array(plan.oneofs).fill(-1) : undefined;
    let merge = false;
    // Where the values of a map or repeated message field sit: one level below their container,
    // except in Struct and ListValue, which are themselves the container.
    const elemDepth = plan.special === Special.None ? depth + 2 : depth + 1;
    pos = start;
    while (pos < stop) {
      if (--untilCheck < 0) checkpoint();
      const tag = varint32(buf, stop);
      const wire = tag & 7;
      const f = fieldOf(plan, tag >>> 3);
      if (f === undefined) {
        if (wire === 4) fail('unexpected end group');
        skip(buf, stop, wire, pb);
        continue;
      }
      if (f.map) {
        if (wire !== 2) {
          skip(buf, stop, wire, pb);
          continue;
        }
        const entryEnd = delimited(buf, stop);
        let obj = vals[f.slot] as Record<string, string> | undefined;
        if (obj === undefined) vals[f.slot] = obj = Object.create(null) as Record<string, string>;
        mapEntry(f, obj, buf, entryEnd, pb, elemDepth, ed);
        pos = entryEnd; // a value that was not sent was written from an empty buffer
        continue;
      }
      if (f.kind === K.Message) {
        if (wire !== 2) {
          skip(buf, stop, wire, pb);
          continue;
        }
        const end = delimited(buf, stop);
        const child = childPlan(f, ed);
        const text = f.repeated ? messageText(child, buf, pos, end, pb + 1, elemDepth, ed) : lazyText(child, buf, pos, end, pb + 1, depth + 1, ed);
        pos = end;
        if (f.repeated) {
          const prev = vals[f.slot] as string | undefined;
          vals[f.slot] = prev === undefined ? text : prev + ',' + text;
        } else {
          if (vals[f.slot] !== undefined) merge = true;
          vals[f.slot] = text;
          if (oneofLast !== undefined && f.oneof >= 0) oneofLast[f.oneof] = f.slot;
        }
        continue;
      }
      if (f.repeated) {
        let prev = vals[f.slot] as string | undefined;
        if (wire === 2 && f.packable) {
          const end = delimited(buf, stop);
          while (pos < end) {
            if (--untilCheck < 0) checkpoint();
            const text = scalarText(f, f.kind, buf, end);
            prev = prev === undefined ? text : prev + ',' + text;
          }
          if (pos !== end) fail('index out of range');
        } else if (wire === f.wire) {
          const text = scalarText(f, f.kind, buf, stop);
          prev = prev === undefined ? text : prev + ',' + text;
        } else {
          skip(buf, stop, wire, pb);
          continue;
        }
        vals[f.slot] = prev;
        continue;
      }
      if (wire !== f.wire) {
        skip(buf, stop, wire, pb);
        continue;
      }
      const text = scalarText(f, f.kind, buf, stop);
      if (f.oneof >= 0 && oneofLast !== undefined) oneofLast[f.oneof] = f.slot;
      vals[f.slot] = wasDefault && !f.presence ? undefined : text;
    }
    if (pos !== stop) fail('index out of range');
    if (merge) mergeMessages(plan, vals, buf, start, stop, pb, depth, ed);

    if (plan.special === Special.Struct) return structText(vals);
    if (plan.special === Special.ListValue) {
      const list = vals[0] as string | undefined;
      return list === undefined ? '[]' : '[' + list + ']';
    }
    let out = '{';
    let first = true;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      const v = vals[i];
      let text: string | undefined;
      if (v === undefined) {
        text = f.defaultText;
      } else if (f.oneof >= 0 && oneofLast !== undefined && oneofLast[f.oneof] !== i) {
        continue;
      } else if (f.map) {
        text = mapText(v as Record<string, string>, depth + 1);
      } else if (f.repeated) {
        enter(depth + 1);
        text = '[' + (v as string) + ']';
      } else {
        text = settled(v as string);
      }
      if (text === undefined) continue;
      out += first ? f.prefix + text : ',' + f.prefix + text;
      first = false;
    }
    return out + '}';
  }

  /** A message field sent more than once is merged: its payloads, concatenated, read as one. */
  function mergeMessages(
    plan: MessagePlan,
    vals: Array<string | Record<string, string> | undefined>,
    buf: Buffer,
    start: number,
    stop: number,
    pb: number,
    depth: number,
    ed: boolean,
  ): void {
    const parts = new Map<FieldPlan, Uint8Array[]>();
    pos = start;
    while (pos < stop) {
      const tag = varint32(buf, stop);
      const f = fieldOf(plan, tag >>> 3);
      if (f !== undefined && f.kind === K.Message && !f.repeated && !f.map && (tag & 7) === 2) {
        const end = delimited(buf, stop);
        const list = parts.get(f) ?? [];
        list.push(buf.subarray(pos, end));
        parts.set(f, list);
        pos = end;
      } else skip(buf, stop, tag & 7, pb);
    }
    for (const [f, list] of parts) {
      if (list.length < 2) continue;
      const joined = Buffer.concat(list);
      vals[f.slot] = messageText(childPlan(f, ed), joined, 0, joined.length, pb + 1, depth + 1, ed);
    }
  }

  function mapEntry(f: FieldPlan, obj: Record<string, string>, buf: Buffer, end: number, pb: number, depth: number, ed: boolean): void {
    let key: string | undefined;
    let value: string | undefined;
    while (pos < end) {
      const tag = varint32(buf, end);
      const wire = tag & 7;
      const id = tag >>> 3;
      if (id === 1 && wire === wireOf(f.keyKind)) {
        key = mapKeyText(f.keyKind, buf, end);
      } else if (id === 2 && wire === f.wire) {
        if (f.kind === K.Message) {
          const stop = delimited(buf, end);
          value = lazyText(childPlan(f, ed), buf, pos, stop, pb + 1, depth, ed);
          pos = stop;
        } else {
          value = scalarText(f, f.kind, buf, end);
        }
      } else {
        skip(buf, end, wire, pb);
      }
    }
    if (pos !== end) fail('index out of range');
    if (key === undefined) key = f.keyKind === K.String ? '' : f.keyKind === K.Bool ? 'false' : '0';
    if (value === undefined) value = defaultElementText(f, pb, depth, ed);
    obj[key] = value;
  }

  /** The JSON of a map value (at `depth`) that was not sent. */
  function defaultElementText(f: FieldPlan, pb: number, depth: number, ed: boolean): string {
    if (f.kind === K.Message) return messageText(childPlan(f, ed), EMPTY, 0, 0, pb + 1, depth, ed);
    return scalarDefaultText(f.kind, f.enumNames);
  }

  function mapKeyText(kind: K, buf: Buffer, end: number): string {
    switch (kind) {
      case K.String: {
        const stop = delimited(buf, end);
        const s = stringAt(buf, pos, stop);
        pos = stop;
        return s;
      }
      case K.Bool:
        varint64(buf, end);
        return lo === 0 && hi === 0 ? 'false' : 'true';
      case K.Int32:
        return String(varint32(buf, end) | 0);
      case K.Uint32:
        return String(varint32(buf, end));
      case K.Sint32: {
        const u = varint32(buf, end);
        return String(((u >>> 1) ^ -(u & 1)) | 0);
      }
      case K.Fixed32:
        return String(fixed32(buf, end));
      case K.Sfixed32:
        return String(fixed32(buf, end) | 0);
      case K.Int64:
        varint64(buf, end);
        return signedText(lo, hi);
      case K.Uint64:
        varint64(buf, end);
        return unsignedText(lo, hi);
      case K.Sint64: {
        varint64(buf, end);
        const mask = -(lo & 1);
        return signedText((((lo >>> 1) | (hi << 31)) ^ mask) >>> 0, ((hi >>> 1) ^ mask) >>> 0);
      }
      case K.Fixed64:
        fixed64(buf, end);
        return unsignedText(lo, hi);
      case K.Sfixed64:
        fixed64(buf, end);
        return signedText(lo, hi);
      default:
        return fail('invalid map key type');
    }
  }

  /** Entries in the order a JS object keeps them (integer-like keys first), as JSON.stringify of the decoded map does. */
  function mapText(obj: Record<string, string>, depth: number): string {
    enter(depth);
    let out = '{';
    let first = true;
    for (const k in obj) {
      out += (first ? '' : ',') + quote(k) + ':' + settled(obj[k]!);
      first = false;
    }
    return out + '}';
  }

  // ---------------------------------------------------------------- well-known types

  /** Reads fields 1 (int64 seconds) and 2 (int32 nanos) of a Timestamp or Duration. */
  function timeText(special: Special, buf: Buffer, start: number, stop: number): string {
    let sl = 0;
    let sh = 0;
    let nanos = 0;
    pos = start;
    while (pos < stop) {
      const tag = varint32(buf, stop);
      if (tag === 0x08) {
        varint64(buf, stop);
        sl = lo;
        sh = hi;
      } else if (tag === 0x10) {
        nanos = varint32(buf, stop) | 0;
      } else skip(buf, stop, tag & 7, 0);
    }
    if (pos !== stop) fail('index out of range');
    const seconds = signedNumber(sl, sh);
    if (special === Special.Timestamp) {
      if (seconds < TS_MIN || seconds > TS_MAX || nanos < 0 || nanos > 999_999_999) {
        throw new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', `Timestamp out of range (seconds ${signedText(sl, sh)}, nanos ${nanos})`);
      }
      return '"' + utcText(seconds) + fraction(nanos) + 'Z"';
    }
    if (seconds > DUR_MAX || seconds < -DUR_MAX || (seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) {
      throw new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', `Duration out of range (seconds ${signedText(sl, sh)}, nanos ${nanos})`);
    }
    const neg = seconds < 0 || nanos < 0;
    return '"' + (neg ? '-' : '') + String(Math.abs(seconds)) + fraction(Math.abs(nanos)) + 's"';
  }

  function wrapperText(plan: MessagePlan, buf: Buffer, start: number, stop: number): string {
    const f = plan.fields[0]!;
    let text: string | undefined;
    pos = start;
    while (pos < stop) {
      const tag = varint32(buf, stop);
      if (tag >>> 3 === 1 && (tag & 7) === f.wire) text = scalarText(f, f.kind, buf, stop);
      else skip(buf, stop, tag & 7, 0);
    }
    if (pos !== stop) fail('index out of range');
    return text ?? defaultElementText(f, 0, 0, false);
  }

  function fieldMaskText(buf: Buffer, start: number, stop: number): string {
    const paths: string[] = [];
    pos = start;
    while (pos < stop) {
      const tag = varint32(buf, stop);
      if (tag === 0x0a) {
        const end = delimited(buf, stop);
        paths.push(stringAt(buf, pos, end));
        pos = end;
      } else skip(buf, stop, tag & 7, 0);
    }
    if (pos !== stop) fail('index out of range');
    return JSON.stringify(paths.map((p) => p.split('.').map(protoJsonName).join('.')).join(','));
  }

  function structText(vals: Array<string | Record<string, string> | undefined>): string {
    const obj = vals[0] as Record<string, string> | undefined;
    if (obj === undefined) return '{}';
    let out = '{';
    let first = true;
    for (const k in obj) {
      out += (first ? '' : ',') + quote(k) + ':' + settled(obj[k]!);
      first = false;
    }
    return out + '}';
  }

  /** google.protobuf.Value: the last kind sent (null when none is). */
  function valueText(plan: MessagePlan, buf: Buffer, start: number, stop: number, pb: number, depth: number, ed: boolean): string {
    let text = 'null';
    pos = start;
    while (pos < stop) {
      const tag = varint32(buf, stop);
      const wire = tag & 7;
      const f = fieldOf(plan, tag >>> 3);
      if (f === undefined || wire !== f.wire) {
        skip(buf, stop, wire, pb);
        continue;
      }
      if (f.kind === K.Message) {
        const end = delimited(buf, stop);
        text = lazyText(childPlan(f, ed), buf, pos, end, pb + 1, depth, ed);
        pos = end;
      } else if (f.kind === K.Double) {
        const t = scalarText(f, K.Double, buf, stop);
        text =
          t.charCodeAt(0) === 0x22
            ? defer(new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', `google.protobuf.Value holds ${t.slice(1, -1)}, which JSON cannot carry`))
            : t;
      } else {
        text = scalarText(f, f.kind, buf, stop);
      }
    }
    if (pos !== stop) fail('index out of range');
    return settled(text);
  }

  function anyText(buf: Buffer, start: number, stop: number, depth: number, ed: boolean): string {
    let url = '';
    let vs = 0;
    let ve = 0;
    pos = start;
    while (pos < stop) {
      const tag = varint32(buf, stop);
      if (tag === 0x0a) {
        const end = delimited(buf, stop);
        url = stringAt(buf, pos, end);
        pos = end;
      } else if (tag === 0x12) {
        ve = delimited(buf, stop);
        vs = pos;
        pos = ve;
      } else skip(buf, stop, tag & 7, 0);
    }
    if (pos !== stop) fail('index out of range');
    if (url === '') return '{}';
    const inner = anyType(url);
    const innerPlan = planOf(inner, ed);
    const urlText = JSON.stringify(url);
    if (SPECIAL_JSON.has(innerPlan.fullName)) {
      enter(depth);
      return '{"@type":' + urlText + ',"value":' + messageText(innerPlan, buf, vs, ve, 0, depth + 1, ed) + '}';
    }
    const json = messageText(innerPlan, buf, vs, ve, 0, depth, ed);
    return json.length === 2 ? '{"@type":' + urlText + '}' : '{"@type":' + urlText + ',' + json.slice(1);
  }

  function anyType(url: string): Type {
    const name = url.slice(url.lastIndexOf('/') + 1);
    let t = anyTypes.get(name);
    if (t !== undefined && url.lastIndexOf('/') >= 0) return t;
    try {
      t = lookupTypeUrl(root, url, '');
    } catch {
      throw new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', `Any holds type ${url}, which no loaded proto declares`);
    }
    anyTypes.set(name, t); // bounded: only names of types the root declares
    return t;
  }

  return {
    writer(type, opts = {}) {
      const ed = opts.emitDefaults === true;
      const plan = planOf(type, ed);
      const name = plan.fullName.slice(1);
      return (bytes, deadline = NO_DEADLINE) => {
        const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        deferred.length = 0;
        untilCheck = DECODE_CHECK_EVERY;
        counted = 0;
        deadlineAt = deadline;
        try {
          return messageText(plan, buf, 0, buf.length, 0, 0, ed);
        } catch (err) {
          if (err instanceof WireError) {
            throw new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', `the reply is not a valid ${name}: ${err.message}`, { cause: err });
          }
          if (err instanceof RangeError) {
            // A stack overflow on a pathological reply (e.g. Any inside Any, many thousands deep).
            throw new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', `the reply is not a valid ${name}: ${err.message}`, { cause: err });
          }
          throw err;
        }
      };
    },
  };
}

const EMPTY = Buffer.alloc(0);
const MAX_DENSE_ID = 1024;
const TS_MIN = Number(TS_MIN_SECONDS);
const TS_MAX = Number(TS_MAX_SECONDS);
const DUR_MAX = Number(DURATION_MAX_SECONDS);

const pad2 = (n: number): string => (n < 10 ? '0' + String(n) : String(n));

/**
 * `YYYY-MM-DDTHH:MM:SS` of seconds since the epoch (years 1..9999), by integer arithmetic
 * (days → civil date as in H. Hinnant's chrono algorithms) rather than a Date object per value.
 */
export function utcText(seconds: number): string {
  const days = Math.floor(seconds / 86400);
  const secs = seconds - days * 86400;
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const h = Math.floor(secs / 3600);
  const mi = Math.floor((secs % 3600) / 60);
  const yText = y >= 1000 ? String(y) : String(y).padStart(4, '0');
  return yText + '-' + pad2(m) + '-' + pad2(d) + 'T' + pad2(h) + ':' + pad2(mi) + ':' + pad2(secs % 60);
}

/** JSON text of a string (a map key): printable ASCII without `"` or `\\` is copied as is. */
function quote(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return JSON.stringify(s);
  }
  return '"' + s + '"';
}

function specialOf(fullName: string): Special {
  switch (fullName) {
    case WKT.any:
      return Special.Any;
    case WKT.timestamp:
      return Special.Timestamp;
    case WKT.duration:
      return Special.Duration;
    case WKT.fieldMask:
      return Special.FieldMask;
    case WKT.struct:
      return Special.Struct;
    case WKT.value:
      return Special.Value;
    case WKT.listValue:
      return Special.ListValue;
    default:
      return WRAPPERS.has(fullName) ? Special.Wrapper : Special.None;
  }
}

/** The proto3 JSON of a scalar or enum field's default value (int64 kinds as strings, enums by name; `null` for google.protobuf.NullValue). */
function scalarDefaultText(kind: K, enumNames: Map<number, string> | null | undefined): string {
  switch (kind) {
    case K.Enum:
      return enumNames === null ? 'null' : (enumNames!.get(0) ?? '0');
    case K.Int64:
    case K.Uint64:
    case K.Sint64:
    case K.Fixed64:
    case K.Sfixed64:
      return '"0"';
    case K.Bool:
      return 'false';
    case K.String:
    case K.Bytes:
      return '""';
    default:
      return '0';
  }
}
