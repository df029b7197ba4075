/**
 * A Hessian 2 decoder for one Dubbo body: one shared context (class definitions, type strings and
 * value references) over several top-level values. It produces a neutral tree that keeps what JSON
 * would lose: ints are numbers, longs are bigints, dates are JavaDate, typed objects are JavaObject
 * with their class name, maps are JavaMap (keys as decoded). Malformed or truncated input throws
 * HessianDecodeError, never a bare TypeError, and nesting deeper than `maxDepth` is refused.
 */
import { FerryError } from '../../errors/index.js';
import { DECODE_CHECK_EVERY, DecodeDeadlineError, NO_DEADLINE, pastDeadline } from '../decode-deadline.js';
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_NODES } from './constants.js';
import { decodeJavaUtf, type JavaUtfEnd } from './java-utf.js';

/** The bytes are not valid Hessian 2 (or use a form Ferry does not read). */
export class HessianDecodeError extends FerryError {
  readonly offset: number;
  /** True when the data may be well-formed but is over a decode budget (values per reply). */
  readonly overBudget: boolean;
  constructor(message: string, offset: number, overBudget = false) {
    super(
      'FERRY_UPSTREAM_PROTOCOL_ERROR',
      overBudget ? `Hessian data over budget at byte ${offset}: ${message}.` : `Malformed Hessian data at byte ${offset}: ${message}.`,
    );
    this.name = 'HessianDecodeError';
    this.offset = offset;
    this.overBudget = overBudget;
  }
}

/** A java.util.Date, as milliseconds since the epoch (UTC). */
export class JavaDate {
  constructor(readonly ms: number) {}
}

/** An object with a class definition: its Java class name and its fields by name, in wire order. */
export class JavaObject {
  constructor(
    readonly className: string,
    readonly fields: Record<string, unknown>,
  ) {}
}

/** A Hessian map. `javaType` is the `M` type string (e.g. `java.util.LinkedHashMap`), or null for `H`. */
export class JavaMap extends Map<unknown, unknown> {
  javaType: string | null = null;
}

/** Symbol under which a typed list keeps its Hessian type string (`[int`, `java.util.HashSet`, ...). */
export const LIST_TYPE: unique symbol = Symbol('ferry.hessian.listType');

/** A decoded list: a plain array, with the wire type under LIST_TYPE when the list was typed. */
export type JavaList = unknown[] & { [LIST_TYPE]?: string };

/** Everything the reader can produce. */
export type HessianValue = null | boolean | number | bigint | string | Buffer | JavaDate | JavaObject | JavaMap | JavaList;

export interface HessianReaderOptions {
  /** Deepest nesting of lists, maps and objects accepted (default MAX_JSON_NESTING, the request limit too). */
  maxDepth?: number;
  /** Most values read (each scalar, list, map and object counts one; default DEFAULT_MAX_NODES): decode work stays linear and bounded. */
  maxValues?: number;
  /** The route's deadline (performance.now() ms): past it, reading stops with DecodeDeadlineError (decode-deadline.ts). */
  deadline?: number;
}

interface ClassDef {
  readonly name: string;
  readonly fields: readonly string[];
}

export class HessianReader {
  private pos: number;
  private readonly utfEnd: JavaUtfEnd = { next: 0, bad: -1 };
  private readonly end: number;
  private readonly refs: unknown[] = [];
  private readonly defs: ClassDef[] = [];
  private readonly types: string[] = [];
  private depth = 0;
  private readonly maxDepth: number;
  private valuesLeft: number;
  private valueLimit: number;
  /** Values read under earlier limits (limitValues), for the count a deadline error gives. */
  private valuesBefore = 0;
  private readonly deadline: number;
  /** `valuesLeft` below this: over budget (when below 0) or time to look at the clock (decode-deadline.ts). */
  private checkAt: number;

  constructor(
    private readonly buf: Buffer,
    opts: HessianReaderOptions = {},
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
    this.maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.valueLimit = opts.maxValues ?? DEFAULT_MAX_NODES;
    this.valuesLeft = this.valueLimit;
    this.deadline = opts.deadline ?? NO_DEADLINE;
    this.checkAt = this.nextCheck();
  }

