/**
 * Proto3 JSON text → protobuf binary in one pass, compiled per message type: the request body's
 * bytes are scanned once and the protobuf bytes written as they go, without the lossless parse, the
 * draft (from-json.ts) or protobufjs' writer (encode.ts). Strings are copied as the body's UTF-8 bytes;
 * short integers are read from their digits, so int64/uint64/fixed64 keep every digit.
 *
 * It covers the forms requests carry: JSON and proto field names, scalars from numbers and strings,
 * NaN/Infinity, enum names and numbers, base64 and base64url bytes, null as "not set", oneofs,
 * repeated (packed where proto3 packs), maps, nested messages, Timestamp, Duration and the wrappers.
 * A field of another well-known type (Any, Struct, Value, ListValue, FieldMask, NullValue) is cut out
 * of the text and converted by the general path, field by field.
 *
 * It never reports an error itself: on anything it does not take (malformed JSON, a bad value, an
 * unknown or repeated field, a duplicate key, an escaped key, a lone surrogate escape, nesting past
 * MAX_JSON_NESTING, bytes that are not UTF-8) it gives up and the caller runs the general path on
 * the same body, which answers with its own error (same FERRY code, message and JSON path) or, for
 * the rare form skipped here, the message. So the two can differ only in field order on the wire:
 * fields are written in the order the JSON gives them, which decodes to the same message
 * (test/codec/protojson-json-wire.test.ts checks that on random messages and spellings).
 */
import { isUtf8 } from 'node:buffer';
import type { Enum, Type } from 'protobufjs';
import { LosslessNumber } from 'lossless-json';
import { parseExactJson } from '../exact-json.js';
import { MAX_JSON_NESTING } from '../../exchange/index.js';
import type { Draft, DraftValue, LongLike } from './draft.js';
import type { JsonReader } from './from-json.js';
import type { FieldInfo, TypePlans } from './plan.js';
import { K, KIND, wireOf } from './kinds.js';
import { enumOf, scalarOf } from './scalars.js';
import { durationOf, timestampOf, WKT, WRAPPERS } from './well-known.js';

/**
 * Compiled request encoder: body bytes → message bytes; NO_BODY for a body that is empty or only
 * whitespace (no message at all, which `body: "field"` must tell from `{}`); undefined when the
 * general path must run.
 */
export type JsonWireEncoder = (body: Uint8Array | undefined) => Uint8Array | undefined;

export const NO_BODY: Uint8Array = new Uint8Array(0);

export interface JsonWire {
  /**
   * The encoder of `type`; undefined when `type` itself is a well-known type with its own JSON.
   * Numbers are read as the general path parses the body for `parsedAs` (lossless when it has a
   * 64-bit field): for `body: "field"` that is the request type, not the field's.
   */
  encoder(type: Type, parsedAs?: Type): JsonWireEncoder | undefined;
}

const KIND_NAME = Object.fromEntries(Object.entries(KIND).map(([n, k]) => [k, n])) as Record<number, string>;

const enum Special {
  None,
  Timestamp,
  Duration,
  Wrapper,
  /** Any, Struct, Value, ListValue, FieldMask: converted by the general path. */
  General,
}
function specialOf(fullName: string): Special {
  if (fullName === WKT.timestamp) return Special.Timestamp;
  if (fullName === WKT.duration) return Special.Duration;
  if (WRAPPERS.has(fullName)) return Special.Wrapper;
  if (fullName === WKT.any || fullName === WKT.struct || fullName === WKT.value || fullName === WKT.listValue || fullName === WKT.fieldMask) {
    return Special.General;
  }
  return Special.None;
}

/** Field names (JSON and proto) or enum value names, looked up by the bytes of a JSON string. */
class NameTable<T> {
  private readonly hashes: Int32Array;
  private readonly slots: Int32Array;
  private readonly names: Uint8Array[] = [];
  private readonly values: T[] = [];
  private readonly mask: number;

  constructor(entries: ReadonlyArray<readonly [string, T]>) {
    let size = 8;
    while (size < entries.length * 2) size *= 2;
    this.mask = size - 1;
    this.hashes = new Int32Array(size);
    this.slots = new Int32Array(size); // value index + 1; 0 = empty
    for (const [name, value] of entries) {
      const bytes = Buffer.from(name, 'utf8');
      if (this.find(bytes, 0, bytes.length, hashOf(bytes, 0, bytes.length)) !== undefined) continue;
      this.names.push(bytes);
      this.values.push(value);
      const h = hashOf(bytes, 0, bytes.length);
      let at = h & this.mask;
      while (this.slots[at] !== 0) at = (at + 1) & this.mask;
      this.hashes[at] = h;
      this.slots[at] = this.values.length;
    }
  }

