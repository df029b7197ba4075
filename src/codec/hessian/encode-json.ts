/**
 * JSON → Hessian with declared Java types. `compileJsonEncoder` is called once per route argument
 * when a config is compiled and returns a closure tree; at call time nothing is looked up by name.
 *
 * Input values are what a route's request parsing produces: plain JS values from the body (numbers
 * either `number` or lossless-json `LosslessNumber`), or strings from path/query/header/cookie, which
 * convert to every scalar type. Nothing is ever cast silently: a value that does not fit its type
 * throws HessianArgumentError with the JSON path and what was expected.
 *
 * Exactness: long, BigInteger and BigDecimal never pass through a double. A plain `number` is only
 * accepted for them when it cannot have been rounded by JSON.parse (a safe integer, or for BigDecimal
 * at most 15 significant digits); otherwise the client is told to send a string, or the route should
 * parse its body losslessly. BigDecimal text is sent as given (scale kept: "1.10" stays "1.10").
 *
 * A client's type hints are never honoured: `$class` in a POJO is an unknown field; inside a Map or
 * Object it is an ordinary key. In generic ($invoke) mode a map key named `class` is refused, because
 * Dubbo's PojoUtils.realize would let it choose the Java class.
 */
import { isLosslessNumber } from 'lossless-json';
import { FerryError } from '../../errors/index.js';
import { hessianArrayType, type JavaTimeKind, type JavaType, type JavaTypeOf, type JdkValueKind, type PrimitiveKind } from './java-types.js';
import { boxedFloatDouble, parseCurrency, parseLocale, parseUuid, parseZoneId } from './jdk-values.js';
import {
  formatZoneOffset,
  parseDuration,
  parseMonthDay,
  parsePeriod,
  parseYear,
  parseYearMonth,
  parseZoneOffset,
  splitZoned,
  ZONE_REGION,
} from './java-time-values.js';
import {
  DURATION_FIELDS,
  DURATION_HANDLE,
  MONTH_DAY_FIELDS,
  MONTH_DAY_HANDLE,
  OFFSET_DATE_TIME_FIELDS,
  OFFSET_DATE_TIME_HANDLE,
  OFFSET_TIME_FIELDS,
  OFFSET_TIME_HANDLE,
  PERIOD_FIELDS,
  PERIOD_HANDLE,
  SQL_DATE_FIELDS,
  YEAR_FIELDS,
  YEAR_HANDLE,
  YEAR_MONTH_FIELDS,
  YEAR_MONTH_HANDLE,
  ZONE_OFFSET_FIELDS,
  ZONE_OFFSET_HANDLE,
  ZONED_DATE_TIME_FIELDS,
  ZONED_DATE_TIME_HANDLE,
  BIG_DECIMAL,
  BIG_DECIMAL_FIELDS,
  BIG_INTEGER,
  BIG_INTEGER_FIELDS,
  ENUM_FIELDS,
  INSTANT_FIELDS,
  INSTANT_HANDLE,
  LOCAL_DATE_FIELDS,
  LOCAL_DATE_HANDLE,
  LOCAL_DATE_TIME_FIELDS,
  LOCAL_DATE_TIME_HANDLE,
  LOCAL_TIME_FIELDS,
  LOCAL_TIME_HANDLE,
  CLASS_CLASS,
  CLASS_FIELDS,
  CURRENCY_CLASS,
  CURRENCY_FIELDS,
  ENUM_SET_FIELDS,
  ENUM_SET_HANDLER,
  LOCALE_FIELDS,
  LOCALE_HANDLE,
  UUID_CLASS,
  UUID_FIELDS,
  ZONE_ID_FIELDS,
  ZONE_ID_HANDLE,
} from './constants.js';
import type { HessianWriter } from './writer.js';

/** A JSON value that does not fit its declared Java type. Clients see it as a 400. */
export class HessianArgumentError extends FerryError {
  /** JSON path of the failing value, e.g. `$.tags[2]`. */
  readonly jsonPath: string;
  /** What the type needed and what arrived, e.g. "a long (64-bit integer)" / "1.5". */
  readonly expected: string;
  readonly got: string;
  constructor(jsonPath: string, expected: string, got: string, note?: string) {
    super('FERRY_BAD_ARGUMENT', `${jsonPath}: expected ${expected}, got ${got}${note === undefined ? '' : ` (${note})`}.`, { jsonPath });
    this.name = 'HessianArgumentError';
    this.jsonPath = jsonPath;
    this.expected = expected;
    this.got = got;
  }
}