  /** Lowers the values still allowed to at most `n` (e.g. for a reply's attachments). */
  limitValues(n: number): void {
    if (n < this.valuesLeft) {
      this.valuesBefore += this.valueLimit - this.valuesLeft;
      this.valuesLeft = n;
      this.valueLimit = n;
      this.checkAt = this.nextCheck();
    }
  }

  private nextCheck(): number {
    return this.deadline === NO_DEADLINE ? 0 : Math.max(0, this.valuesLeft - DECODE_CHECK_EVERY);
  }

  /** The slow branch of the value count: over budget, or the clock's turn. */
  private checkpoint(at: number): void {
    if (this.valuesLeft < 0) throw new HessianDecodeError(`more than ${this.valueLimit} values`, at, true);
    if (pastDeadline(this.deadline)) throw new DecodeDeadlineError(this.valuesBefore + this.valueLimit - this.valuesLeft);
    this.checkAt = this.nextCheck();
  }

  /** Byte offset of the next value. */
  get offset(): number {
    return this.pos;
  }

  /** True while unread bytes remain. */
  hasMore(): boolean {
    return this.pos < this.end;
  }

  private fail(msg: string, at = this.pos): never {
    throw new HessianDecodeError(msg, at);
  }

  private need(n: number): void {
    if (this.pos + n > this.end) this.fail(`the data ends ${this.pos + n - this.end} byte(s) too early`);
  }

  private byte(): number {
    if (this.pos >= this.end) this.fail('the data ends too early');
    return this.buf[this.pos++] as number;
  }

  /** Reads the next value. */
  read(): HessianValue {
    // Class definitions precede the object that uses them; a loop (not recursion) skips them.
    while (this.pos < this.end && this.buf[this.pos] === 0x43) {
      this.pos++;
      this.readClassDef();
    }
    const at = this.pos;
    if (--this.valuesLeft < this.checkAt) this.checkpoint(at);
    const code = this.byte();
    const b = this.buf;
    // Small codes first: compact ints and strings are the most frequent values.
    if (code >= 0x80 && code <= 0xbf) return code - 0x90;
    if (code <= 0x1f) return this.readUtf(code);
    if (code >= 0xc0 && code <= 0xcf) {
      this.need(1);
      return ((code - 0xc8) << 8) + (b[this.pos++] as number);
    }
    if (code >= 0xd0 && code <= 0xd7) {
      this.need(2);
      const v = ((code - 0xd4) << 16) + ((b[this.pos] as number) << 8) + (b[this.pos + 1] as number);
      this.pos += 2;
      return v;
    }
    if (code >= 0xd8 && code <= 0xef) return BigInt(code - 0xe0);
    if (code >= 0xf0) {
      this.need(1);
      return BigInt(((code - 0xf8) << 8) + (b[this.pos++] as number));
    }
    if (code >= 0x60 && code <= 0x6f) return this.readInstance(code - 0x60, at);
    if (code >= 0x70 && code <= 0x77) return this.readFixedList(this.readType(), code - 0x70, at);
    if (code >= 0x78 && code <= 0x7f) return this.readFixedList(null, code - 0x78, at);
    if (code >= 0x20 && code <= 0x2f) return this.readBytesN(code - 0x20);
    if (code >= 0x30 && code <= 0x33) {
      this.need(1);
      return this.readUtf(((code - 0x30) << 8) + (b[this.pos++] as number));
    }
    if (code >= 0x34 && code <= 0x37) {
      this.need(1);
      return this.readBytesN(((code - 0x34) << 8) + (b[this.pos++] as number));
    }
    if (code >= 0x38 && code <= 0x3f) {
      this.need(2);
      const v = ((code - 0x3c) << 16) + ((b[this.pos] as number) << 8) + (b[this.pos + 1] as number);
      this.pos += 2;
      return BigInt(v);
    }
    switch (code) {
      case 0x4e:
        return null;
      case 0x54:
        return true;
      case 0x46:
        return false;
      case 0x49: {
        this.need(4);
        const v = b.readInt32BE(this.pos);
        this.pos += 4;
        return v;
      }
      case 0x59: {
        this.need(4);
        const v = b.readInt32BE(this.pos);
        this.pos += 4;
        return BigInt(v);
      }
      case 0x4c: {
        this.need(8);
        const v = b.readBigInt64BE(this.pos);
        this.pos += 8;
        return v;
      }
      case 0x5b:
        return 0;
      case 0x5c:
        return 1;
      case 0x5d: {
        this.need(1);
        return b.readInt8(this.pos++);
      }
      case 0x5e: {
        this.need(2);
        const v = b.readInt16BE(this.pos);
        this.pos += 2;
        return v;
      }
      case 0x5f: {
        this.need(4);
        const v = b.readInt32BE(this.pos);
        this.pos += 4;
        return v * 0.001;
      }
      case 0x44: {
        this.need(8);
        const v = b.readDoubleBE(this.pos);
        this.pos += 8;
        return v;
      }
      case 0x4a: {
        this.need(8);
        const v = b.readInt32BE(this.pos) * 4294967296 + b.readUInt32BE(this.pos + 4);
        this.pos += 8;
        return new JavaDate(v);
      }
      case 0x4b: {
        this.need(4);
        const v = b.readInt32BE(this.pos) * 60000;
        this.pos += 4;
        return new JavaDate(v);
      }
      case 0x52:
      case 0x53:
        return this.readChunkedString(code);
      case 0x41:
      case 0x42:
        return this.readChunkedBytes(code);
      case 0x48:
        return this.readMap(null, at);
      case 0x4d:
        return this.readMap(this.readType(), at);
      case 0x55:
        return this.readVarList(this.readType(), at);
      case 0x57:
        return this.readVarList(null, at);
      case 0x56: {
        const type = this.readType();
        return this.readFixedList(type, this.readLength(), at);
      }
      case 0x58:
        return this.readFixedList(null, this.readLength(), at);
      case 0x4f:
        return this.readInstance(this.readIntValue(), at);
      case 0x51: {
        const i = this.readIntValue();
        if (i < 0 || i >= this.refs.length) this.fail(`reference ${i} points to nothing (${this.refs.length} known)`, at);
        return this.refs[i] as HessianValue;
      }
      default:
        return this.fail(`unexpected byte 0x${code.toString(16).padStart(2, '0')}`, at);
    }
  }