  find(s: Uint8Array, start: number, end: number, h: number): T | undefined {
    let at = h & this.mask;
    for (;;) {
      const slot = this.slots[at]!;
      if (slot === 0) return undefined;
      if (this.hashes[at] === h) {
        const name = this.names[slot - 1]!;
        if (name.length === end - start) {
          let k = 0;
          while (k < name.length && name[k] === s[start + k]) k++;
          if (k === name.length) return this.values[slot - 1];
        }
      }
      at = (at + 1) & this.mask;
    }
  }
}

function hashOf(s: Uint8Array, start: number, end: number): number {
  let h = 0;
  for (let k = start; k < end; k++) h = (Math.imul(h, 31) + s[k]!) | 0;
  return h;
}

interface FieldPlan {
  readonly fi: FieldInfo;
  readonly slot: number;
  readonly kind: K;
  /** Element tag (field number and the element's wire type). */
  readonly tag: number;
  /** Tag of a packed run (repeated scalars and enums). */
  readonly packedTag: number;
  readonly packed: boolean;
  readonly repeated: boolean;
  readonly map: boolean;
  readonly presence: boolean;
  /** Index of the real oneof, or -1. */
  readonly oneof: number;
  /** Converted by the general path (a well-known type with its own JSON, or NullValue). */
  readonly general: boolean;
  readonly keyKind: K;
  readonly keyTag: number;
  readonly valueTag: number;
  readonly enumType: Enum | undefined;
  readonly enumNames: NameTable<number> | undefined;
  readonly messageType: Type | undefined;
  message: MessagePlan | undefined;
}

interface MessagePlan {
  readonly type: Type;
  readonly special: Special;
  readonly fields: readonly FieldPlan[];
  readonly keys: NameTable<FieldPlan>;
  /** The wrapped value's kind (wrappers only). */
  readonly inner: FieldPlan | undefined;
}

/** Thrown to give up on the body (the general path then runs); never leaves this module. */
const GIVE_UP: unknown = Object.freeze({ giveUp: true });
function giveUp(): never {
  throw GIVE_UP;
}

const C_QUOTE = 0x22;
const C_BACKSLASH = 0x5c;
const C_COMMA = 0x2c;
const C_COLON = 0x3a;
const C_LBRACE = 0x7b;
const C_RBRACE = 0x7d;
const C_LBRACKET = 0x5b;
const C_RBRACKET = 0x5d;
const C_MINUS = 0x2d;

