/**
 * A Hessian 2 encoder over one growable buffer, with the per-frame class-definition and type tables
 * Dubbo's hessian-lite keeps. One writer serves one Dubbo body at a time: `reset()` starts a fresh
 * context, `finish()` copies the bytes out. Nothing is allocated per value apart from buffer growth.
 *
 * The byte forms follow hessian-lite's Hessian2Output (and hessian.js 2.11, which agrees with it):
 * compact ints/longs, doubles with the 0x5F milliunit form, strings as UTF-16 units in CESU-8 chunked
 * at 0x8000 units without ending a chunk on a high surrogate, dates in the minute form when exact.
 * Binary chunks: Java's chunk size depends on its own buffer position; this writer uses 4093-byte
 * chunks as hessian.js does (any chunking is valid Hessian and reads back the same).
 */

const INITIAL_SIZE = 1024;
const BINARY_CHUNK = 4093;
const STRING_CHUNK = 0x8000;

interface ClassDef {
  readonly index: number;
  readonly fields: readonly string[];
}

/**
 * The encoded bytes of class definitions (`C`, name, field count, field names), by class name: a
 * Dubbo body is its own Hessian context, so every call writes its classes' definitions again, and
 * they never change. Shared by every writer; bounded, since a generic call's class names come from
 * the request (past the bound, definitions are written out as before).
 */
const definitionBytes = new Map<string, { readonly fields: readonly string[]; readonly bytes: Buffer }>();
const MAX_CACHED_DEFINITIONS = 512;
/** Strings from this many code units on go through Buffer#latin1Write when they are ASCII (shorter ones: the loop is quicker). */
const NATIVE_ASCII_MIN = 24;

export class HessianWriter {
  private buf: Buffer;
  private pos = 0;
  private readonly classDefs = new Map<string, ClassDef>();
  private readonly types = new Map<string, number>();

  constructor(initialSize = INITIAL_SIZE) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** Starts a new frame: empties the buffer and forgets class definitions and type strings. */
  reset(): void {
    this.pos = 0;
    if (this.classDefs.size > 0) this.classDefs.clear();
    if (this.types.size > 0) this.types.clear();
  }

  /** Bytes written since the last reset. */
  get length(): number {
    return this.pos;
  }

