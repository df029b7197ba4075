/**
 * Hessian → JSON text in one pass, specialised per declared Java type (a route's `returns:`).
 *
 * The generic path decodes a reply into a neutral tree (HessianReader), converts it (toJson) and
 * serialises it (JSON.stringify): three walks and a tree of short-lived objects. A decoder compiled
 * here walks the bytes once and writes the JSON bytes directly, knowing in advance which class and
 * fields to expect. It must produce exactly the text the generic path produces, so it only takes
 * the wire forms it fully understands; on anything else (a subclass, a map where a POJO was
 * declared, a chunked string, a reference it cannot replay, a malformed byte) it gives up and
 * returns undefined, and the caller runs the generic path on the same bytes — which then also
 * produces the proper error for malformed input. Giving up is never visible to clients.
 *
 * Kept identical to the generic path: the exactness policy of decode-json.ts (longs beyond 2^53 as
 * strings, BigDecimal text as Java wrote it, dates, java.time handles including Instant, byte[] as
 * base64, enums by name, NaN/Infinity as strings), declared field order (wire order for undeclared classes), references (shared enum constants are sent as references),
 * cycles (a reference to an enclosing value is null), the node budget and the nesting limit.
 */
import {
  BIG_DECIMAL,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_NODES,
  MAX_REPLY_ATTACHMENTS,
  INSTANT_HANDLE,
  LOCAL_DATE_HANDLE,
  LOCAL_DATE_TIME_HANDLE,
  LOCAL_TIME_HANDLE,
  STRING_FORM_CLASSES,
} from './constants.js';
import type { JavaType } from './java-types.js';
import { dateIso, formatInstant, formatLocalDate, formatLocalTime } from './decode-json.js';
import { decodeJavaUtf, type JavaUtfEnd } from './java-utf.js';
import { HessianReader, JavaMap } from './reader.js';
import { DECODE_CHECK_EVERY, DecodeDeadlineError, NO_DEADLINE, pastDeadline } from '../decode-deadline.js';

/** Options of {@link compileTypedJsonDecoder}; the same policy the generic path applies. */
export interface TypedJsonOptions {
  readonly longs: 'auto' | 'string';
  /** Most values emitted before giving up (the generic path then reports the error). Default 1 000 000. */
  readonly maxNodes?: number;
  /** Deepest nesting accepted (the reader's limit). Default MAX_JSON_NESTING, the request limit too. */
  readonly maxDepth?: number;
  /** Attachments a reply may carry (over it, the generic path decodes the reply and names the budget). Default MAX_REPLY_ATTACHMENTS. */
  readonly maxAttachments?: number;
}

/** A compiled decoder of one Dubbo reply body whose value has the declared type. */
export interface TypedJsonDecoder {
  /**
   * JSON (UTF-8 bytes) of a status-20 reply body carrying a value (or null) of the declared type,
   * or undefined when the body holds anything this decoder does not take (exceptions included).
   * Past `deadline` (the route's, performance.now() ms) it stops with DecodeDeadlineError.
   */
  decodeReplyBody(body: Buffer, deadline?: number): Buffer | undefined;
}

const MIN_SAFE = -Number.MAX_SAFE_INTEGER;

const EMPTY = Buffer.alloc(0);

/** Thrown inside the decoder when the bytes leave the forms it takes; caught at the top. */
const GIVE_UP: unique symbol = Symbol('give up');

interface ClassDef {
  readonly name: string;
  readonly fields: readonly string[];
  /** Field-list key, built once per definition. */
  readonly key: string;
  /** What the reader of the expected type made of this definition (layout, slot order), cached. */
  plan?: unknown;
  /** The reader that last accepted this definition (its checks then need not run again). */
  owner?: unknown;
}

/** A class definition seen before, with its bytes: the same bytes at the same ordinal skip parsing. */
interface SeenDef {
  readonly bytes: Buffer;
  readonly def: ClassDef;
}

/** Reads one value of a declared type and writes its JSON to the state's output. */
type Reader = (s: State) => void;

const QUOTE = 0x22;

/** Per-call decoding state: one Hessian context (class definitions, type strings, references). */
class State {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;
  private readonly utfEnd: JavaUtfEnd = { next: 0, bad: -1 };
  end = 0;
  readonly defs: ClassDef[] = [];
  /** By ordinal in the body: replies of one route repeat their class definitions byte for byte. */
  readonly seenDefs: Array<SeenDef | undefined> = [];
  readonly types: string[] = [];
  /** Output: the JSON bytes written so far (a fresh buffer per call, grown when needed). */
  out: Buffer = EMPTY;
  o = 0;
  /** Where each reference entry's JSON starts and ends in `out`; end is -1 while the value is open. */
  readonly refStart: number[] = [];
  readonly refEnd: number[] = [];
  /** Nodes the generic conversion spends on each entry (replayed references spend them again). */
  readonly refNodes: number[] = [];
  /** Entries whose text contains a cycle's null: replaying them elsewhere could differ. */
  readonly refTainted: boolean[] = [];
  budget = 0;
  /** `budget` below this: over budget (below 0) or the clock's turn (decode-deadline.ts). */
  checkAt = 0;
  deadline = NO_DEADLINE;
  depth = 0;
  cycles = 0;