  /** Reads a value that must be an int (lengths, indexes, field counts). */
  private readIntValue(): number {
    const at = this.pos;
    const v = this.read();
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail('expected an int', at);
    return v;
  }

  private readLength(): number {
    const at = this.pos;
    const n = this.readIntValue();
    if (n < 0) this.fail(`negative length ${n}`, at);
    return n;
  }

  /** A type: a string (added to the type table) or an int index into it. */
  private readType(): string {
    const at = this.pos;
    const v = this.read();
    if (typeof v === 'string') {
      this.types.push(v);
      return v;
    }
    if (typeof v === 'number' && Number.isInteger(v)) {
      const t = this.types[v];
      if (t === undefined) this.fail(`type reference ${v} points to nothing`, at);
      return t;
    }
    return this.fail('expected a type string or type reference', at);
  }

  private readClassDef(): void {
    const at = this.pos;
    const name = this.read();
    if (typeof name !== 'string') this.fail('a class definition must start with a class name', at);
    const n = this.readLength();
    const fields: string[] = [];
    for (let i = 0; i < n; i++) {
      const fat = this.pos;
      const f = this.read();
      if (typeof f !== 'string') this.fail('a class definition field name must be a string', fat);
      fields.push(f);
    }
    this.defs.push({ name, fields });
  }