  /** A copy of the bytes written since the last reset. */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }

  private ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Appends raw bytes (already Hessian-encoded, e.g. a cached string). */
  writeRaw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  writeNull(): void {
    this.ensure(1);
    this.buf[this.pos++] = 0x4e;
  }

  writeBool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 0x54 : 0x46;
  }

  /** A 32-bit int in its shortest form. The caller guarantees `v` is an int32. */
  writeInt(v: number): void {
    this.ensure(5);
    const b = this.buf;
    let p = this.pos;
    if (v >= -16 && v <= 47) {
      b[p++] = v + 0x90;
    } else if (v >= -2048 && v <= 2047) {
      b[p++] = (v >> 8) + 0xc8;
      b[p++] = v & 0xff;
    } else if (v >= -262144 && v <= 262143) {
      b[p++] = (v >> 16) + 0xd4;
      b[p++] = (v >> 8) & 0xff;
      b[p++] = v & 0xff;
    } else {
      b[p++] = 0x49;
      b.writeInt32BE(v, p);
      p += 4;
    }
    this.pos = p;
  }

  /** A 64-bit long: a safe-integer number or a bigint in the int64 range. */
  writeLong(v: number | bigint): void {
    if (typeof v === 'bigint') {
      if (v >= -2147483648n && v <= 2147483647n) {
        v = Number(v);
      } else {
        this.ensure(9);
        this.buf[this.pos] = 0x4c;
        this.buf.writeBigInt64BE(v, this.pos + 1);
        this.pos += 9;
        return;
      }
    }
    this.ensure(9);
    const b = this.buf;
    let p = this.pos;
    if (v >= -8 && v <= 15) {
      b[p++] = v + 0xe0;
    } else if (v >= -2048 && v <= 2047) {
      b[p++] = (v >> 8) + 0xf8;
      b[p++] = v & 0xff;
    } else if (v >= -262144 && v <= 262143) {
      b[p++] = (v >> 16) + 0x3c;
      b[p++] = (v >> 8) & 0xff;
      b[p++] = v & 0xff;
    } else if (v >= -2147483648 && v <= 2147483647) {
      b[p++] = 0x59;
      b.writeInt32BE(v, p);
      p += 4;
    } else {
      b[p++] = 0x4c;
      b.writeBigInt64BE(BigInt(v), p);
      p += 8;
    }
    this.pos = p;
  }

  /** A double in the shortest form hessian-lite's writeDouble picks (0x5F = int32 milliunits). */
  writeDouble(v: number): void {
    this.ensure(9);
    const b = this.buf;
    let p = this.pos;
    const iv = Math.trunc(v);
    if (iv === v) {
      if (iv === 0) {
        b[p] = 0x5b;
        this.pos = p + 1;
        return;
      }
      if (iv === 1) {
        b[p] = 0x5c;
        this.pos = p + 1;
        return;
      }
      if (iv >= -0x80 && iv < 0x80) {
        b[p] = 0x5d;
        b[p + 1] = iv & 0xff;
        this.pos = p + 2;
        return;
      }
      if (iv >= -0x8000 && iv < 0x8000) {
        b[p] = 0x5e;
        b[p + 1] = (iv >> 8) & 0xff;
        b[p + 2] = iv & 0xff;
        this.pos = p + 3;
        return;
      }
    }
    const mills = Math.trunc(v * 1000);
    if (mills >= -2147483648 && mills <= 2147483647 && mills * 0.001 === v) {
      b[p++] = 0x5f;
      b.writeInt32BE(mills, p);
      this.pos = p + 4;
      return;
    }
    b[p++] = 0x44;
    b.writeDoubleBE(v, p);
    this.pos = p + 8;
  }

  /** A java.util.Date from epoch milliseconds (minute form when the value is whole minutes). */
  writeDate(ms: number): void {
    this.ensure(9);
    if (ms % 60000 === 0) {
      const minutes = ms / 60000;
      if (minutes >= -2147483648 && minutes <= 2147483647) {
        this.buf[this.pos] = 0x4b;
        this.buf.writeInt32BE(minutes, this.pos + 1);
        this.pos += 5;
        return;
      }
    }
    this.buf[this.pos] = 0x4a;
    this.buf.writeBigInt64BE(BigInt(ms), this.pos + 1);
    this.pos += 9;
  }

  /** A string; its length counts UTF-16 code units, each written as 1–3 bytes like Java does. */
  writeString(s: string): void {
    let length = s.length;
    let offset = 0;
    while (length > STRING_CHUNK) {
      let sub = STRING_CHUNK;
      const tail = s.charCodeAt(offset + sub - 1);
      if (tail >= 0xd800 && tail <= 0xdbff) sub--;
      this.ensure(3 + sub * 3);
      this.buf[this.pos++] = 0x52;
      this.buf[this.pos++] = sub >> 8;
      this.buf[this.pos++] = sub & 0xff;
      this.writeUnits(s, offset, offset + sub);
      length -= sub;
      offset += sub;
    }
    this.ensure(3 + length * 3);
    const b = this.buf;
    if (length <= 31) {
      b[this.pos++] = length;
    } else if (length <= 1023) {
      b[this.pos++] = 0x30 + (length >> 8);
      b[this.pos++] = length & 0xff;
    } else {
      b[this.pos++] = 0x53;
      b[this.pos++] = length >> 8;
      b[this.pos++] = length & 0xff;
    }
    this.writeUnits(s, offset, offset + length);
  }

  /** Writes code units [from, to) of `s` as CESU-8; capacity is already ensured. */
  private writeUnits(s: string, from: number, to: number): void {
    const b = this.buf;
    let p = this.pos;
    // ASCII (as many UTF-8 bytes as code units) is the same bytes in latin1, written natively.
    if (to - from >= NATIVE_ASCII_MIN && from === 0 && to === s.length && Buffer.byteLength(s, 'utf8') === s.length) {
      this.pos = p + b.write(s, p, 'latin1');
      return;
    }
    for (let i = from; i < to; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) {
        b[p++] = c;
      } else if (c < 0x800) {
        b[p++] = 0xc0 | (c >> 6);
        b[p++] = 0x80 | (c & 0x3f);
      } else {
        b[p++] = 0xe0 | (c >> 12);
        b[p++] = 0x80 | ((c >> 6) & 0x3f);
        b[p++] = 0x80 | (c & 0x3f);
      }
    }
    this.pos = p;
  }

  /** Binary data (byte[]), chunked. */
  writeBytes(data: Uint8Array): void {
    let offset = 0;
    let left = data.length;
    this.ensure(3 + left + 3 * Math.ceil(left / BINARY_CHUNK));
    const b = this.buf;
    if (left <= 15) {
      b[this.pos++] = 0x20 + left;
    } else {
      while (left > BINARY_CHUNK) {
        b[this.pos++] = 0x41;
        b[this.pos++] = BINARY_CHUNK >> 8;
        b[this.pos++] = BINARY_CHUNK & 0xff;
        b.set(data.subarray(offset, offset + BINARY_CHUNK), this.pos);
        this.pos += BINARY_CHUNK;
        offset += BINARY_CHUNK;
        left -= BINARY_CHUNK;
      }
      if (left <= 15) {
        b[this.pos++] = 0x20 + left;
      } else if (left <= 1023) {
        b[this.pos++] = 0x34 + (left >> 8);
        b[this.pos++] = left & 0xff;
      } else {
        b[this.pos++] = 0x42;
        b[this.pos++] = left >> 8;
        b[this.pos++] = left & 0xff;
      }
    }
    b.set(offset === 0 ? data : data.subarray(offset), this.pos);
    this.pos += left;
  }

  /** A type string, or its index when this frame has already written it. */
  private writeType(type: string): void {
    const ref = this.types.get(type);
    if (ref !== undefined) {
      this.writeInt(ref);
    } else {
      this.types.set(type, this.types.size);
      this.writeString(type);
    }
  }

  /**
   * Starts a fixed-length list; the caller then writes `length` values. `type` null is an untyped list
   * (Java's ArrayList); otherwise a typed one (`[int`, `java.util.HashSet`, ...).
   */
  writeListBegin(length: number, type: string | null): void {
    this.ensure(1);
    if (length <= 7) {
      if (type === null) {
        this.buf[this.pos++] = 0x78 + length;
      } else {
        this.buf[this.pos++] = 0x70 + length;
        this.writeType(type);
      }
    } else if (type === null) {
      this.buf[this.pos++] = 0x58;
      this.writeInt(length);
    } else {
      this.buf[this.pos++] = 0x56;
      this.writeType(type);
      this.writeInt(length);
    }
  }

  /** Starts a map: untyped `H` (Java HashMap) when `type` is null, else typed `M`. End with writeMapEnd. */
  writeMapBegin(type: string | null): void {
    this.ensure(1);
    if (type === null) {
      this.buf[this.pos++] = 0x48;
    } else {
      this.buf[this.pos++] = 0x4d;
      this.writeType(type);
    }
  }

  writeMapEnd(): void {
    this.ensure(1);
    this.buf[this.pos++] = 0x5a;
  }

  /**
   * Starts an object of `className`; the caller then writes one value per field, in `fields` order.
   * The class definition is written the first time a frame sees the class. All instances of a class
   * in one frame must use the same field list (as in Java, where the class fixes it).
   */
  writeObjectBegin(className: string, fields: readonly string[]): void {
    let def = this.classDefs.get(className);
    if (def === undefined) {
      def = { index: this.classDefs.size, fields };
      this.classDefs.set(className, def);
      const cached = definitionBytes.get(className);
      if (cached !== undefined && (cached.fields === fields || sameFields(cached.fields, fields))) {
        this.writeRaw(cached.bytes);
      } else {
        const start = this.pos;
        this.ensure(1);
        this.buf[this.pos++] = 0x43;
        this.writeString(className);
        this.writeInt(fields.length);
        for (let i = 0; i < fields.length; i++) this.writeString(fields[i] as string);
        if (cached === undefined && definitionBytes.size < MAX_CACHED_DEFINITIONS) {
          definitionBytes.set(className, { fields: [...fields], bytes: Buffer.from(this.buf.subarray(start, this.pos)) });
        }
      }
    } else if (def.fields !== fields && !sameFields(def.fields, fields)) {
      throw new Error(`class ${className} was already defined in this frame with other fields`);
    }
    if (def.index <= 15) {
      this.ensure(1);
      this.buf[this.pos++] = 0x60 + def.index;
    } else {
      this.ensure(1);
      this.buf[this.pos++] = 0x4f;
      this.writeInt(def.index);
    }
  }
}

function sameFields(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