  constructor(
    readonly longsAsString: boolean,
    readonly maxNodes: number,
    readonly maxDepth: number,
  ) {}

  reset(buf: Buffer, deadline: number): void {
    this.buf = buf;
    // JSON repeats field names that Hessian sends once per class: start at three times the input.
    this.out = Buffer.allocUnsafe(Math.max(256, buf.length * 3));
    this.pos = 0;
    this.end = buf.length;
    this.defs.length = 0;
    this.types.length = 0;
    this.o = 0;
    this.refStart.length = 0;
    this.refEnd.length = 0;
    this.refNodes.length = 0;
    this.refTainted.length = 0;
    this.budget = this.maxNodes;
    this.deadline = deadline;
    this.checkAt = this.nextCheck();
    this.depth = 0;
    this.cycles = 0;
  }

  /** Room for `n` more output bytes. */
  room(n: number): void {
    if (this.o + n <= this.out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.o + n));
    this.out.copy(bigger, 0, 0, this.o);
    this.out = bigger;
  }

  /** Writes an ASCII string (numbers, dates, keys). */
  ascii(text: string): void {
    const n = text.length;
    this.room(n);
    const out = this.out;
    let o = this.o;
    for (let i = 0; i < n; i++) out[o++] = text.charCodeAt(i);
    this.o = o;
  }

  /** Writes long ASCII text (base64) with one native copy. */
  asciiBlock(text: string): void {
    this.room(text.length);
    this.o += this.out.write(text, this.o, 'latin1');
  }

  /** Writes prepared bytes (a field's `"name":`). */
  bytes(src: Uint8Array): void {
    const n = src.length;
    this.room(n);
    const out = this.out;
    let o = this.o;
    for (let i = 0; i < n; i++) out[o++] = src[i] as number;
    this.o = o;
  }

  /** Writes one ASCII byte. */
  put(c: number): void {
    this.room(1);
    this.out[this.o++] = c;
  }

  /** Writes any text as UTF-8 (JSON.stringify output for strings that need escapes). */
  utf8(text: string): void {
    this.room(text.length * 3);
    this.o += this.out.write(text, this.o, 'utf8');
  }

  byte(): number {
    if (this.pos >= this.end) throw GIVE_UP;
    return this.buf[this.pos++] as number;
  }

  /** One node of the generic conversion's budget. */
  spend(): void {
    if (--this.budget < this.checkAt) this.checkpoint();
  }

  nextCheck(): number {
    return this.deadline === NO_DEADLINE ? 0 : Math.max(0, this.budget - DECODE_CHECK_EVERY);
  }

  /** The slow branch of the budget: over it (the generic path then names the error), or the clock's turn. */
  checkpoint(): void {
    if (this.budget < 0) throw GIVE_UP;
    if (pastDeadline(this.deadline)) throw new DecodeDeadlineError(this.maxNodes - this.budget);
    this.checkAt = this.nextCheck();
  }

  /** The next value's code byte, after any class definitions. */
  next(): number {
    let code = this.byte();
    while (code === 0x43) {
      this.readClassDef();
      code = this.byte();
    }
    return code;
  }

  readClassDef(): void {
    const start = this.pos;
    const ordinal = this.defs.length;
    const seen = this.seenDefs[ordinal];
    if (seen !== undefined) {
      const n = seen.bytes.length;
      if (start + n <= this.end && this.buf.compare(seen.bytes, 0, n, start, start + n) === 0) {
        this.pos = start + n;
        this.defs.push(seen.def);
        return;
      }
    }
    const name = this.rawString(this.next());
    const n = this.intOf(this.next());
    if (n < 0) throw GIVE_UP;
    const fields: string[] = [];
    for (let i = 0; i < n; i++) fields.push(this.rawString(this.next()));
    const def: ClassDef = { name, fields, key: fields.join('\u0000') };
    this.defs.push(def);
    if (ordinal < 64) this.seenDefs[ordinal] = { bytes: Buffer.from(this.buf.subarray(start, this.pos)), def };
  }

  /** An int value (lengths, indexes); anything else gives up. */
  intOf(code: number): number {
    const b = this.buf;
    if (code >= 0x80 && code <= 0xbf) return code - 0x90;
    if (code >= 0xc0 && code <= 0xcf) return ((code - 0xc8) << 8) + this.byte();
    if (code >= 0xd0 && code <= 0xd7) {
      if (this.pos + 2 > this.end) throw GIVE_UP;
      const v = ((code - 0xd4) << 16) + ((b[this.pos] as number) << 8) + (b[this.pos + 1] as number);
      this.pos += 2;
      return v;
    }
    if (code === 0x49) {
      if (this.pos + 4 > this.end) throw GIVE_UP;
      const v = b.readInt32BE(this.pos);
      this.pos += 4;
      return v;
    }
    throw GIVE_UP;
  }

  /** A number the java.time handles hold (int or long forms), as the generic `num()` reads it. */
  numberOf(code: number): number {
    const b = this.buf;
    if ((code >= 0x80 && code <= 0xd7) || code === 0x49) return this.intOf(code);
    if (code >= 0xd8 && code <= 0xef) return code - 0xe0;
    if (code >= 0xf0) return ((code - 0xf8) << 8) + this.byte();
    if (code >= 0x38 && code <= 0x3f) {
      if (this.pos + 2 > this.end) throw GIVE_UP;
      const v = ((code - 0x3c) << 16) + ((b[this.pos] as number) << 8) + (b[this.pos + 1] as number);
      this.pos += 2;
      return v;
    }
    if (code === 0x59) {
      if (this.pos + 4 > this.end) throw GIVE_UP;
      const v = b.readInt32BE(this.pos);
      this.pos += 4;
      return v;
    }
    if (code === 0x4c) {
      if (this.pos + 8 > this.end) throw GIVE_UP;
      const v = Number(b.readBigInt64BE(this.pos));
      this.pos += 8;
      return v;
    }
    throw GIVE_UP;
  }

  /** Length in UTF-16 units of a one-chunk string starting with `code`, or -1 when not a string. */
  stringUnits(code: number): number {
    if (code <= 0x1f) return code;
    if (code >= 0x30 && code <= 0x33) return ((code - 0x30) << 8) + this.byte();
    if (code === 0x53) {
      if (this.pos + 2 > this.end) throw GIVE_UP;
      const n = this.buf.readUInt16BE(this.pos);
      this.pos += 2;
      return n;
    }
    return -1;
  }

  /** A string value as JS text (class and field names, type strings). */
  rawString(code: number): string {
    const units = this.stringUnits(code);
    if (units < 0) throw GIVE_UP;
    return this.utf(units);
  }

  /** `units` UTF-16 code units in Java's 1–3 byte form (the generic reader's decoder). */
  utf(units: number): string {
    const s = decodeJavaUtf(this.buf, this.pos, this.end, units, this.utfEnd);
    if (s === undefined) throw GIVE_UP;
    this.pos = this.utfEnd.next;
    return s;
  }

  /** Writes a one-chunk string of `units` units: plain ASCII is copied, the rest escaped as JSON.stringify does. */
  stringJson(units: number): void {
    const b = this.buf;
    const start = this.pos;
    const stop = start + units;
    if (stop <= this.end) {
      let i = start;
      for (; i < stop; i++) {
        const c = b[i] as number;
        if (c < 0x20 || c >= 0x7f || c === 0x22 || c === 0x5c) break;
      }
      if (i === stop) {
        this.pos = stop;
        this.room(units + 2);
        const out = this.out;
        let o = this.o;
        out[o++] = QUOTE;
        if (units > 32) {
          b.copy(out, o, start, stop);
          o += units;
        } else for (let j = start; j < stop; j++) out[o++] = b[j] as number;
        out[o++] = QUOTE;
        this.o = o;
        return;
      }
    }
    this.utf8(JSON.stringify(this.utf(units)));
  }

  /** Writes a long that fits a double exactly, under the route's policy. */
  long(v: number): void {
    if (this.longsAsString) {
      this.put(QUOTE);
      this.ascii(String(v));
      this.put(QUOTE);
    } else this.ascii(String(v));
  }

  /**
   * Writes any scalar (null, boolean, int, long, double, string, date) exactly as toJson +
   * JSON.stringify write it. Lists, maps, objects, references and binaries give up.
   */
  scalar(code: number): void {
    const b = this.buf;
    if (code >= 0x80 && code <= 0xbf) return this.ascii(String(code - 0x90));
    if (code <= 0x1f) return this.stringJson(code);
    if (code >= 0xc0 && code <= 0xd7) return this.ascii(String(this.intOf(code)));
    if (code >= 0xd8 && code <= 0xef) return this.long(code - 0xe0);
    if (code >= 0xf0) return this.long(((code - 0xf8) << 8) + this.byte());
    if (code >= 0x30 && code <= 0x33) return this.stringJson(((code - 0x30) << 8) + this.byte());
    if (code >= 0x38 && code <= 0x3f) return this.long(this.numberOf(code));
    switch (code) {
      case 0x4e:
        return this.ascii('null');
      case 0x54:
        return this.ascii('true');
      case 0x46:
        return this.ascii('false');
      case 0x49:
        return this.ascii(String(this.intOf(code)));
      case 0x59:
        return this.long(this.numberOf(code));
      case 0x4c: {
        if (this.pos + 8 > this.end) throw GIVE_UP;
        const hi = b.readInt32BE(this.pos);
        if (hi >= -2097152 && hi <= 2097151) {
          const v = hi * 4294967296 + b.readUInt32BE(this.pos + 4);
          if (v >= MIN_SAFE) {
            this.pos += 8;
            return this.long(v);
          }
        }
        const big = b.readBigInt64BE(this.pos);
        this.pos += 8;
        return this.ascii('"' + big.toString() + '"');
      }
      case 0x53:
        return this.stringJson(this.stringUnits(code));
      case 0x5b:
        return this.ascii('0');
      case 0x5c:
        return this.ascii('1');
      case 0x5d:
        return this.ascii(String(b.readInt8(this.needAt(1))));
      case 0x5e:
        return this.ascii(String(b.readInt16BE(this.needAt(2))));
      case 0x5f:
        return this.ascii(doubleText(b.readInt32BE(this.needAt(4)) * 0.001));
      case 0x44:
        return this.ascii(doubleText(b.readDoubleBE(this.needAt(8))));
      case 0x4a: {
        const at = this.needAt(8);
        return this.ascii('"' + dateIso(b.readInt32BE(at) * 4294967296 + b.readUInt32BE(at + 4)) + '"');
      }
      case 0x4b:
        return this.ascii('"' + dateIso(b.readInt32BE(this.needAt(4)) * 60000) + '"');
      default:
        throw GIVE_UP;
    }
  }

  /** Advances past `n` bytes and returns where they start. */
  needAt(n: number): number {
    const at = this.pos;
    if (at + n > this.end) throw GIVE_UP;
    this.pos = at + n;
    return at;
  }

  /** Replays reference `Q <index>`: the entry's JSON again, or null for a value still open (a cycle). */
  ref(): void {
    const i = this.intOf(this.next());
    if (i < 0 || i >= this.refEnd.length) throw GIVE_UP;
    const end = this.refEnd[i] as number;
    if (end < 0) {
      this.spend();
      this.cycles++;
      return this.ascii('null');
    }
    if (this.refTainted[i]) throw GIVE_UP;
    this.budget -= this.refNodes[i] as number;
    if (this.budget < this.checkAt) this.checkpoint();
    const start = this.refStart[i] as number;
    const n = end - start;
    this.room(n);
    const out = this.out;
    let o = this.o;
    if (n > 64) {
      out.copy(out, o, start, end);
      o += n;
    } else for (let j = start; j < end; j++) out[o++] = out[j] as number;
    this.o = o;
  }

  /** Writes 0–99 as two digits. */
  two(n: number): void {
    this.room(2);
    this.out[this.o++] = 0x30 + ((n / 10) | 0);
    this.out[this.o++] = 0x30 + (n % 10);
  }

  /**
   * Opens a reference entry (lists, maps and objects take one, in wire order). Call it right after
   * spending the value's own node, which the entry's node count includes.
   */
  open(): number {
    if (++this.depth > this.maxDepth) throw GIVE_UP;
    const i = this.refEnd.length;
    this.refStart.push(this.o);
    this.refEnd.push(-1);
    this.refNodes.push(this.budget + 1);
    this.refTainted.push(false);
    return i;
  }

  /** Closes entry `i`: its JSON is what was written since `open`. */
  close(i: number, cyclesBefore: number): void {
    this.depth--;
    this.refEnd[i] = this.o;
    this.refNodes[i] = (this.refNodes[i] as number) - this.budget;
    if (this.cycles !== cyclesBefore) this.refTainted[i] = true;
  }

  /** The class definition of an instance whose code byte is `code`, or undefined if not an instance. */
  instanceDef(code: number): ClassDef | undefined {
    let index: number;
    if (code >= 0x60 && code <= 0x6f) index = code - 0x60;
    else if (code === 0x4f) index = this.intOf(this.next());
    else return undefined;
    const def = this.defs[index];
    if (def === undefined) throw GIVE_UP;
    return def;
  }

  /** A list/array type string or type reference (kept in the type table as the reader does). */
  listType(): void {
    const code = this.next();
    if (isStringCode(code)) {
      this.types.push(this.rawString(code));
      return;
    }
    const i = this.intOf(code);
    if (this.types[i] === undefined) throw GIVE_UP;
  }
}