/** Internal: thrown while encoding, collects the path while it unwinds (no cost when nothing fails). */
class ArgFault {
  readonly segments: Array<string | number> = [];
  constructor(
    readonly expected: string,
    readonly got: string,
    readonly note?: string,
  ) {}
  toError(root: string): HessianArgumentError {
    let path = root;
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const s = this.segments[i] as string | number;
      path += typeof s === 'number' ? `[${s}]` : /^[A-Za-z_$][\w$]*$/.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`;
    }
    return new HessianArgumentError(path, this.expected, this.got, this.note);
  }
}

export type JsonEncoder = (w: HessianWriter, value: unknown, path: string) => void;
type Enc = (w: HessianWriter, v: unknown) => void;

export interface JsonEncoderOptions {
  /** Encode for generic `$invoke`: POJOs as maps, LocalDate/LocalDateTime/LocalTime as ISO strings. */
  generic: boolean;
}

/** Builds the encoder for one declared type. Call once per route argument, at config compile time. */
export function compileJsonEncoder(t: JavaType, opts: JsonEncoderOptions): JsonEncoder {
  // Dubbo passes the arguments as an Object[]: a `float` argument is a boxed Float on the wire.
  const enc = t.kind === 'float' && !t.boxed ? compilePrimitive('float', false, true) : compile(t, opts.generic, new Map());
  return (w, value, path) => {
    try {
      enc(w, value);
    } catch (e) {
      if (e instanceof ArgFault) throw e.toError(path);
      throw e;
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Descriptions for messages

const EXPECTED: Record<PrimitiveKind, string> = {
  boolean: 'a boolean (true or false)',
  int: 'an int (32-bit integer)',
  short: 'a short (16-bit integer)',
  byte: 'a byte (8-bit integer)',
  long: 'a long (64-bit integer)',
  float: 'a float (number)',
  double: 'a double (number)',
  char: 'a char (one UTF-16 character)',
};

function got(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (isLosslessNumber(v)) return v.value.length > 40 ? v.value.slice(0, 40) + '…' : v.value;
  if (Array.isArray(v)) return 'an array';
  return 'an object';
}

function fault(expected: string, v: unknown, note?: string): never {
  throw new ArgFault(expected, got(v), note);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isLosslessNumber(v) && !Buffer.isBuffer(v);
}

// ---------------------------------------------------------------------------------------------
// Number text

const JAVA_DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,9})?$/;
const MAX_BIG_DIGITS = 4096;

interface Decimal {
  neg: boolean;
  /** Significant digits without leading zeros ('' for zero). */
  digits: string;
  /** value = digits × 10^exp */
  exp: number;
}

/** Parses decimal text (BigDecimal grammar). Returns undefined when the text is not a number. */
function parseDecimal(text: string): Decimal | undefined {
  if (!JAVA_DECIMAL.test(text)) return undefined;
  let i = 0;
  let neg = false;
  if (text[0] === '-' || text[0] === '+') {
    neg = text[0] === '-';
    i = 1;
  }
  const e = text.search(/[eE]/);
  const mant = e < 0 ? text.slice(i) : text.slice(i, e);
  const exp10 = e < 0 ? 0 : Number(text.slice(e + 1));
  const dot = mant.indexOf('.');
  const intPart = dot < 0 ? mant : mant.slice(0, dot);
  const frac = dot < 0 ? '' : mant.slice(dot + 1);
  let digits = (intPart + frac).replace(/^0+/, '');
  let exp = exp10 - frac.length;
  const trimmed = digits.replace(/0+$/, '');
  exp += digits.length - trimmed.length;
  digits = trimmed;
  if (digits === '') exp = 0;
  return { neg, digits, exp };
}

/** The integer a decimal denotes, or undefined when it has a fraction or is absurdly large. */
function decimalToBigInt(d: Decimal): bigint | undefined {
  if (d.digits === '') return 0n;
  if (d.exp < 0) return undefined;
  if (d.digits.length + d.exp > MAX_BIG_DIGITS) return undefined;
  const v = BigInt(d.digits + '0'.repeat(d.exp));
  return d.neg ? -v : v;
}

/** Significant digits of a JS number's shortest representation. */
function significantDigits(n: number): number {
  const d = parseDecimal(String(n));
  return d === undefined ? Infinity : d.digits.length;
}

/**
 * The exact integer in `v` (number, LosslessNumber or string), or a fault. `kind` names the
 * expected type for messages.
 */
function exactInteger(v: unknown, expected: string): bigint {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) fault(expected, v);
    if (!Number.isSafeInteger(v)) fault(expected, v, 'beyond 2^53 a JSON number may already have been rounded; send it as a string');
    return BigInt(v);
  }
  let text: string;
  if (typeof v === 'string') text = v;
  else if (isLosslessNumber(v)) text = v.value;
  else return fault(expected, v);
  const d = parseDecimal(text);
  if (d === undefined) return fault(expected, v);
  const b = decimalToBigInt(d);
  if (b === undefined) return fault(expected, v, d.exp < 0 ? 'it has a fraction' : 'too many digits');
  return b;
}

function checkedInt(v: unknown, expected: string, min: number, max: number): number {
  if (typeof v === 'number' && Number.isInteger(v)) {
    if (v < min || v > max) fault(expected, v, 'out of range');
    return v;
  }
  const b = exactInteger(v, expected);
  if (b < BigInt(min) || b > BigInt(max)) fault(expected, v, 'out of range');
  return Number(b);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function checkedLong(v: unknown): number | bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  const b = exactInteger(v, EXPECTED.long);
  if (b < INT64_MIN || b > INT64_MAX) fault(EXPECTED.long, v, 'out of range');
  return b;
}

const DOUBLE_TEXT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function checkedDouble(v: unknown, expected: string): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) fault(expected, v);
    return v;
  }
  let text: string;
  if (isLosslessNumber(v)) text = v.value;
  else if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity' || v === '+Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    text = v;
  } else return fault(expected, v);
  if (!DOUBLE_TEXT.test(text)) fault(expected, v);
  const n = Number(text);
  // Text beyond the double range would reach Java as ±Infinity, text below it as 0: refuse both.
  if (!Number.isFinite(n)) fault(expected, v, 'out of range');
  if (n === 0 && /[1-9]/.test(text.split(/[eE]/)[0] as string)) fault(expected, v, 'too small: it would become 0');
  return n;
}

const FLOAT_MAX_TEXT = '3.4028235E38';

function checkedBool(v: unknown): boolean {
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  return fault(EXPECTED.boolean, v);
}

// ---------------------------------------------------------------------------------------------
// Dates and times

const ISO_DATE_TIME = /^(-?\d{4,9})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?$/;
const ISO_DATE = /^(-?\d{4,9})-(\d{2})-(\d{2})$/;
const ISO_TIME = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/;

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

interface DateParts {
  year: number;
  month: number;
  day: number;
}
interface TimeParts {
  hour: number;
  minute: number;
  second: number;
  nano: number;
}

function dateParts(y: string, m: string, d: string): DateParts | undefined {
  const year = Number(y);
  const month = Number(m);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return { year, month, day };
}

function timeParts(h: string, mi: string, s: string | undefined, f: string | undefined): TimeParts | undefined {
  const hour = Number(h);
  const minute = Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const nano = f === undefined ? 0 : Number(f.padEnd(9, '0'));
  return { hour, minute, second, nano };
}

function offsetMinutes(z: string): number | undefined {
  if (z === 'Z') return 0;
  const h = Number(z.slice(1, 3));
  const m = Number(z.slice(4, 6));
  if (h > 18 || m > 59) return undefined;
  return (z[0] === '-' ? -1 : 1) * (h * 60 + m);
}

/** Epoch seconds and nanos of an ISO date-time with offset, or undefined. */
function parseZoned(text: string): { seconds: number; nano: number } | undefined {
  const m = ISO_DATE_TIME.exec(text);
  if (m === null || m[8] === undefined) return undefined;
  const date = dateParts(m[1] as string, m[2] as string, m[3] as string);
  const time = timeParts(m[4] as string, m[5] as string, m[6], m[7]);
  const off = offsetMinutes(m[8]);
  if (date === undefined || time === undefined || off === undefined) return undefined;
  const ms = Date.UTC(date.year, date.month - 1, date.day, time.hour, time.minute, time.second);
  // Date.UTC maps years 0–99 to 1900+; setUTCFullYear puts them back.
  const d = new Date(ms);
  d.setUTCFullYear(date.year);
  const seconds = d.getTime() / 1000 - off * 60;
  if (!Number.isSafeInteger(seconds)) return undefined;
  return { seconds, nano: time.nano };
}

const DATE_EXPECTED = 'a date-time with offset (ISO 8601, e.g. 2024-02-29T12:00:00+08:00) or epoch milliseconds';

function checkedDateMs(v: unknown): number {
  if (typeof v === 'string' && v.includes('T')) {
    const z = parseZoned(v);
    if (z === undefined) fault(DATE_EXPECTED, v);
    if (z.nano % 1_000_000 !== 0) fault(DATE_EXPECTED, v, 'java.util.Date keeps milliseconds only');
    const ms = z.seconds * 1000 + z.nano / 1_000_000;
    if (!Number.isSafeInteger(ms)) fault(DATE_EXPECTED, v, 'out of range');
    return ms;
  }
  const b = exactInteger(v, DATE_EXPECTED);
  if (b < -(2n ** 53n) || b > 2n ** 53n) fault(DATE_EXPECTED, v, 'out of range');
  return Number(b);
}

function writeLocalDate(w: HessianWriter, d: DateParts): void {
  w.writeObjectBegin(LOCAL_DATE_HANDLE, LOCAL_DATE_FIELDS);
  w.writeInt(d.day);
  w.writeInt(d.month);
  w.writeInt(d.year);
}

function writeLocalTime(w: HessianWriter, t: TimeParts): void {
  w.writeObjectBegin(LOCAL_TIME_HANDLE, LOCAL_TIME_FIELDS);
  w.writeInt(t.nano);
  w.writeInt(t.second);
  w.writeInt(t.minute);
  w.writeInt(t.hour);
}

const LOCAL_DATE_EXPECTED = 'a date like 2024-02-29 (ISO 8601, no offset)';
const LOCAL_TIME_EXPECTED = 'a time like 23:59:59.123 (ISO 8601, no offset)';
const LOCAL_DATE_TIME_EXPECTED = 'a local date-time like 2024-02-29T12:00:00 (ISO 8601, no offset)';
const INSTANT_EXPECTED = 'an instant like 2024-02-29T04:00:00Z (ISO 8601 with offset)';

function checkedLocalDate(v: unknown): DateParts {
  const m = typeof v === 'string' ? ISO_DATE.exec(v) : null;
  const d = m === null ? undefined : dateParts(m[1] as string, m[2] as string, m[3] as string);
  return d ?? fault(LOCAL_DATE_EXPECTED, v);
}

function checkedLocalTime(v: unknown): TimeParts {
  const m = typeof v === 'string' ? ISO_TIME.exec(v) : null;
  const t = m === null ? undefined : timeParts(m[1] as string, m[2] as string, m[3], m[4]);
  return t ?? fault(LOCAL_TIME_EXPECTED, v);
}

function checkedLocalDateTime(v: unknown): { date: DateParts; time: TimeParts } {
  const m = typeof v === 'string' ? ISO_DATE_TIME.exec(v) : null;
  if (m === null || m[8] !== undefined) return fault(LOCAL_DATE_TIME_EXPECTED, v);
  const date = dateParts(m[1] as string, m[2] as string, m[3] as string);
  const time = timeParts(m[4] as string, m[5] as string, m[6], m[7]);
  if (date === undefined || time === undefined) return fault(LOCAL_DATE_TIME_EXPECTED, v);
  return { date, time };
}

// ---------------------------------------------------------------------------------------------
// The other java.time values and java.sql dates: hessian-lite handles (sql: Hessian's SqlDateSerializer)

const TIME_EXPECTED: Readonly<Record<JavaTimeKind, string>> = {
  duration: 'a duration like PT8H6M12.345S (ISO 8601, as java.time.Duration.parse takes it)',
  period: 'a period like P1Y2M3D (ISO 8601, as java.time.Period.parse takes it)',
  year: 'a year like 2024 (a number or its text)',
  yearmonth: 'a year and month like 2024-02',
  monthday: 'a month and day like --02-29',
  zoneoffset: 'an offset like +05:30 or Z',
  offsetdatetime: 'a date-time with offset like 2024-02-29T09:30:00+01:00',
  offsettime: 'a time with offset like 09:30:00+01:00',
  zoneddatetime: 'a date-time with offset and optional zone like 2024-02-29T09:30+01:00[Europe/Paris]',
  sqltimestamp: DATE_EXPECTED,
  sqldate: DATE_EXPECTED,
  sqltime: DATE_EXPECTED,
};

function writeZoneOffset(w: HessianWriter, seconds: number): void {
  w.writeObjectBegin(ZONE_OFFSET_HANDLE, ZONE_OFFSET_FIELDS);
  w.writeInt(seconds);
}

function writeLocalDateTime(w: HessianWriter, dt: { date: DateParts; time: TimeParts }): void {
  w.writeObjectBegin(LOCAL_DATE_TIME_HANDLE, LOCAL_DATE_TIME_FIELDS);
  writeLocalTime(w, dt.time);
  writeLocalDate(w, dt.date);
}

/** `<local><offset>[zone]` with each part checked; undefined when any is malformed. */
function zonedParts(v: unknown, local: (text: string) => boolean): { local: string; offset: number; zone?: string } | undefined {
  const z = typeof v === 'string' ? splitZoned(v) : undefined;
  if (z === undefined || !local(z.local)) return undefined;
  const offset = parseZoneOffset(z.offset);
  if (offset === undefined || (z.zone !== undefined && !ZONE_REGION.test(z.zone) && parseZoneOffset(z.zone) === undefined)) return undefined;
  return { local: z.local, offset, ...(z.zone !== undefined ? { zone: z.zone } : {}) };
}

const isLocalDateTime = (text: string): boolean => {
  const m = ISO_DATE_TIME.exec(text);
  return m !== null && m[8] === undefined && dateParts(m[1]!, m[2]!, m[3]!) !== undefined && timeParts(m[4]!, m[5]!, m[6], m[7]) !== undefined;
};
const isLocalTime = (text: string): boolean => {
  const m = ISO_TIME.exec(text);
  return m !== null && timeParts(m[1]!, m[2]!, m[3], m[4]) !== undefined;
};

/** The encoder of one JavaTimeKind; every value that Java's parse would refuse is a 400 here. */
function compileJavaTime(kind: JavaTimeKind): Enc {
  const expected = TIME_EXPECTED[kind];
  const write = ((): ((w: HessianWriter, v: unknown) => void) => {
    switch (kind) {
      case 'duration':
        return (w, v) => {
          const d = typeof v === 'string' ? parseDuration(v) : undefined;
          if (d === undefined) return fault(expected, v);
          w.writeObjectBegin(DURATION_HANDLE, DURATION_FIELDS);
          w.writeInt(d.nanos);
          w.writeLong(d.seconds);
        };
      case 'period':
        return (w, v) => {
          const p = typeof v === 'string' ? parsePeriod(v) : undefined;
          if (p === undefined) return fault(expected, v);
          w.writeObjectBegin(PERIOD_HANDLE, PERIOD_FIELDS);
          w.writeInt(p.days);
          w.writeInt(p.months);
          w.writeInt(p.years);
        };
      case 'year':
        return (w, v) => {
          const y = parseYear(isLosslessNumber(v) ? Number(v.value) : v);
          if (y === undefined) return fault(expected, v);
          w.writeObjectBegin(YEAR_HANDLE, YEAR_FIELDS);
          w.writeInt(y);
        };
      case 'yearmonth':
        return (w, v) => {
          const ym = typeof v === 'string' ? parseYearMonth(v) : undefined;
          if (ym === undefined) return fault(expected, v);
          w.writeObjectBegin(YEAR_MONTH_HANDLE, YEAR_MONTH_FIELDS);
          w.writeInt(ym.month);
          w.writeInt(ym.year);
        };
      case 'monthday':
        return (w, v) => {
          const md = typeof v === 'string' ? parseMonthDay(v) : undefined;
          if (md === undefined) return fault(expected, v);
          w.writeObjectBegin(MONTH_DAY_HANDLE, MONTH_DAY_FIELDS);
          w.writeInt(md.day);
          w.writeInt(md.month);
        };
      case 'zoneoffset':
        return (w, v) => {
          const o = typeof v === 'string' ? parseZoneOffset(v) : undefined;
          if (o === undefined) return fault(expected, v);
          writeZoneOffset(w, o);
        };
      case 'offsetdatetime':
        return (w, v) => {
          const z = zonedParts(v, isLocalDateTime);
          if (z === undefined || z.zone !== undefined) return fault(expected, v);
          w.writeObjectBegin(OFFSET_DATE_TIME_HANDLE, OFFSET_DATE_TIME_FIELDS);
          writeZoneOffset(w, z.offset);
          writeLocalDateTime(w, checkedLocalDateTime(z.local));
        };
      case 'offsettime':
        return (w, v) => {
          const z = zonedParts(v, isLocalTime);
          if (z === undefined || z.zone !== undefined) return fault(expected, v);
          w.writeObjectBegin(OFFSET_TIME_HANDLE, OFFSET_TIME_FIELDS);
          writeZoneOffset(w, z.offset);
          writeLocalTime(w, checkedLocalTime(z.local));
        };
      case 'zoneddatetime':
        return (w, v) => {
          const z = zonedParts(v, isLocalDateTime);
          if (z === undefined) return fault(expected, v);
          w.writeObjectBegin(ZONED_DATE_TIME_HANDLE, ZONED_DATE_TIME_FIELDS);
          writeZoneOffset(w, z.offset);
          writeLocalDateTime(w, checkedLocalDateTime(z.local));
          // No zone: the offset is the zone, as ZonedDateTime.parse makes it.
          w.writeString(z.zone ?? formatZoneOffset(z.offset));
        };
      case 'sqltimestamp':
      case 'sqldate':
      case 'sqltime': {
        const cls = kind === 'sqltimestamp' ? 'java.sql.Timestamp' : kind === 'sqldate' ? 'java.sql.Date' : 'java.sql.Time';
        return (w, v) => {
          const ms = checkedDateMs(v);
          w.writeObjectBegin(cls, SQL_DATE_FIELDS);
          w.writeDate(ms);
        };
      }
    }
  })();
  return (w, v) => (v === null || v === undefined ? w.writeNull() : write(w, v));
}

// ---------------------------------------------------------------------------------------------
// BigDecimal / BigInteger

const BIG_DECIMAL_EXPECTED = 'a decimal number (java.math.BigDecimal)';
const BIG_INTEGER_EXPECTED = 'an integer (java.math.BigInteger)';

function bigDecimalText(v: unknown): string {
  let text: string;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) fault(BIG_DECIMAL_EXPECTED, v);
    if (!Number.isSafeInteger(v) && significantDigits(v) > 15) {
      fault(BIG_DECIMAL_EXPECTED, v, 'a JSON number with more than 15 digits may already have been rounded; send it as a string');
    }
    text = String(v);
  } else if (typeof v === 'string') text = v;
  else if (isLosslessNumber(v)) text = v.value;
  else return fault(BIG_DECIMAL_EXPECTED, v);
  if (!JAVA_DECIMAL.test(text) || text.length > MAX_BIG_DIGITS) fault(BIG_DECIMAL_EXPECTED, v);
  return text;
}

function writeBigInteger(w: HessianWriter, b: bigint): void {
  const signum = b < 0n ? -1 : b > 0n ? 1 : 0;
  let mag = b < 0n ? -b : b;
  const words: number[] = [];
  while (mag > 0n) {
    words.push(Number(BigInt.asIntN(32, mag & 0xffffffffn)));
    mag >>= 32n;
  }
  w.writeObjectBegin(BIG_INTEGER, BIG_INTEGER_FIELDS);
  w.writeListBegin(words.length, '[int');
  for (let i = words.length - 1; i >= 0; i--) w.writeInt(words[i] as number);
  w.writeInt(0);
  w.writeInt(0);
  w.writeInt(0);
  w.writeInt(0);
  w.writeInt(signum);
}

// ---------------------------------------------------------------------------------------------
// Object (any JSON)

/** The same decimal value? Compares normalised digits and exponents. */
function sameDecimal(a: Decimal, b: Decimal): boolean {
  return a.digits === b.digits && a.exp === b.exp && (a.neg === b.neg || a.digits === '');
}

/**
 * A JSON number as java.lang.Object: int when integral and in int32, long when integral and in int64,
 * double when the double keeps the exact decimal value given, else BigDecimal with the text as given.
 */
function writeAnyNumberText(w: HessianWriter, text: string, v: unknown): void {
  const d = parseDecimal(text);
  if (d === undefined) return fault('a number', v);
  if (d.exp >= 0 && d.digits.length + d.exp <= 19) {
    const b = decimalToBigInt(d) as bigint;
    if (b >= -2147483648n && b <= 2147483647n) return w.writeInt(Number(b));
    if (b >= INT64_MIN && b <= INT64_MAX) return w.writeLong(b);
  }
  const n = Number(text);
  const back = Number.isFinite(n) ? parseDecimal(String(n)) : undefined;
  if (back !== undefined && sameDecimal(d, back)) return w.writeDouble(n);
  w.writeObjectBegin(BIG_DECIMAL, BIG_DECIMAL_FIELDS);
  w.writeString(text);
}

function compileAny(generic: boolean): Enc {
  const any: Enc = (w, v) => {
    if (v === null || v === undefined) return w.writeNull();
    switch (typeof v) {
      case 'string':
        return w.writeString(v);
      case 'boolean':
        return w.writeBool(v);
      case 'number':
        if (Number.isInteger(v) && v >= -2147483648 && v <= 2147483647) return w.writeInt(v);
        if (Number.isSafeInteger(v)) return w.writeLong(v);
        if (!Number.isFinite(v)) return fault('a JSON value', v);
        return w.writeDouble(v);
      case 'bigint':
        return writeAnyNumberText(w, v.toString(), v);
      case 'object':
        break;
      default:
        return fault('a JSON value', v);
    }
    if (isLosslessNumber(v)) return writeAnyNumberText(w, v.value, v);
    if (Array.isArray(v)) {
      w.writeListBegin(v.length, null);
      for (let i = 0; i < v.length; i++) {
        try {
          any(w, v[i]);
        } catch (e) {
          if (e instanceof ArgFault) e.segments.push(i);
          throw e;
        }
      }
      return;
    }
    const obj = v as Record<string, unknown>;
    w.writeMapBegin(null);
    for (const k of Object.keys(obj)) {
      if (generic && k === 'class') fault('an object without a "class" key', v, 'generic calls must not let the client pick a Java class');
      w.writeString(k);
      try {
        any(w, obj[k]);
      } catch (e) {
        if (e instanceof ArgFault) e.segments.push(k);
        throw e;
      }
    }
    w.writeMapEnd();
  };
  return any;
}

// ---------------------------------------------------------------------------------------------
// The compiler

function compile(t: JavaType, generic: boolean, memo: Map<JavaType, Enc>): Enc {
  const hit = memo.get(t);
  if (hit !== undefined) return hit;
  let enc: Enc;
  switch (t.kind) {
    case 'boolean':
    case 'int':
    case 'short':
    case 'byte':
    case 'long':
    case 'float':
    case 'double':
    case 'char':
      enc = compilePrimitive(t.kind, t.boxed);
      break;
    case 'string':
      enc = (w, v) => {
        if (typeof v === 'string') w.writeString(v);
        else if (v === null || v === undefined) w.writeNull();
        else fault('a string', v);
      };
      break;
    case 'bigdecimal':
      enc = (w, v) => {
        if (v === null || v === undefined) return w.writeNull();
        const text = bigDecimalText(v);
        w.writeObjectBegin(BIG_DECIMAL, BIG_DECIMAL_FIELDS);
        w.writeString(text);
      };
      break;
    case 'biginteger':
      enc = (w, v) => {
        if (v === null || v === undefined) return w.writeNull();
        writeBigInteger(w, exactInteger(v, BIG_INTEGER_EXPECTED));
      };
      break;
    case 'date':
      enc = (w, v) => (v === null || v === undefined ? w.writeNull() : w.writeDate(checkedDateMs(v)));
      break;
    case 'localdate':
      enc = generic
        ? (w, v) => (v === null || v === undefined ? w.writeNull() : (checkedLocalDate(v), w.writeString(v as string)))
        : (w, v) => (v === null || v === undefined ? w.writeNull() : writeLocalDate(w, checkedLocalDate(v)));
      break;
    case 'localtime':
      enc = generic
        ? (w, v) => (v === null || v === undefined ? w.writeNull() : (checkedLocalTime(v), w.writeString(v as string)))
        : (w, v) => (v === null || v === undefined ? w.writeNull() : writeLocalTime(w, checkedLocalTime(v)));
      break;
    case 'localdatetime':
      enc = (w, v) => {
        if (v === null || v === undefined) return w.writeNull();
        const dt = checkedLocalDateTime(v);
        if (generic) return w.writeString(v as string);
        w.writeObjectBegin(LOCAL_DATE_TIME_HANDLE, LOCAL_DATE_TIME_FIELDS);
        writeLocalTime(w, dt.time);
        writeLocalDate(w, dt.date);
      };
      break;
    case 'instant':
      // Kept as hessian-lite's handle even in generic mode: it resolves to an Instant while the
      // provider decodes, and PojoUtils has no String → Instant conversion.
      enc = (w, v) => {
        if (v === null || v === undefined) return w.writeNull();
        const z = typeof v === 'string' ? parseZoned(v) : undefined;
        if (z === undefined) return fault(INSTANT_EXPECTED, v);
        w.writeObjectBegin(INSTANT_HANDLE, INSTANT_FIELDS);
        w.writeInt(z.nano);
        w.writeLong(z.seconds);
      };
      break;
    case 'bytes':
      enc = (w, v) => {
        if (v === null || v === undefined) return w.writeNull();
        if (typeof v !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(v) || v.replace(/=+$/, '').length % 4 === 1) {
          return fault('base64 data', v);
        }
        w.writeBytes(Buffer.from(v, v.includes('-') || v.includes('_') ? 'base64url' : 'base64'));
      };
      break;
    case 'enum':
      enc = compileEnum(t, generic);
      break;
    case 'list':
    case 'array':
      enc = compileList(t, generic, memo);
      break;
    case 'map':
      enc = compileMap(t, generic, memo);
      break;
    case 'pojo':
      enc = compilePojo(t, generic, memo);
      break;
    case 'object':
      enc = compileAny(generic);
      break;
    case 'uuid':
    case 'currency':
    case 'locale':
    case 'zoneid':
      enc = compileJdkValue(t.kind);
      break;
    case 'enumset':
      enc = compileEnumSet(t, generic);
      break;
    case 'enummap':
      throw new Error(
        `${t.key.name} as an EnumMap key cannot be sent to Java: hessian-lite reads every map back as a HashMap, even into an EnumMap parameter or field (the provider then fails). Declare Map<${t.key.name}, …> instead; EnumMap is fine as a return type.`,
      );
    default:
      // Kept as hessian-lite's handles in generic mode too, as Instant is (PojoUtils has no String → java.time conversion for them).
      enc = compileJavaTime(t.kind);
  }
  memo.set(t, enc);
  return enc;
}

function compilePrimitive(kind: PrimitiveKind, boxed: boolean, boxedOnWire = boxed): Enc {
  const expected = EXPECTED[kind];
  const onNull: Enc = boxed ? (w) => w.writeNull() : (_w, v) => fault(expected, v, 'a primitive cannot be null');
  switch (kind) {
    case 'boolean':
      return (w, v) => (v === null || v === undefined ? onNull(w, v) : w.writeBool(checkedBool(v)));
    case 'int':
      return (w, v) => (v === null || v === undefined ? onNull(w, v) : w.writeInt(checkedInt(v, expected, -2147483648, 2147483647)));
    case 'short':
      return (w, v) => (v === null || v === undefined ? onNull(w, v) : w.writeInt(checkedInt(v, expected, -32768, 32767)));
    case 'byte':
      return (w, v) => (v === null || v === undefined ? onNull(w, v) : w.writeInt(checkedInt(v, expected, -128, 127)));
    case 'long':
      return (w, v) => (v === null || v === undefined ? onNull(w, v) : w.writeLong(checkedLong(v)));
    case 'double':
      return (w, v) => (v === null || v === undefined ? onNull(w, v) : w.writeDouble(checkedDouble(v, expected)));
    case 'float':
      return (w, v) => {
        if (v === null || v === undefined) return onNull(w, v);
        const d = checkedDouble(v, expected);
        // Java's Float.parseFloat rounds to the nearest float: 3.4028235e38 is Float.MAX_VALUE, 3.5e38 would be Infinity.
        const f = Math.fround(d);
        if (Number.isFinite(d) && !Number.isFinite(f)) fault(expected, v, `beyond Float.MAX_VALUE (${FLOAT_MAX_TEXT})`);
        if (d !== 0 && f === 0) fault(expected, v, 'too small for a float: it would become 0 (Float.MIN_VALUE is 1.4E-45)');
        // hessian-lite writes a float field widened to double, a boxed Float as the double of Float.toString.
        w.writeDouble(boxedOnWire ? boxedFloatDouble(f) : f);
      };
    case 'char':
      return (w, v) => {
        if (v === null || v === undefined) return onNull(w, v);
        if (typeof v !== 'string' || v.length !== 1) fault(expected, v);
        w.writeString(v);
      };
  }
}

const JDK_VALUE_EXPECTED: Readonly<Record<JdkValueKind, string>> = {
  uuid: 'a UUID like 123e4567-e89b-12d3-a456-426614174000',
  currency: 'an ISO 4217 currency code Java knows, like EUR',
  locale: 'a locale like en_US (Locale.toString) or en-US',
  zoneid: 'a time-zone id like Europe/Paris, UTC or +05:30',
};

/** UUID, Currency, Locale, ZoneId: each checked as Java would, written as hessian-lite writes it (also in generic mode: each resolves while the provider reads it). */
function compileJdkValue(kind: JdkValueKind): Enc {
  const expected = JDK_VALUE_EXPECTED[kind];
  const write = ((): Enc => {
    switch (kind) {
      case 'uuid':
        return (w, v) => {
          const u = typeof v === 'string' ? parseUuid(v) : undefined;
          if (u === undefined) return fault(expected, v);
          w.writeObjectBegin(UUID_CLASS, UUID_FIELDS);
          w.writeString(u);
        };
      case 'currency':
        return (w, v) => {
          const c = typeof v === 'string' ? parseCurrency(v) : undefined;
          if (c === undefined)
            return fault(expected, v, typeof v === 'string' && /^[A-Za-z]{3}$/.test(v) ? 'not a code java.util.Currency knows' : undefined);
          w.writeObjectBegin(CURRENCY_CLASS, CURRENCY_FIELDS);
          w.writeString(c);
        };
      case 'locale':
        return (w, v) => {
          const l = typeof v === 'string' ? parseLocale(v) : { ok: false as const };
          if (!l.ok) return fault(expected, v, l.note);
          w.writeObjectBegin(LOCALE_HANDLE, LOCALE_FIELDS);
          w.writeString(l.value);
        };
      case 'zoneid':
        return (w, v) => {
          const z = typeof v === 'string' ? parseZoneId(v, parseZoneOffset, formatZoneOffset) : undefined;
          if (z === undefined) return fault(expected, v, typeof v === 'string' ? 'not a zone the time-zone database knows' : undefined);
          // ZoneId.of("+05:30") is a ZoneOffset: hessian-lite writes its own handle for it.
          if (z.kind === 'offset') return writeZoneOffset(w, z.seconds);
          w.writeObjectBegin(ZONE_ID_HANDLE, ZONE_ID_FIELDS);
          w.writeString(z.id);
        };
    }
  })();
  return (w, v) => (v === null || v === undefined ? w.writeNull() : write(w, v));
}

/**
 * EnumSet<E>: a JSON array of constant names, written as hessian-lite's EnumSetSerializer writes a
 * RegularEnumSet: an EnumSetHandler with the constants in ordinal order (the only order an EnumSet
 * has) and the enum's Class. A name given twice is refused rather than dropped.
 */
function compileEnumSet(t: JavaTypeOf<'enumset'>, generic: boolean): Enc {
  if (generic) {
    throw new Error(
      `EnumSet<${t.elem.name}> is not supported on generic ($invoke) services: Dubbo's PojoUtils cannot rebuild an EnumSet; call the service directly.`,
    );
  }
  const ordinal = new Map(t.elem.constants.map((c, i) => [c, i] as const));
  const expected = t.elem.constants.length <= 12 ? `one of ${t.elem.constants.join(', ')} (${t.elem.name})` : `a constant of ${t.elem.name}`;
  return (w, v) => {
    if (v === null || v === undefined) return w.writeNull();
    if (!Array.isArray(v)) return fault(`an array of constant names (EnumSet<${t.elem.name}>)`, v);
    const seen = new Set<string>();
    for (let i = 0; i < v.length; i++) {
      const name = v[i] as unknown;
      if (typeof name !== 'string' || !ordinal.has(name)) {
        const f = new ArgFault(expected, got(name));
        f.segments.push(i);
        throw f;
      }
      if (seen.has(name)) {
        const f = new ArgFault(`each constant once (a set)`, got(name), 'given twice');
        f.segments.push(i);
        throw f;
      }
      seen.add(name);
    }
    const names = [...seen].sort((a, b) => (ordinal.get(a) as number) - (ordinal.get(b) as number));
    w.writeObjectBegin(ENUM_SET_HANDLER, ENUM_SET_FIELDS);
    w.writeListBegin(names.length, '[object');
    for (const name of names) {
      w.writeObjectBegin(t.elem.name, ENUM_FIELDS);
      w.writeString(name);
    }
    w.writeObjectBegin(CLASS_CLASS, CLASS_FIELDS);
    w.writeString(t.elem.name);
  };
}