const f64 = new Float64Array(1);
const f64b = new Uint8Array(f64.buffer);
const f32 = new Float32Array(1);
const f32b = new Uint8Array(f32.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The output: one growing buffer, with each length prefix of a nested message left out while it is
 * written and inserted by finish() in one copy (no shifting, however deep).
 */
class WireOut {
  buf: Buffer = Buffer.alloc(4096);
  pos = 0;
  private holeAt: number[] = [];
  private holeLen: number[] = [];
  private holeExtra: number[] = [];
  private holes = 0;
  private extra = 0;

  reset(): void {
    this.pos = 0;
    this.holes = 0;
    this.extra = 0;
    if (this.buf.length > 1 << 20) this.buf = Buffer.alloc(4096); // do not keep a big request's buffer
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  varint(v: number): void {
    // v: an unsigned 32-bit value
    this.ensure(5);
    const b = this.buf;
    let p = this.pos;
    while (v > 127) {
      b[p++] = (v & 127) | 128;
      v >>>= 7;
    }
    b[p++] = v;
    this.pos = p;
  }

  /** A varint of the 64-bit value hi:lo (two unsigned 32-bit halves). */
  varint64(lo: number, hi: number): void {
    if (hi === 0) return this.varint(lo >>> 0);
    this.ensure(10);
    const b = this.buf;
    let p = this.pos;
    lo >>>= 0;
    hi >>>= 0;
    while (hi !== 0 || lo > 127) {
      b[p++] = (lo & 127) | 128;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    b[p++] = lo;
    this.pos = p;
  }

  int32(v: number): void {
    if (v >= 0) this.varint(v);
    else this.varint64(v, -1);
  }

  fixed32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    const p = this.pos;
    b[p] = v & 255;
    b[p + 1] = (v >>> 8) & 255;
    b[p + 2] = (v >>> 16) & 255;
    b[p + 3] = (v >>> 24) & 255;
    this.pos = p + 4;
  }

  fixed64(lo: number, hi: number): void {
    this.fixed32(lo);
    this.fixed32(hi);
  }

  double(v: number): void {
    f64[0] = v;
    this.ensure(8);
    if (LITTLE_ENDIAN) this.buf.set(f64b, this.pos);
    else for (let k = 0; k < 8; k++) this.buf[this.pos + k] = f64b[7 - k]!;
    this.pos += 8;
  }

  float(v: number): void {
    f32[0] = v;
    this.ensure(4);
    if (LITTLE_ENDIAN) this.buf.set(f32b, this.pos);
    else for (let k = 0; k < 4; k++) this.buf[this.pos + k] = f32b[3 - k]!;
    this.pos += 4;
  }

  /** Bytes of `src` from start to end, with their length in front. */
  lengthDelimited(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.varint(n);
    this.ensure(n);
    if (n < 32) {
      const b = this.buf;
      let p = this.pos;
      for (let k = start; k < end; k++) b[p++] = src[k]!;
    } else {
      this.buf.set(src.subarray(start, end), this.pos);
    }
    this.pos += n;
  }

  raw(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  /** Starts a length-delimited part whose length is not known yet; returns its handle for close(). */
  open(): number {
    const h = this.holes++;
    this.holeAt[h] = this.pos;
    this.holeExtra[h] = this.extra;
    return h;
  }

  close(h: number): void {
    const len = this.pos - this.holeAt[h]! + (this.extra - this.holeExtra[h]!);
    this.holeLen[h] = len;
    this.extra += varintSize(len);
  }

  /** Undoes everything written since `pos` (with holes opened since). */
  rewind(pos: number, holes: number): void {
    this.pos = pos;
    this.holes = holes;
  }

  get holeCount(): number {
    return this.holes;
  }

  finish(): Uint8Array {
    const out = Buffer.allocUnsafe(this.pos + this.extra);
    const b = this.buf;
    let src = 0;
    let dst = 0;
    for (let h = 0; h < this.holes; h++) {
      const at = this.holeAt[h]!;
      dst = copyBytes(b, src, at, out, dst);
      src = at;
      let v = this.holeLen[h]!;
      while (v > 127) {
        out[dst++] = (v & 127) | 128;
        v >>>= 7;
      }
      out[dst++] = v;
    }
    copyBytes(b, src, this.pos, out, dst);
    return out;
  }
}

/** Copies from[start, end) to `to` at `at` (a loop for short runs: no subarray to allocate); returns the new end. */
function copyBytes(from: Buffer, start: number, end: number, to: Buffer, at: number): number {
  const n = end - start;
  if (n < 48) {
    for (let k = start; k < end; k++) to[at++] = from[k]!;
    return at;
  }
  from.copy(to, at, start, end);
  return at + n;
}

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/**
 * Builds the compiled encoders of one ProtoJson. `reader`/`encode` are the general path, used for
 * the fields this module leaves to it.
 */
export function createJsonWire(plans: TypePlans, reader: JsonReader, encode: (type: Type, draft: Draft) => Uint8Array): JsonWire {
  const { info, needsLossless } = plans;
  const cache = new Map<Type, MessagePlan>();
  const encoders = new Map<string, JsonWireEncoder | undefined>();
  const out = new WireOut();

  function planOf(type: Type): MessagePlan {
    let plan = cache.get(type);
    if (plan !== undefined) return plan;
    const ti = info(type);
    const oneofs: string[] = [];
    const fields = ti.fields.map((fi, slot) => fieldPlan(fi, slot, oneofs));
    const keys: Array<[string, FieldPlan]> = [];
    for (const f of fields) keys.push([f.fi.jsonName, f], [f.fi.name, f]);
    const special = specialOf(ti.fullName);
    plan = { type, special, fields, keys: new NameTable(keys), inner: special === Special.Wrapper ? fields[0] : undefined };
    cache.set(type, plan);
    return plan;
  }

  function fieldPlan(fi: FieldInfo, slot: number, oneofs: string[]): FieldPlan {
    const kind: K | undefined = fi.messageType !== undefined ? K.Message : fi.enumType !== undefined ? K.Enum : KIND[fi.kind];
    if (kind === undefined) throw new Error(`unsupported field type ${fi.kind}`);
    let oneof = -1;
    if (fi.oneof !== undefined) {
      oneof = oneofs.indexOf(fi.oneof);
      if (oneof < 0) oneof = oneofs.push(fi.oneof) - 1;
    }
    const general =
      (fi.messageType !== undefined && specialOf(fi.refName!) === Special.General) || (fi.enumType !== undefined && fi.refName === WKT.nullValue);
    const packed = fi.repeated && kind !== K.String && kind !== K.Bytes && kind !== K.Message;
    const keyKind = fi.keyType !== undefined ? KIND[fi.keyType]! : K.String;
    const elementWire = wireOf(kind);
    return {
      fi,
      slot,
      kind,
      tag: ((fi.id << 3) | (fi.map ? 2 : elementWire)) >>> 0,
      packedTag: ((fi.id << 3) | 2) >>> 0,
      packed,
      repeated: fi.repeated,
      map: fi.map,
      presence: fi.presence,
      oneof,
      general,
      keyKind,
      keyTag: (1 << 3) | wireOf(keyKind),
      valueTag: (2 << 3) | elementWire,
      enumType: fi.enumType,
      enumNames: fi.enumType !== undefined ? new NameTable(Object.entries(fi.enumType.values)) : undefined,
      messageType: fi.messageType,
      message: undefined,
    };
  }

  // ------------------------------------------------------------ scanning state (one body at a time)
  let s: Uint8Array = new Uint8Array(0);
  let i = 0;
  let end = 0;
  let depth = 0;
  let lossless = false;
  /** Set by readNumberToken: the value of a plain integer of at most 15 digits, else NaN. */
  let tokenInt = NaN;
  /**
   * Set by readNumberToken: the value of a decimal without exponent of at most 15 digits, exactly as
   * Number() reads it (digits and 10^k are exact doubles, so one division rounds correctly), else NaN.
   */
  let tokenDecimal = NaN;
  let tokenStart = 0;
  /** Set by readStringToken: content bounds and whether it holds an escape. */
  let strStart = 0;
  let strEnd = 0;
  let strEscaped = false;

  function ws(): void {
    while (i < end) {
      const c = s[i]!;
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else return;
    }
  }

  function expect(c: number): void {
    if (s[i] !== c) giveUp();
    i++;
  }

  /**
   * At `open` (else give up): enters one nesting level and steps inside. False when the container
   * is empty: then it is already closed and the level left again.
   */
  function openContainer(open: number, close: number): boolean {
    if (s[i] !== open) giveUp();
    enter();
    i++;
    ws();
    if (s[i] !== close) return true;
    i++;
    depth--;
    return false;
  }

  /** After a member: true past a comma (another member follows), false past `close`. */
  function nextMember(close: number): boolean {
    ws();
    const c = s[i];
    if (c === C_COMMA) {
      i++;
      ws();
      return true;
    }
    if (c !== close) giveUp();
    i++;
    return false;
  }

  function enter(): void {
    if (++depth > MAX_JSON_NESTING) giveUp();
  }

  /** At a `"`: scans the string, leaving its content bounds in strStart/strEnd. */
  function readStringToken(): void {
    if (s[i] !== C_QUOTE) giveUp();
    const start = ++i;
    let escaped = false;
    for (;;) {
      if (i >= end) giveUp();
      const c = s[i]!;
      if (c === C_QUOTE) break;
      if (c < 0x20) giveUp();
      if (c === C_BACKSLASH) {
        escaped = true;
        i++;
        const e = s[i];
        if (e === 0x75 /* u */) {
          // \uXXXX; a surrogate must be the high half of a pair, the low half right after it: a lone
          // one is left to the general path (it is not UTF-8)
          const half = surrogateHalf(i + 1);
          if (half === 2) giveUp();
          if (half === 1) {
            if (s[i + 5] !== C_BACKSLASH || s[i + 6] !== 0x75 || surrogateHalf(i + 7) !== 2) giveUp();
            i += 6;
          }
          i += 4;
        } else if (e === undefined) giveUp();
      }
      i++;
    }
    strStart = start;
    strEnd = i;
    strEscaped = escaped;
    i++;
  }

  /** At the 4 hex digits of a \u escape: 0 for no surrogate, 1 for a high half (D800–DBFF), 2 for a low one (DC00–DFFF). */
  function surrogateHalf(at: number): number {
    const d = s[at];
    if (d !== 0x64 && d !== 0x44) return 0;
    const x = s[at + 1] ?? 0;
    if (x === 0x38 || x === 0x39 || x === 0x61 || x === 0x62 || x === 0x41 || x === 0x42) return 1; // 8 9 a b A B
    if ((x >= 0x63 && x <= 0x66) || (x >= 0x43 && x <= 0x46)) return 2; // c-f C-F
    return 0;
  }

  /** The string just scanned, as JavaScript text (JSON.parse does the unescaping and refuses bad escapes). */
  function stringText(): string {
    const b = s as Buffer;
    if (!strEscaped) return b.toString('utf8', strStart, strEnd);
    try {
      return JSON.parse(b.toString('utf8', strStart - 1, strEnd + 1)) as string;
    } catch {
      return giveUp();
    }
  }

  /** At a number: scans it by JSON's grammar; tokenInt holds a plain short integer's value. */
  function readNumberToken(): void {
    tokenStart = i;
    let neg = false;
    if (s[i] === C_MINUS) {
      neg = true;
      i++;
    }
    const digitsStart = i;
    let c = s[i] ?? 0;
    if (c === 0x30) i++;
    else if (c >= 0x31 && c <= 0x39) {
      while (i < end && (c = s[i]!) >= 0x30 && c <= 0x39) i++;
    } else giveUp();
    let plain = i - digitsStart <= 15;
    let fraction = -1;
    let exponent = -1;
    c = s[i] ?? 0;
    if (c === 0x2e) {
      plain = false;
      fraction = i;
      i++;
      const f = i;
      while (i < end && (c = s[i]!) >= 0x30 && c <= 0x39) i++;
      if (i === f) giveUp();
      c = s[i] ?? 0;
    }
    if (c === 0x65 || c === 0x45) {
      plain = false;
      exponent = i;
      i++;
      c = s[i] ?? 0;
      if (c === 0x2b || c === C_MINUS) i++;
      const e = i;
      while (i < end && (c = s[i]!) >= 0x30 && c <= 0x39) i++;
      if (i === e) giveUp();
    }
    if (plain) {
      let n = 0;
      for (let k = digitsStart; k < i; k++) n = n * 10 + (s[k]! - 0x30);
      tokenInt = neg ? -n : n;
      tokenDecimal = tokenInt;
    } else {
      tokenInt = NaN;
      tokenDecimal = fraction > 0 && exponent < 0 && i - digitsStart - 1 <= 15 ? decimalAt(digitsStart, fraction, i, neg) : NaN;
    }
  }

  /** digits[start, dot) '.' digits(dot, stop): the mantissa over 10^(fraction digits). */
  function decimalAt(start: number, dot: number, stop: number, neg: boolean): number {
    let m = 0;
    for (let k = start; k < stop; k++) if (k !== dot) m = m * 10 + (s[k]! - 0x30);
    const v = m / POW10[stop - dot - 1]!;
    return neg ? -v : v;
  }

  function numberText(): string {
    return (s as Buffer).toString('latin1', tokenStart, i);
  }

  /** The number just scanned as the general path's parser would have given it. */
  function numberValue(): unknown {
    const text = numberText();
    return lossless ? new LosslessNumber(text) : Number(text);
  }

  function literal(word: string): void {
    for (let k = 0; k < word.length; k++) if (s[i + k] !== word.charCodeAt(k)) giveUp();
    i += word.length;
  }

  /** Skips one JSON value (checking its grammar and nesting); returns where it started. */
  function skipValue(): number {
    const start = i;
    const c = s[i];
    if (c === C_QUOTE) readStringToken();
    else if (c === C_LBRACE || c === C_LBRACKET) {
      const close = c === C_LBRACE ? C_RBRACE : C_RBRACKET;
      enter();
      i++;
      ws();
      if (s[i] === close) i++;
      else {
        for (;;) {
          if (close === C_RBRACE) {
            readStringToken();
            ws();
            expect(C_COLON);
            ws();
          }
          skipValue();
          ws();
          if (s[i] === C_COMMA) {
            i++;
            ws();
          } else break;
        }
        expect(close);
      }
      depth--;
    } else if (c === 0x74) literal('true');
    else if (c === 0x66) literal('false');
    else if (c === 0x6e) literal('null');
    else readNumberToken();
    return start;
  }

  // ------------------------------------------------------------ values

  /** A scalar or enum value at i, converted to what the draft would hold (the general path's own rules). */
  function slowValue(fp: FieldPlan, k: K, text?: string): DraftValue {
    const c = s[i];
    let v: unknown;
    if (text !== undefined) v = text;
    else if (c === C_QUOTE) {
      readStringToken();
      v = stringText();
    } else if (c === 0x74) {
      literal('true');
      v = true;
    } else if (c === 0x66) {
      literal('false');
      v = false;
    } else {
      readNumberToken();
      v = numberValue();
    }
    let dv: DraftValue;
    try {
      dv = k === K.Enum ? enumOf(fp.enumType!, v, '') : scalarOf(KIND_NAME[k]!, v, '');
    } catch {
      return giveUp();
    }
    if (k === K.Enum && typeof dv !== 'number') giveUp();
    return dv;
  }

  function longOf(dv: DraftValue): LongLike {
    return dv as LongLike;
  }

  /**
   * Reads one scalar or enum element at i and writes it (with `tag` first unless 0). With `omitDefault`,
   * a proto3 default (0, false, "", empty bytes; not -0) is not written. Returns nothing.
   */
  function scalarElement(fp: FieldPlan, k: K, tag: number, omitDefault: boolean): void {
    const w = out;
    const c = s[i];
    switch (k) {
      case K.String: {
        readStringToken();
        if (!strEscaped) {
          if (omitDefault && strEnd === strStart) return;
          if (tag !== 0) w.varint(tag);
          w.lengthDelimited(s, strStart, strEnd);
        } else {
          const bytes = Buffer.from(stringText(), 'utf8');
          if (omitDefault && bytes.length === 0) return;
          if (tag !== 0) w.varint(tag);
          w.lengthDelimited(bytes, 0, bytes.length);
        }
        return;
      }
      case K.Bool: {
        let v: boolean;
        if (c === 0x74) {
          literal('true');
          v = true;
        } else {
          literal('false');
          v = false;
        }
        if (omitDefault && !v) return;
        if (tag !== 0) w.varint(tag);
        w.varint(v ? 1 : 0);
        return;
      }
      case K.Bytes: {
        const dv = slowValue(fp, k) as Uint8Array;
        if (omitDefault && dv.length === 0) return;
        if (tag !== 0) w.varint(tag);
        w.lengthDelimited(dv, 0, dv.length);
        return;
      }
      case K.Double:
      case K.Float: {
        let v: number;
        if (c !== C_QUOTE && c !== 0x74 && c !== 0x66) {
          readNumberToken();
          v = tokenDecimal === tokenDecimal ? tokenDecimal : Number(numberText());
          if (!Number.isFinite(v) || (k === K.Float && !Number.isFinite(Math.fround(v)))) giveUp();
        } else v = slowValue(fp, k) as number;
        if (omitDefault && v === 0 && !Object.is(v, -0)) return;
        if (tag !== 0) w.varint(tag);
        if (k === K.Double) w.double(v);
        else w.float(v);
        return;
      }
      case K.Enum: {
        let v: number;
        if (c === C_QUOTE) {
          readStringToken();
          const n = strEscaped ? undefined : fp.enumNames!.find(s, strStart, strEnd, hashOf(s, strStart, strEnd));
          if (n !== undefined) v = n;
          else v = slowValue(fp, k, stringText()) as number;
        } else {
          const at = i;
          readNumberToken();
          if (tokenInt === tokenInt && tokenInt >= -2147483648 && tokenInt <= 2147483647) v = tokenInt;
          else {
            i = at;
            v = slowValue(fp, k) as number;
          }
        }
        if (omitDefault && v === 0) return;
        if (tag !== 0) w.varint(tag);
        w.int32(v);
        return;
      }
      default:
        integerElement(fp, k, tag, omitDefault);
    }
  }

  /** The integer kinds: from a number or a string of digits; short ones without leaving the bytes. */
  function integerElement(fp: FieldPlan, k: K, tag: number, omitDefault: boolean): void {
    const w = out;
    const at = i;
    let n = NaN;
    if (s[i] === C_QUOTE) {
      readStringToken();
      if (!strEscaped && strEnd > strStart && strEnd - strStart <= 15) {
        let p = strStart;
        const neg = s[p] === C_MINUS;
        if (neg) p++;
        if (p < strEnd) {
          let v = 0;
          for (; p < strEnd; p++) {
            const d = s[p]! - 0x30;
            if (d < 0 || d > 9) break;
            v = v * 10 + d;
          }
          if (p === strEnd) n = neg ? -v : v;
        }
      }
    } else if (s[i] !== 0x74 && s[i] !== 0x66) {
      readNumberToken();
      n = tokenInt;
    }
    let lo: number;
    let hi: number;
    if (n === n && inRange(k, n)) {
      if (omitDefault && n === 0) return;
      lo = n >>> 0;
      // two's complement of a negative n: 2^64 - |n|
      hi = n >= 0 ? Math.floor(n / 4294967296) : (4294967296 - Math.ceil(-n / 4294967296)) >>> 0;
    } else {
      i = at;
      const dv = slowValue(fp, k);
      if (typeof dv === 'number') {
        n = dv;
        if (omitDefault && n === 0) return;
        lo = n >>> 0;
        hi = n < 0 ? -1 : 0;
      } else {
        const l = longOf(dv);
        if (omitDefault && l.low === 0 && l.high === 0) return;
        lo = l.low >>> 0;
        hi = l.high >>> 0;
      }
    }
    if (tag !== 0) w.varint(tag);
    switch (k) {
      case K.Int32:
        w.int32(lo | 0);
        return;
      case K.Uint32:
        w.varint(lo);
        return;
      case K.Sint32:
        w.varint((((lo | 0) << 1) ^ ((lo | 0) >> 31)) >>> 0);
        return;
      case K.Fixed32:
      case K.Sfixed32:
        w.fixed32(lo);
        return;
      case K.Int64:
      case K.Uint64:
        w.varint64(lo, hi);
        return;
      case K.Sint64: {
        // zigzag: (n << 1) ^ (n >> 63)
        const sign = (hi | 0) >> 31;
        const zhi = (((hi << 1) | (lo >>> 31)) ^ sign) >>> 0;
        const zlo = ((lo << 1) ^ sign) >>> 0;
        w.varint64(zlo, zhi);
        return;
      }
      default:
        w.fixed64(lo, hi);
    }
  }

  function inRange(k: K, n: number): boolean {
    switch (k) {
      case K.Int32:
      case K.Sint32:
      case K.Sfixed32:
        return n >= -2147483648 && n <= 2147483647;
      case K.Uint32:
      case K.Fixed32:
        return n >= 0 && n <= 4294967295;
      case K.Uint64:
      case K.Fixed64:
        return n >= 0;
      default:
        return true; // |n| < 10^15 fits int64
    }
  }

  /** One element of a message field (singular, repeated or map value): tag, length, the message. */
  function messageElement(fp: FieldPlan, tag: number): void {
    const mp = (fp.message ??= planOf(fp.messageType!));
    out.varint(tag);
    const h = out.open();
    messageBody(mp);
    out.close(h);
  }

  /** The JSON value of a message (an object, or a well-known type's own form) → its fields. */
  function messageBody(mp: MessagePlan): void {
    switch (mp.special) {
      case Special.None:
        return objectBody(mp);
      case Special.Wrapper:
        return scalarElement(mp.inner!, mp.inner!.kind, mp.inner!.tag, true);
      case Special.Timestamp:
      case Special.Duration: {
        readStringToken();
        let d: Draft;
        try {
          d = mp.special === Special.Timestamp ? timestampOf(stringText(), '') : durationOf(stringText(), '');
        } catch {
          return giveUp();
        }
        const secs = d['seconds'] as LongLike | undefined;
        if (secs !== undefined) {
          out.varint(0x08);
          out.varint64(secs.low >>> 0, secs.high >>> 0);
        }
        const nanos = d['nanos'] as number | undefined;
        if (nanos !== undefined) {
          out.varint(0x10);
          out.int32(nanos);
        }
        return;
      }
      default:
        return giveUp(); // not reached: such fields are general
    }
  }

  function objectBody(mp: MessagePlan): void {
    if (!openContainer(C_LBRACE, C_RBRACE)) return;
    const many = mp.fields.length > 32;
    let seen = 0;
    const seenMany = many ? new Uint8Array(mp.fields.length) : undefined;
    let oneofs = 0;
    for (;;) {
      if (s[i] !== C_QUOTE) giveUp();
      const ks = i + 1;
      let h = 0;
      let k = ks;
      for (;;) {
        if (k >= end) giveUp();
        const c = s[k]!;
        if (c === C_QUOTE) break;
        if (c === C_BACKSLASH || c < 0x20) giveUp(); // an escaped key: the general path
        h = (Math.imul(h, 31) + c) | 0;
        k++;
      }
      const fp = mp.keys.find(s, ks, k, h);
      if (fp === undefined) giveUp(); // unknown field
      i = k + 1;
      ws();
      expect(C_COLON);
      ws();
      if (many) {
        if (seenMany![fp.slot] !== 0) giveUp();
        seenMany![fp.slot] = 1;
      } else {
        const bit = 1 << fp.slot;
        if ((seen & bit) !== 0) giveUp(); // the field again (either spelling): the general path decides
        seen |= bit;
      }
      if (fp.general) {
        oneofs = generalField(mp, fp, oneofs);
      } else if (s[i] === 0x6e) {
        literal('null'); // not set
      } else {
        if (fp.oneof >= 0) {
          if (fp.oneof > 30) giveUp();
          const bit = 1 << fp.oneof;
          if ((oneofs & bit) !== 0) giveUp();
          oneofs |= bit;
        }
        if (fp.map) mapField(fp);
        else if (fp.repeated) repeatedField(fp);
        else if (fp.kind === K.Message) messageElement(fp, fp.tag);
        else scalarElement(fp, fp.kind, fp.tag, !fp.presence);
      }
      if (!nextMember(C_RBRACE)) break;
    }
    depth--;
  }

  function repeatedField(fp: FieldPlan): void {
    if (!openContainer(C_LBRACKET, C_RBRACKET)) return;
    let h = -1;
    if (fp.packed) {
      out.varint(fp.packedTag);
      h = out.open();
    }
    for (;;) {
      if (s[i] === 0x6e) giveUp(); // null elements: the general path refuses them
      if (fp.kind === K.Message) messageElement(fp, fp.tag);
      else scalarElement(fp, fp.kind, fp.packed ? 0 : fp.tag, false);
      if (!nextMember(C_RBRACKET)) break;
    }
    if (h >= 0) out.close(h);
    depth--;
  }

  function mapField(fp: FieldPlan): void {
    if (!openContainer(C_LBRACE, C_RBRACE)) return;
    const keys = new Set<string>();
    for (;;) {
      readStringToken();
      const key = stringText();
      // A key given twice: the parsers differ (lossless-json refuses it, JSON.parse keeps the last).
      if (keys.has(key) || key === '__proto__') giveUp();
      keys.add(key);
      ws();
      expect(C_COLON);
      ws();
      if (s[i] === 0x6e) giveUp(); // a null map value: refused by the general path
      out.varint(fp.tag);
      const h = out.open();
      mapKey(fp, key);
      if (fp.kind === K.Message) messageElement(fp, fp.valueTag);
      else scalarElement(fp, fp.kind, fp.valueTag, false);
      out.close(h);
      if (!nextMember(C_RBRACE)) break;
    }
    depth--;
  }

  function mapKey(fp: FieldPlan, key: string): void {
    const k = fp.keyKind;
    if (k === K.String) {
      out.varint(fp.keyTag);
      if (strEscaped) {
        const b = Buffer.from(key, 'utf8');
        out.lengthDelimited(b, 0, b.length);
      } else out.lengthDelimited(s, strStart, strEnd);
      return;
    }
    let dv: DraftValue;
    if (k === K.Bool) {
      if (key !== 'true' && key !== 'false') giveUp();
      dv = key === 'true';
    } else {
      if (!/^-?\d+$/.test(key)) giveUp();
      try {
        dv = scalarOf(KIND_NAME[k]!, key, '');
      } catch {
        return giveUp();
      }
    }
    out.varint(fp.keyTag);
    writeDraftScalar(k, dv);
  }

  /** A converted scalar (number, boolean or Long) in the wire form of `k`, without tag. */
  function writeDraftScalar(k: K, dv: DraftValue): void {
    if (typeof dv === 'boolean') return out.varint(dv ? 1 : 0);
    let lo: number;
    let hi: number;
    if (typeof dv === 'number') {
      lo = dv >>> 0;
      hi = dv < 0 ? -1 : 0;
    } else {
      const l = dv as LongLike;
      lo = l.low >>> 0;
      hi = l.high >>> 0;
    }
    switch (k) {
      case K.Int32:
        return out.int32(lo | 0);
      case K.Uint32:
        return out.varint(lo);
      case K.Sint32:
        return out.varint((((lo | 0) << 1) ^ ((lo | 0) >> 31)) >>> 0);
      case K.Fixed32:
      case K.Sfixed32:
        return out.fixed32(lo);
      case K.Int64:
      case K.Uint64:
        return out.varint64(lo, hi);
      case K.Sint64: {
        const sign = (hi | 0) >> 31;
        return out.varint64(((lo << 1) ^ sign) >>> 0, (((hi << 1) | (lo >>> 31)) ^ sign) >>> 0);
      }
      default:
        return out.fixed64(lo, hi);
    }
  }

  /** A field of a well-known type with its own JSON: its text through the general path. */
  function generalField(mp: MessagePlan, fp: FieldPlan, oneofs: number): number {
    const start = skipValue();
    const text = (s as Buffer).toString('utf8', start, i);
    let dv: DraftValue | undefined;
    try {
      const value: unknown = lossless ? parseExactJson(text) : JSON.parse(text);
      dv = reader.fieldValueOf(fp.fi, value, '');
    } catch {
      return giveUp();
    }
    if (dv === undefined) return oneofs;
    if (fp.oneof >= 0) {
      if (fp.oneof > 30) giveUp();
      const bit = 1 << fp.oneof;
      if ((oneofs & bit) !== 0) giveUp();
      oneofs |= bit;
    }
    if (!fp.presence && !fp.repeated && !fp.map && dv === 0) return oneofs; // NullValue's default
    out.raw(encode(mp.type, { [fp.fi.name]: dv }));
    return oneofs;
  }

  function run(mp: MessagePlan, losslessNumbers: boolean, body: Uint8Array | undefined): Uint8Array | undefined {
    if (body === undefined || body.length === 0) return NO_BODY;
    if (!isUtf8(body)) return undefined;
    s = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.length);
    i = 0;
    end = body.length;
    depth = 0;
    lossless = losslessNumbers;
    out.reset();
    try {
      ws();
      if (i === end) return NO_BODY;
      objectBody(mp);
      ws();
      if (i !== end) return undefined;
      return out.finish();
    } catch {
      // GIVE_UP, or anything unforeseen: the general path answers
      return undefined;
    } finally {
      s = EMPTY;
    }
  }

  return {
    encoder(type, parsedAs = type) {
      const key = `${info(type).fullName} ${info(parsedAs).fullName}`;
      if (encoders.has(key)) return encoders.get(key);
      const mp = planOf(type);
      const losslessNumbers = needsLossless(parsedAs);
      const enc: JsonWireEncoder | undefined = mp.special === Special.None ? (body) => run(mp, losslessNumbers, body) : undefined;
      encoders.set(key, enc);
      return enc;
    },
  };
}

const EMPTY = new Uint8Array(0);
/** 10^0 … 10^22, each an exact double (built by multiplying: every step is exact). */
const POW10: number[] = [1];
for (let k = 1; k <= 22; k++) POW10.push(POW10[k - 1]! * 10);