/** A one-chunk string's first byte (compact, medium or final chunk). */
function isStringCode(code: number): boolean {
  return code <= 0x1f || (code >= 0x30 && code <= 0x33) || code === 0x53;
}

function doubleText(v: number): string {
  if (Number.isFinite(v)) return String(v);
  return Number.isNaN(v) ? '"NaN"' : v > 0 ? '"Infinity"' : '"-Infinity"';
}

const scalarReader: Reader = (s) => {
  s.spend();
  s.scalar(s.next());
};

/**
 * Reads a special object (BigDecimal, java.time handle, declared enum) whose JSON form is one
 * string; `write` writes it and may return it as text when it was not copied from the input.
 */
function specialReader(className: string, fieldsKey: string, write: (s: State, def: ClassDef) => void): Reader {
  const token = {};
  return (s) => {
    s.spend();
    const code = s.next();
    if (code === 0x51) {
      s.budget++; // the replayed entry's own count stands for this node
      return s.ref();
    }
    const def = s.instanceDef(code);
    if (def === undefined) return s.scalar(code);
    if (def.owner !== token) {
      if (def.name !== className || (fieldsKey !== '' && def.key !== fieldsKey)) throw GIVE_UP;
      def.owner = token;
    }
    const cycles = s.cycles;
    const entry = s.open();
    const budget = s.budget;
    write(s, def);
    s.budget = budget; // inner values of a special cost nothing in the generic conversion
    s.close(entry, cycles);
  };
}