function compileEnum(t: JavaTypeOf<'enum'>, generic: boolean): Enc {
  const names = new Set(t.constants);
  const expected = t.constants.length <= 12 ? `one of ${t.constants.join(', ')} (${t.name})` : `a constant of ${t.name}`;
  return (w, v) => {
    if (v === null || v === undefined) return w.writeNull();
    if (typeof v !== 'string' || !names.has(v)) return fault(expected, v);
    if (generic) return w.writeString(v);
    w.writeObjectBegin(t.name, ENUM_FIELDS);
    w.writeString(v);
  };
}

const SET_TYPES: Record<string, string | null> = {
  'java.util.List': null,
  'java.util.ArrayList': null,
  'java.util.Collection': null,
  'java.util.LinkedList': 'java.util.LinkedList',
  'java.util.Set': 'java.util.HashSet',
  'java.util.HashSet': 'java.util.HashSet',
  'java.util.LinkedHashSet': 'java.util.LinkedHashSet',
  'java.util.SortedSet': 'java.util.TreeSet',
  'java.util.TreeSet': 'java.util.TreeSet',
};

function compileList(t: JavaTypeOf<'list'> | JavaTypeOf<'array'>, generic: boolean, memo: Map<JavaType, Enc>): Enc {
  let type: string | null;
  if (t.kind === 'list') {
    type = SET_TYPES[t.javaClass] ?? null;
  } else {
    const k = t.elem.kind;
    const basic = 'boxed' in t.elem || k === 'string' || k === 'object' || k === 'date';
    type = generic && !basic ? null : hessianArrayType(t.elem);
  }
  const elem = compile(t.elem, generic, memo);
  return (w, v) => {
    if (v === null || v === undefined) return w.writeNull();
    if (!Array.isArray(v)) return fault('an array', v);
    w.writeListBegin(v.length, type);
    for (let i = 0; i < v.length; i++) {
      try {
        elem(w, v[i]);
      } catch (e) {
        if (e instanceof ArgFault) e.segments.push(i);
        throw e;
      }
    }
  };
}