  private enter(at: number): void {
    if (++this.depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`, at);
  }

  private readInstance(index: number, at: number): JavaObject {
    const def = this.defs[index];
    if (def === undefined) this.fail(`object uses class definition ${index}, which was never defined`, at);
    this.enter(at);
    const fields: Record<string, unknown> = {};
    const obj = new JavaObject(def.name, fields);
    this.refs.push(obj);
    const names = def.fields;
    for (let i = 0; i < names.length; i++) fields[names[i] as string] = this.read();
    this.depth--;
    return obj;
  }

  private readFixedList(type: string | null, length: number, at: number): JavaList {
    if (length > this.end - this.pos) this.fail(`a list claims ${length} items but only ${this.end - this.pos} bytes remain`, at);
    this.enter(at);
    const list: JavaList = new Array<unknown>(length);
    if (type !== null) list[LIST_TYPE] = type;
    this.refs.push(list);
    for (let i = 0; i < length; i++) list[i] = this.read();
    this.depth--;
    return list;
  }

  private readVarList(type: string | null, at: number): JavaList {
    this.enter(at);
    const list: JavaList = [];
    if (type !== null) list[LIST_TYPE] = type;
    this.refs.push(list);
    for (;;) {
      if (this.pos >= this.end) this.fail('a list has no end marker', at);
      if (this.buf[this.pos] === 0x5a) {
        this.pos++;
        break;
      }
      list.push(this.read());
    }
    this.depth--;
    return list;
  }

  private readMap(type: string | null, at: number): JavaMap {
    this.enter(at);
    const map = new JavaMap();
    map.javaType = type;
    this.refs.push(map);
    for (;;) {
      if (this.pos >= this.end) this.fail('a map has no end marker', at);
      if (this.buf[this.pos] === 0x5a) {
        this.pos++;
        break;
      }
      const k = this.read();
      map.set(k, this.read());
    }
    this.depth--;
    return map;
  }

  private readBytesN(n: number): Buffer {
    this.need(n);
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  private readChunkedBytes(code: number): Buffer {
    const parts: Buffer[] = [];
    for (;;) {
      this.need(2);
      const n = this.buf.readUInt16BE(this.pos);
      this.pos += 2;
      parts.push(this.readBytesN(n));
      if (code === 0x42) break;
      const at = this.pos;
      code = this.byte();
      if (code === 0x41 || code === 0x42) continue;
      // The last chunk may use a compact form.
      if (code >= 0x20 && code <= 0x2f) parts.push(this.readBytesN(code - 0x20));
      else if (code >= 0x34 && code <= 0x37) {
        this.need(1);
        parts.push(this.readBytesN(((code - 0x34) << 8) + (this.buf[this.pos++] as number)));
      } else this.fail(`expected a binary chunk, got byte 0x${code.toString(16)}`, at);
      break;
    }
    return Buffer.concat(parts);
  }

  private readChunkedString(code: number): string {
    let out = '';
    for (;;) {
      this.need(2);
      const n = this.buf.readUInt16BE(this.pos);
      this.pos += 2;
      out += this.readUtf(n);
      if (code === 0x53) break;
      const at = this.pos;
      code = this.byte();
      if (code === 0x52 || code === 0x53) continue;
      if (code <= 0x1f) out += this.readUtf(code);
      else if (code >= 0x30 && code <= 0x33) {
        this.need(1);
        out += this.readUtf(((code - 0x30) << 8) + (this.buf[this.pos++] as number));
      } else this.fail(`expected a string chunk, got byte 0x${code.toString(16)}`, at);
      break;
    }
    return out;
  }

  /** Reads `units` UTF-16 code units encoded as 1–3 byte sequences (Java's modified UTF-8 / CESU-8). */
  private readUtf(units: number): string {
    const start = this.pos;
    const s = decodeJavaUtf(this.buf, start, this.end, units, this.utfEnd);
    if (s === undefined) {
      const bad = this.utfEnd.bad;
      if (bad < 0) this.fail('a string ends too early', start);
      this.fail(`bad UTF-8 byte 0x${(this.buf[bad] as number).toString(16)} in a string (Java writes each UTF-16 unit in 1–3 bytes)`, bad);
    }
    this.pos = this.utfEnd.next;
    return s;
  }
}

/** Decodes every top-level value in `buf` (one shared context, as in one Dubbo body). */
export function decodeAll(buf: Buffer, opts?: HessianReaderOptions): HessianValue[] {
  const r = new HessianReader(buf, opts);
  const out: HessianValue[] = [];
  while (r.hasMore()) out.push(r.read());
  return out;
}