/** The one string field of a BigDecimal or an enum constant. */
function stringField(s: State): void {
  const code = s.next();
  if (!isStringCode(code)) throw GIVE_UP;
  s.scalar(code);
}

const bigDecimalReader = specialReader(BIG_DECIMAL, 'value', stringField);

/** For each wire field of a handle, the slot of `names` it fills; null when the fields differ. */
function handleSlots(def: ClassDef, names: readonly string[]): readonly number[] | null {
  if (def.plan === undefined) {
    const slots = def.fields.map((f) => names.indexOf(f));
    def.plan = def.fields.length === names.length && new Set(def.fields).size === names.length && !slots.includes(-1) ? slots : null;
  }
  return def.plan as readonly number[] | null;
}

/** Reads a LocalDateHandle / LocalTimeHandle instance's numeric fields into `out` by name. */
function handleNumbers(s: State, def: ClassDef, names: readonly string[], out: number[]): void {
  const slots = handleSlots(def, names);
  if (slots === null) throw GIVE_UP;
  for (let i = 0; i < slots.length; i++) out[slots[i] as number] = s.numberOf(s.next());
}

const DATE_FIELDS = ['year', 'month', 'day'] as const;
const TIME_FIELDS = ['hour', 'minute', 'second', 'nano'] as const;
const dateSlots = [0, 0, 0];
const timeSlots = [0, 0, 0, 0];