const MAP_TYPES: Record<string, string | null> = {
  'java.util.Map': null,
  'java.util.HashMap': null,
  'java.util.LinkedHashMap': 'java.util.LinkedHashMap',
  'java.util.SortedMap': 'java.util.TreeMap',
  'java.util.TreeMap': 'java.util.TreeMap',
};

function compileMap(t: JavaTypeOf<'map'>, generic: boolean, memo: Map<JavaType, Enc>): Enc {
  const k = t.key.kind;
  if (k === 'list' || k === 'array' || k === 'map' || k === 'pojo' || k === 'bytes') {
    throw new Error(`Map keys of type ${k} cannot come from JSON object keys; declare a scalar key type.`);
  }
  const type = MAP_TYPES[t.javaClass] ?? null;
  const keyEnc = compile(t.key, generic, memo);
  const valueEnc = compile(t.value, generic, memo);
  const keyIsString = k === 'string' || k === 'object';
  return (w, v) => {
    if (v === null || v === undefined) return w.writeNull();
    if (!isPlainObject(v)) return fault('an object', v);
    w.writeMapBegin(type);
    for (const key of Object.keys(v)) {
      try {
        if (generic && key === 'class') fault('an object without a "class" key', v, 'generic calls must not let the client pick a Java class');
        if (keyIsString) w.writeString(key);
        else keyEnc(w, key);
        valueEnc(w, v[key]);
      } catch (e) {
        if (e instanceof ArgFault) e.segments.push(key);
        throw e;
      }
    }
    w.writeMapEnd();
  };
}