function isSmall(n: number, max: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= max;
}

/** Writes LocalDate.toString of the numbers in dateSlots (no quotes). */
function writeLocalDate(s: State): void {
  const [y, m, d] = dateSlots as [number, number, number];
  // The usual case digit by digit; everything else exactly as formatLocalDate writes it.
  if (isSmall(y, 9999) && y >= 1000 && isSmall(m, 99) && isSmall(d, 99)) {
    s.two((y / 100) | 0);
    s.two(y % 100);
    s.put(0x2d);
    s.two(m);
    s.put(0x2d);
    s.two(d);
  } else s.utf8(formatLocalDate(y, m, d));
}

/** Writes LocalTime.toString of the numbers in timeSlots (no quotes). */
function writeLocalTime(s: State): void {
  const [h, mi, sec, n] = timeSlots as [number, number, number, number];
  if (n === 0 && isSmall(h, 99) && isSmall(mi, 99) && isSmall(sec, 99)) {
    s.two(h);
    s.put(0x3a);
    s.two(mi);
    if (sec > 0) {
      s.put(0x3a);
      s.two(sec);
    }
  } else s.utf8(formatLocalTime(h, mi, sec, n));
}

const localDateReader = specialReader(LOCAL_DATE_HANDLE, '', (s, def) => {
  handleNumbers(s, def, DATE_FIELDS, dateSlots);
  s.put(QUOTE);
  writeLocalDate(s);
  s.put(QUOTE);
});
const localTimeReader = specialReader(LOCAL_TIME_HANDLE, '', (s, def) => {
  handleNumbers(s, def, TIME_FIELDS, timeSlots);
  s.put(QUOTE);
  writeLocalTime(s);
  s.put(QUOTE);
});

/**
 * A handle inside a LocalDateTimeHandle: an instance of `className` (never null or a reference)
 * whose numbers go to `slots`. Its reference entry is not written on its own, so a later reference
 * to it gives up (hessian-lite writes a fresh handle each time, so this does not happen).
 */
function nestedHandle(s: State, className: string, names: readonly string[], slots: number[]): void {
  const def = s.instanceDef(s.next());
  if (def === undefined || def.name !== className) throw GIVE_UP;
  s.spend();
  const entry = s.open();
  handleNumbers(s, def, names, slots);
  s.close(entry, -1); // -1: never equal to the cycle count, so the entry is marked tainted
}

/** LocalDateTimeHandle fields: `date` then `time` (0) or `time` then `date` (1). */
function dateTimeOrder(def: ClassDef): number {
  const [a, b] = def.fields;
  if (def.fields.length === 2 && a === 'date' && b === 'time') return 0;
  if (def.fields.length === 2 && a === 'time' && b === 'date') return 1;
  throw GIVE_UP;
}

const localDateTimeReader = specialReader(LOCAL_DATE_TIME_HANDLE, '', (s, def) => {
  if (def.plan === undefined) def.plan = dateTimeOrder(def);
  if (def.plan === 0) {
    nestedHandle(s, LOCAL_DATE_HANDLE, DATE_FIELDS, dateSlots);
    nestedHandle(s, LOCAL_TIME_HANDLE, TIME_FIELDS, timeSlots);
  } else {
    nestedHandle(s, LOCAL_TIME_HANDLE, TIME_FIELDS, timeSlots);
    nestedHandle(s, LOCAL_DATE_HANDLE, DATE_FIELDS, dateSlots);
  }
  s.put(QUOTE);
  writeLocalDate(s);
  s.put(0x54);
  writeLocalTime(s);
  s.put(QUOTE);
});

const INSTANT_FIELDS = ['seconds', 'nanos'] as const;
const instantSlots = [0, 0];

/** Instant.toString of an InstantHandle; seconds beyond 2^53 (years past ±285 million) give up. */
const instantReader = specialReader(INSTANT_HANDLE, '', (s, def) => {
  handleNumbers(s, def, INSTANT_FIELDS, instantSlots);
  const [seconds, nanos] = instantSlots as [number, number];
  if (!Number.isSafeInteger(seconds)) throw GIVE_UP;
  s.put(QUOTE);
  s.ascii(formatInstant(BigInt(seconds), nanos));
  s.put(QUOTE);
});

/** Whether `code` starts a one-piece binary (compact forms) or a binary chunk. */
function isBinaryCode(code: number): boolean {
  return (code >= 0x20 && code <= 0x2f) || (code >= 0x34 && code <= 0x37) || code === 0x41 || code === 0x42;
}

/**
 * byte[]: Hessian binary in any chunking (non-final 'A' chunks, then a final 'B' or compact one),
 * written as base64 like the generic path; null as null. Binaries take no reference entry.
 */
const bytesReader: Reader = (s) => {
  s.spend();
  let code = s.next();
  if (code === 0x4e) return s.ascii('null');
  if (!isBinaryCode(code)) throw GIVE_UP;
  const parts: Buffer[] = [];
  for (;;) {
    let n: number;
    if (code <= 0x2f) n = code - 0x20;
    else if (code <= 0x37) n = ((code - 0x34) << 8) + s.byte();
    else n = s.buf.readUInt16BE(s.needAt(2));
    const at = s.needAt(n);
    parts.push(s.buf.subarray(at, at + n));
    if (code !== 0x41) break;
    code = s.byte();
    if (!isBinaryCode(code)) throw GIVE_UP;
  }
  s.put(QUOTE);
  s.asciiBlock((parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts)).toString('base64'));
  s.put(QUOTE);
};

/** A declared enum: its constant's name (an instance with the one field `name`), or a plain string. */
function enumReader(className: string): Reader {
  return specialReader(className, 'name', stringField);
}

function listReader(elem: () => Reader): Reader {
  return (s) => {
    s.spend();
    const code = s.next();
    let length = -1;
    let fixed = true;
    if (code >= 0x78 && code <= 0x7f) length = code - 0x78;
    else if (code >= 0x70 && code <= 0x77) {
      s.listType();
      length = code - 0x70;
    } else if (code === 0x58) length = s.intOf(s.next());
    else if (code === 0x56) {
      s.listType();
      length = s.intOf(s.next());
    } else if (code === 0x57) fixed = false;
    else if (code === 0x55) {
      s.listType();
      fixed = false;
    } else if (code === 0x4e) return s.ascii('null');
    else if (code === 0x51) {
      s.budget++;
      return s.ref();
    } else throw GIVE_UP;
    if (fixed && (length < 0 || length > s.end - s.pos)) throw GIVE_UP;
    const read = elem();
    const cycles = s.cycles;
    const entry = s.open();
    s.put(0x5b);
    if (fixed) {
      for (let i = 0; i < length; i++) {
        if (i > 0) s.put(0x2c);
        read(s);
      }
    } else {
      for (let first = true; ; first = false) {
        if (s.pos >= s.end) throw GIVE_UP;
        if (s.buf[s.pos] === 0x5a) {
          s.pos++;
          break;
        }
        if (!first) s.put(0x2c);
        read(s);
      }
    }
    s.put(0x5d);
    s.close(entry, cycles);
  };
}

/** How one wire class definition maps onto a declared POJO: the key bytes and reader per wire field. */
interface Layout {
  readonly keys: readonly Uint8Array[];
  readonly readers: readonly Reader[];
  /**
   * When the wire order is not the declared one: the wire indexes in declared order (the JSON's
   * order). The keys then carry no '{' or ',' and the fields are moved into place once read.
   */
  readonly emit?: readonly number[];
}