function zeroWriter(t: JavaType): Enc | undefined {
  if (!('boxed' in t) || t.boxed) return undefined;
  switch (t.kind) {
    case 'boolean':
      return (w) => w.writeBool(false);
    case 'long':
      return (w) => w.writeLong(0);
    case 'float':
    case 'double':
      return (w) => w.writeDouble(0);
    case 'char':
      return (w) => w.writeString('\u0000');
    default:
      return (w) => w.writeInt(0);
  }
}

function compilePojo(t: JavaTypeOf<'pojo'>, generic: boolean, memo: Map<JavaType, Enc>): Enc {
  // Recursive POJOs: register an indirection before compiling the fields.
  let impl: Enc = () => {
    throw new Error(`encoder for ${t.name} used before it was compiled`);
  };
  memo.set(t, (w, v) => impl(w, v));
  const names = Object.freeze(t.fields.map((f) => f.name));
  const known = new Set(names);
  const encs = t.fields.map((f) => compile(f.type, generic, memo));
  const zeros = t.fields.map((f) => zeroWriter(f.type));
  const n = names.length;
  const expected = `an object (${t.name})`;
  const declared = names.length <= 12 ? names.join(', ') : `${names.slice(0, 12).join(', ')}, …`;

  const checkKeys = (v: Record<string, unknown>): void => {
    for (const k in v) {
      if (!known.has(k)) {
        const f = new ArgFault(`one of the declared fields of ${t.name} (${declared})`, `an unknown field ${JSON.stringify(k)}`);
        f.segments.push(k);
        throw f;
      }
    }
  };

  impl = generic
    ? (w, v) => {
        if (v === null || v === undefined) return w.writeNull();
        if (!isPlainObject(v)) return fault(expected, v);
        checkKeys(v);
        w.writeMapBegin(null);
        w.writeString('class');
        w.writeString(t.name);
        for (let i = 0; i < n; i++) {
          const name = names[i] as string;
          const fv = v[name];
          if (fv === undefined) continue;
          w.writeString(name);
          try {
            (encs[i] as Enc)(w, fv);
          } catch (e) {
            if (e instanceof ArgFault) e.segments.push(name);
            throw e;
          }
        }
        w.writeMapEnd();
      }
    : (w, v) => {
        if (v === null || v === undefined) return w.writeNull();
        if (!isPlainObject(v)) return fault(expected, v);
        checkKeys(v);
        w.writeObjectBegin(t.name, names);
        for (let i = 0; i < n; i++) {
          const name = names[i] as string;
          const fv = v[name];
          const zero = zeros[i];
          if (fv === undefined && zero !== undefined) {
            zero(w, fv);
            continue;
          }
          try {
            (encs[i] as Enc)(w, fv);
          } catch (e) {
            if (e instanceof ArgFault) e.segments.push(name);
            throw e;
          }
        }
      };
  return memo.get(t) as Enc;
}