const INDEX_LIKE = /^(?:0|[1-9]\d*)$/;

function pojoReader(t: Extract<JavaType, { kind: 'pojo' }>, fieldReader: (ft: JavaType) => Reader, enumNames: ReadonlySet<string>): Reader {
  const layouts = new Map<string, Layout | null>();
  const layoutOf = (def: ClassDef): Layout | null => {
    if (def.plan !== undefined) return def.plan as Layout | null;
    let layout = layouts.get(def.key);
    if (layout !== undefined) return (def.plan = layout);
    layout = null;
    const declared = new Map(t.fields.map((f) => [f.name, f.type]));
    // The generic path turns a lone `name` string into an enum name, and JS objects put index-like
    // keys first: such classes stay on the generic path, as do undeclared or repeated fields.
    const plain =
      !STRING_FORM_CLASSES.has(def.name) &&
      !enumNames.has(def.name) &&
      !(def.fields.length === 1 && def.fields[0] === 'name') &&
      new Set(def.fields).size === def.fields.length &&
      def.fields.every((f) => declared.has(f) && f !== '__proto__' && !(INDEX_LIKE.test(f) && Number(f) < 4294967295));
    if (plain) {
      const rank = new Map(t.fields.map((f, i) => [f.name, i] as const));
      const emit = def.fields.map((_, i) => i).sort((a, b) => rank.get(def.fields[a]!)! - rank.get(def.fields[b]!)!);
      const inOrder = emit.every((w, i) => w === i);
      layout = {
        keys: def.fields.map((f, i) => Buffer.from((inOrder ? (i === 0 ? '{' : ',') : '') + JSON.stringify(f) + ':')),
        readers: def.fields.map((f) => fieldReader(declared.get(f)!)),
        ...(inOrder ? {} : { emit }),
      };
    }
    layouts.set(def.key, layout);
    def.plan = layout;
    return layout;
  };
  const token = {};
  return (s) => {
    s.spend();
    const code = s.next();
    if (code === 0x4e) return s.ascii('null');
    if (code === 0x51) {
      s.budget++;
      return s.ref();
    }
    const def = s.instanceDef(code);
    if (def === undefined) throw GIVE_UP;
    let layout: Layout | null;
    if (def.owner === token) layout = def.plan as Layout;
    else {
      if (def.name !== t.name) throw GIVE_UP;
      layout = layoutOf(def);
      if (layout === null) throw GIVE_UP;
      def.owner = token;
    }
    const cycles = s.cycles;
    const entry = s.open();
    const { keys, readers, emit } = layout;
    if (emit !== undefined) readReordered(s, keys, readers, emit, entry);
    else {
      if (keys.length === 0) s.put(0x7b);
      for (let i = 0; i < keys.length; i++) {
        s.bytes(keys[i] as Uint8Array);
        (readers[i] as Reader)(s);
      }
    }
    s.put(0x7d);
    s.close(entry, cycles);
  };
}

/**
 * Reads the fields in wire order, each written as `"name":value` with no separator, then moves them
 * into declared order with commas between. Reference entries opened inside a field (entries after
 * `entry`, in wire order) move with it, so a later reference replays the right bytes.
 */
function readReordered(s: State, keys: readonly Uint8Array[], readers: readonly Reader[], emit: readonly number[], entry: number): void {
  s.put(0x7b);
  const body = s.o;
  const n = keys.length;
  const starts = new Array<number>(n);
  const ends = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    starts[i] = s.o;
    s.bytes(keys[i] as Uint8Array);
    (readers[i] as Reader)(s);
    ends[i] = s.o;
  }
  const wire = Buffer.from(s.out.subarray(body, s.o));
  s.room(n);
  const out = s.out;
  const moved = new Array<number>(n);
  let w = body;
  for (let k = 0; k < n; k++) {
    const i = emit[k] as number;
    if (k > 0) out[w++] = 0x2c;
    moved[i] = w;
    w += wire.copy(out, w, (starts[i] as number) - body, (ends[i] as number) - body);
  }
  s.o = w;
  let field = 0;
  for (let j = entry + 1; j < s.refStart.length; j++) {
    const at = s.refStart[j] as number;
    while (at >= (ends[field] as number)) field++;
    const delta = (moved[field] as number) - (starts[field] as number);
    s.refStart[j] = at + delta;
    s.refEnd[j] = (s.refEnd[j] as number) + delta;
  }
}

/** True when every part of `t` has a specialised reader (else the route keeps the generic path). */
export function isTypedJsonSupported(t: JavaType, seen: Set<JavaType> = new Set()): boolean {
  if (seen.has(t)) return true;
  seen.add(t);
  switch (t.kind) {
    case 'object':
    case 'map':
    case 'biginteger':
      return false;
    case 'list':
    case 'array':
      return isTypedJsonSupported(t.elem, seen);
    case 'pojo':
      return t.fields.every((f) => isTypedJsonSupported(f.type, seen));
    case 'boolean':
    case 'int':
    case 'short':
    case 'byte':
    case 'long':
    case 'float':
    case 'double':
    case 'char':
    case 'string':
    case 'bigdecimal':
    case 'date':
    case 'localdate':
    case 'localdatetime':
    case 'localtime':
    case 'instant':
    case 'bytes':
    case 'enum':
      return true;
    default:
      // The other java.time and java.sql values have no specialised reader: the generic path.
      return false;
  }
}

/**
 * Compiles a reply decoder for a declared return type, or returns undefined when the type has parts
 * without a specialised reader (Object, maps, BigInteger): those routes keep the generic path.
 * `enumNames` are the config's declared enums (the generic path's `enumClasses`).
 */
export function compileTypedJsonDecoder(type: JavaType, enumNames: ReadonlySet<string>, opts: TypedJsonOptions): TypedJsonDecoder | undefined {
  if (!isTypedJsonSupported(type)) return undefined;
  const memo = new Map<JavaType, Reader>();
  const readerFor = (t: JavaType): Reader => {
    const hit = memo.get(t);
    if (hit !== undefined) return hit;
    let r: Reader;
    switch (t.kind) {
      case 'list':
      case 'array': {
        let elem: Reader | undefined;
        r = listReader(() => (elem ??= readerFor(t.elem)));
        break;
      }
      case 'pojo': {
        // Recursive POJOs: the memo holds a forwarder until the real reader exists.
        // eslint-disable-next-line prefer-const -- the forwarder above reads it before the assignment below
        let real: Reader | undefined;
        memo.set(t, (s) => real!(s));
        real = pojoReader(t, readerFor, enumNames);
        r = real;
        break;
      }
      case 'enum':
        r = enumReader(t.name);
        break;
      case 'bigdecimal':
        r = bigDecimalReader;
        break;
      case 'localdate':
        r = localDateReader;
        break;
      case 'localtime':
        r = localTimeReader;
        break;
      case 'localdatetime':
        r = localDateTimeReader;
        break;
      case 'instant':
        r = instantReader;
        break;
      case 'bytes':
        r = bytesReader;
        break;
      default:
        r = scalarReader;
    }
    memo.set(t, r);
    return r;
  };
  const root = readerFor(type);
  // Decoding is synchronous, so one state per compiled decoder is reused call after call.
  const state = new State(opts.longs === 'string', opts.maxNodes ?? DEFAULT_MAX_NODES, opts.maxDepth ?? DEFAULT_MAX_DEPTH);
  const maxAttachments = opts.maxAttachments ?? MAX_REPLY_ATTACHMENTS;
  return {
    decodeReplyBody(body: Buffer, deadline = NO_DEADLINE): Buffer | undefined {
      const s = state;
      s.reset(body, deadline);
      try {
        const flag = s.byte();
        // Result flags 1 (value), 2 (null), 4 (value + attachments), 5 (null + attachments).
        if (flag === 0x92) return Buffer.from('null');
        if (flag !== 0x91 && flag !== 0x94 && flag !== 0x95) return undefined;
        if (flag === 0x95) s.ascii('null');
        else root(s);
        if (flag !== 0x91 && !attachmentsFollow(body, s.pos, maxAttachments)) return undefined;
        return s.out.subarray(0, s.o);
      } catch (err) {
        if (err === GIVE_UP) return undefined;
        throw err;
      } finally {
        s.buf = EMPTY;
        s.out = EMPTY;
      }
    },
  };
}

/**
 * The generic path requires a map after the value for flags 4 and 5; check it the same way. The
 * usual form (an untyped map of one-chunk strings) is checked here; anything else by the reader.
 */
function attachmentsFollow(body: Buffer, at: number, maxAttachments: number): boolean {
  if (body[at] === 0x48) {
    let p = at + 1;
    for (let strings = 0; strings <= 2 * maxAttachments; strings++) {
      const c = body[p];
      if (c === undefined) break;
      if (c === 0x5a) {
        if (strings % 2 === 0) return true;
        break;
      }
      let units = -1;
      if (c <= 0x1f) {
        units = c;
        p += 1;
      } else if (c >= 0x30 && c <= 0x33 && p + 1 < body.length) {
        units = ((c - 0x30) << 8) + (body[p + 1] as number);
        p += 2;
      }
      if (units < 0) break;
      // ASCII only: then units = bytes.
      let q = p;
      const stop = p + units;
      while (q < stop && q < body.length && (body[q] as number) < 0x80) q++;
      if (q !== stop) break;
      p = stop;
    }
  }
  try {
    // Over the attachments budget: false, so the generic path decodes the reply and names the budget.
    return new HessianReader(body, { maxValues: 2 * maxAttachments + 1 }, at).read() instanceof JavaMap;
  } catch {
    return false;
  }
}
