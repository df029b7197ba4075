/**
 * Hessian → JSON under the exactness policy of DESIGN.md ("Types and exactness"). Input is the
 * neutral tree HessianReader produces; output is JSON-safe JS values (no bigint, no NaN).
 *
 * Rules, beyond the table:
 * - long: a number when |v| ≤ 2^53−1 under `longs: 'auto'`, else a decimal string; always a string
 *   under `longs: 'string'`. Hessian ints are always numbers.
 * - BigDecimal: its `value` text exactly as Java's BigDecimal.toString() wrote it, exponent form
 *   included ("1E+3", "1E-10"), so scale and every digit survive. Clients that need plain notation
 *   can reformat; re-parsing Java's text is always exact.
 * - BigInteger: decimal string rebuilt from `signum` and `mag`.
 * - Date: ISO 8601 UTC with milliseconds ("2021-06-30T23:59:59.123Z").
 * - java.time (hessian-lite handles, and compact-mode java.time.LocalDateTime): the string Java's
 *   toString() gives ("2021-06-30T23:59:59.123456789", "23:59", "2021-06-30T23:59:59.123Z").
 * - Enums: an object whose class is in `enumClasses`, or else any object with exactly one field,
 *   `name`, holding a string (the shape hessian-lite's EnumSerializer writes), becomes that name.
 *   A POJO whose only field is a String `name` looks the same on the wire; pass its class in
 *   enumClasses' complement by declaring the return type, or accept the name.
 * - Doubles NaN, Infinity, -Infinity become the strings "NaN", "Infinity", "-Infinity".
 * - Maps become objects; keys are stringified (numbers and longs in decimal, enums by name, dates in
 *   ISO). A reference back to an enclosing object (Throwable.cause = this) becomes null.
 */
import { FerryError } from '../../errors/index.js';
import { DECODE_CHECK_EVERY, DecodeDeadlineError, NO_DEADLINE, pastDeadline } from '../decode-deadline.js';
import {
  BIG_DECIMAL,
  BIG_INTEGER,
  COMPACT_LOCAL_DATE_TIME,
  DEFAULT_MAX_NODES,
  INSTANT_HANDLE,
  LOCAL_DATE_HANDLE,
  LOCAL_DATE_TIME_HANDLE,
  LOCAL_TIME_HANDLE,
  DURATION_HANDLE,
  MONTH_DAY_HANDLE,
  OFFSET_DATE_TIME_HANDLE,
  OFFSET_TIME_HANDLE,
  PERIOD_HANDLE,
  SQL_DATE_CLASSES,
  YEAR_HANDLE,
  YEAR_MONTH_HANDLE,
  ZONE_OFFSET_HANDLE,
  ZONED_DATE_TIME_HANDLE,
  CURRENCY_CLASS,
  ENUM_SET_HANDLER,
  LOCALE_HANDLE,
  UUID_CLASS,
  ZONE_ID_HANDLE,
} from './constants.js';
import { formatDuration, formatMonthDay, formatPeriod, formatYearMonth, formatZoneOffset, ZONE_REGION } from './java-time-values.js';
import { isLocaleText, parseCurrency, parseUuid, uuidFromBits } from './jdk-values.js';
import { JavaDate, JavaMap, JavaObject } from './reader.js';

export interface ToJsonOptions {
  longs: 'auto' | 'string';
  /** Classes known to be enums (from the mapping's declared types). */
  enumClasses?: ReadonlySet<string>;
  /** Most values emitted before giving up (guards against reference bombs). Default 1 000 000. */
  maxNodes?: number;
  /** The route's deadline (performance.now() ms): past it, converting stops with DecodeDeadlineError (decode-deadline.ts). */
  deadline?: number;
  /**
   * Map entries with this key and a string value are left out. Dubbo's generic results carry the
   * POJO's class as `"class": "<FQCN>"` in each map (PojoUtils.generalize); generic routes drop it
   * so they answer the same JSON as direct ones.
   */
  dropStringKey?: string;
  /**
   * Declared field order by class name (the mapping's `types:`): an object of such a class lists
   * its declared fields in that order, then any others in wire order. hessian-lite writes fields
   * in its own order (primitives and java.lang types apart from the rest, reversed), not the class's.
   */
  fieldOrder?: ReadonlyMap<string, readonly string[]>;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

function pad(n: number, width: number): string {
  const s = String(Math.abs(n));
  return (n < 0 ? '-' : '') + s.padStart(width, '0');
}

/** LocalDate.toString: yyyy-MM-dd, '+' before years over 9999. */
export function formatLocalDate(year: number, month: number, day: number): string {
  const y = Math.abs(year) < 1000 ? pad(year, 4) : year > 9999 ? `+${year}` : String(year);
  return `${y}-${pad(month, 2)}-${pad(day, 2)}`;
}

function fraction(nano: number): string {
  if (nano === 0) return '';
  if (nano % 1_000_000 === 0) return '.' + pad(nano / 1_000_000, 3);
  if (nano % 1000 === 0) return '.' + pad(nano / 1000, 6);
  return '.' + pad(nano, 9);
}

/** LocalTime.toString: HH:mm, then :ss when seconds or nanos are set, then 3, 6 or 9 fraction digits. */
export function formatLocalTime(hour: number, minute: number, second: number, nano: number): string {
  let s = `${pad(hour, 2)}:${pad(minute, 2)}`;
  if (second > 0 || nano > 0) s += `:${pad(second, 2)}${fraction(nano)}`;
  return s;
}

/** Instant.toString (ISO_INSTANT): always seconds, fraction in groups of 3 digits, 'Z'. */
export function formatInstant(seconds: bigint, nano: number): string {
  const days = seconds >= 0n ? seconds / 86400n : -((-seconds + 86399n) / 86400n);
  const secOfDay = Number(seconds - days * 86400n);
  const date = civilFromDays(Number(days));
  const hh = Math.floor(secOfDay / 3600);
  const mm = Math.floor((secOfDay % 3600) / 60);
  const ss = secOfDay % 60;
  return `${formatLocalDate(date.year, date.month, date.day)}T${pad(hh, 2)}:${pad(mm, 2)}:${pad(ss, 2)}${fraction(nano)}Z`;
}

/** Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's civil_from_days). */
function civilFromDays(z: number): { year: number; month: number; day: number } {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return NaN;
}

function bigIntFromFields(f: Record<string, unknown>): string | undefined {
  const signum = num(f['signum']);
  const mag = f['mag'];
  if (!Array.isArray(mag) || !Number.isInteger(signum)) return undefined;
  let v = 0n;
  for (const word of mag) {
    if (typeof word !== 'number') return undefined;
    v = (v << 32n) | BigInt(word >>> 0);
  }
  return (signum < 0 ? -v : v).toString();
}

type Special = (f: Record<string, unknown>) => string | undefined;

function localDateOf(f: Record<string, unknown>): string {
  return formatLocalDate(num(f['year']), num(f['month']), num(f['day']));
}

function localTimeOf(f: Record<string, unknown>): string {
  return formatLocalTime(num(f['hour']), num(f['minute']), num(f['second']), num(f['nano']));
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** A nested handle's text: the value must be an instance of `cls` whose converter accepts it. */
function nested(v: unknown, cls: string): string | undefined {
  return v instanceof JavaObject && v.className === cls ? SPECIALS.get(cls)?.(v.fields) : undefined;
}

function zoneOffsetOf(f: Record<string, unknown>): string | undefined {
  const s = f['seconds'];
  return isInt(s) && Math.abs(s) <= 18 * 3600 ? formatZoneOffset(s) : undefined;
}

/** A reply that claims a JDK value class but does not hold one: the provider (or something between) is not speaking Hessian as Java writes it. */
function malformed(cls: string, what: string): never {
  throw new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', `The provider sent a ${cls} that is not one: ${what}.`);
}

/** A region id, or a prefixed offset as ZoneId.getId writes it (`UTC+05:00`). */
const isZoneIdText = (id: string): boolean => ZONE_REGION.test(id) || /^(?:UTC|GMT|UT)[+-]\d{2}:\d{2}(?::\d{2})?$/.test(id);

const longOf = (v: unknown): bigint | undefined => (typeof v === 'bigint' ? v : isInt(v) ? BigInt(v) : undefined);

/**
 * UUID, Currency, Locale, ZoneId (a region; offsets are ZoneOffsetHandles): Java always writes these
 * with the one field checked here, so anything else is refused (502) rather than shown as a field map.
 */
const JDK_VALUES: ReadonlyArray<[string, Special]> = [
  [
    UUID_CLASS,
    (f) => {
      const v = f['value'];
      if (typeof v === 'string') return parseUuid(v) ?? malformed(UUID_CLASS, 'its value is not a UUID');
      // Caucho Hessian writes a UUID's two longs instead of its text.
      const most = longOf(f['mostSigBits']);
      const least = longOf(f['leastSigBits']);
      return most !== undefined && least !== undefined ? uuidFromBits(most, least) : malformed(UUID_CLASS, 'no value');
    },
  ],
  [
    CURRENCY_CLASS,
    (f) =>
      (typeof f['currencyCode'] === 'string' ? parseCurrency(f['currencyCode']) : undefined) ?? malformed(CURRENCY_CLASS, 'no known currencyCode'),
  ],
  [
    LOCALE_HANDLE,
    (f) =>
      typeof f['value'] === 'string' && isLocaleText(f['value'])
        ? f['value']
        : malformed('java.util.Locale', 'its value is not a Locale.toString() text'),
  ],
  [
    ZONE_ID_HANDLE,
    (f) =>
      typeof f['zoneId'] === 'string' && isZoneIdText(f['zoneId']) ? f['zoneId'] : malformed('java.time.ZoneId', 'its zoneId is not a zone id'),
  ],
];

/** Converters of STRING_FORM_CLASSES (constants.ts), by class name (one Map lookup per object). */
const SPECIALS = new Map<string, Special>([
  ...JDK_VALUES,
  [
    DURATION_HANDLE,
    (f) => {
      const s = f['seconds'];
      const n = f['nanos'];
      const seconds = typeof s === 'bigint' ? s : isInt(s) ? BigInt(s) : undefined;
      return seconds === undefined || !isInt(n) || n < 0 || n > 999_999_999 ? undefined : formatDuration(seconds, n);
    },
  ],
  [
    PERIOD_HANDLE,
    (f) => (isInt(f['years']) && isInt(f['months']) && isInt(f['days']) ? formatPeriod(f['years'], f['months'], f['days']) : undefined),
  ],
  [YEAR_HANDLE, (f) => (isInt(f['year']) ? String(f['year']) : undefined)],
  [YEAR_MONTH_HANDLE, (f) => (isInt(f['year']) && isInt(f['month']) ? formatYearMonth(f['year'], f['month']) : undefined)],
  [MONTH_DAY_HANDLE, (f) => (isInt(f['month']) && isInt(f['day']) ? formatMonthDay(f['month'], f['day']) : undefined)],
  [ZONE_OFFSET_HANDLE, zoneOffsetOf],
  [
    OFFSET_DATE_TIME_HANDLE,
    (f) => {
      const dt = nested(f['dateTime'], LOCAL_DATE_TIME_HANDLE);
      const off = nested(f['offset'], ZONE_OFFSET_HANDLE);
      return dt === undefined || off === undefined ? undefined : dt + off;
    },
  ],
  [
    OFFSET_TIME_HANDLE,
    (f) => {
      const t = nested(f['localTime'], LOCAL_TIME_HANDLE);
      const off = nested(f['zoneOffset'], ZONE_OFFSET_HANDLE);
      return t === undefined || off === undefined ? undefined : t + off;
    },
  ],
  [
    ZONED_DATE_TIME_HANDLE,
    (f) => {
      const dt = nested(f['dateTime'], LOCAL_DATE_TIME_HANDLE);
      const off = nested(f['offset'], ZONE_OFFSET_HANDLE);
      const zone = f['zoneId'];
      if (dt === undefined || off === undefined || typeof zone !== 'string') return undefined;
      // ZonedDateTime.toString: the zone in brackets unless it is the offset itself.
      return zone === off ? dt + off : `${dt}${off}[${zone}]`;
    },
  ],
  ...[...SQL_DATE_CLASSES].map((cls): [string, Special] => [cls, (f) => (f['value'] instanceof JavaDate ? dateIso(f['value'].ms) : undefined)]),
  [BIG_DECIMAL, (f) => (typeof f['value'] === 'string' ? f['value'] : undefined)],
  [BIG_INTEGER, bigIntFromFields],
  [LOCAL_DATE_HANDLE, localDateOf],
  [LOCAL_TIME_HANDLE, localTimeOf],
  [
    LOCAL_DATE_TIME_HANDLE,
    (f) => {
      const d = f['date'];
      const t = f['time'];
      if (!(d instanceof JavaObject) || !(t instanceof JavaObject)) return undefined;
      return `${localDateOf(d.fields)}T${localTimeOf(t.fields)}`;
    },
  ],
  [
    INSTANT_HANDLE,
    (f) => {
      const s = f['seconds'];
      const seconds = typeof s === 'bigint' ? s : typeof s === 'number' ? BigInt(s) : undefined;
      return seconds === undefined ? undefined : formatInstant(seconds, num(f['nanos']));
    },
  ],
  // hessian-lite compact mode: date = epoch day, time = nano of day.
  [
    COMPACT_LOCAL_DATE_TIME,
    (f) => {
      const day = f['date'];
      const nod = f['time'];
      if (typeof day !== 'bigint' && typeof day !== 'number') return undefined;
      if (typeof nod !== 'bigint' && typeof nod !== 'number') return undefined;
      const d = civilFromDays(Number(day));
      const n = BigInt(nod);
      const secs = Number(n / 1_000_000_000n);
      const time = formatLocalTime(Math.floor(secs / 3600), Math.floor((secs % 3600) / 60), secs % 60, Number(n % 1_000_000_000n));
      return `${formatLocalDate(d.year, d.month, d.day)}T${time}`;
    },
  ],
]);

const MS_PER_DAY = 86_400_000;

/** ISO 8601 UTC with milliseconds, as Date.toISOString gives it, without building a Date. */
export function dateIso(ms: number): string {
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return String(ms);
  const days = Math.floor(ms / MS_PER_DAY);
  let rest = ms - days * MS_PER_DAY;
  const d = civilFromDays(days);
  const hh = Math.floor(rest / 3_600_000);
  rest -= hh * 3_600_000;
  const mi = Math.floor(rest / 60_000);
  rest -= mi * 60_000;
  const ss = Math.floor(rest / 1000);
  const milli = rest - ss * 1000;
  const y = d.year >= 0 && d.year <= 9999 ? pad(d.year, 4) : (d.year < 0 ? '-' : '+') + String(Math.abs(d.year)).padStart(6, '0');
  return `${y}-${pad(d.month, 2)}-${pad(d.day, 2)}T${pad(hh, 2)}:${pad(mi, 2)}:${pad(ss, 2)}.${pad(milli, 3)}Z`;
}

/** Converts a decoded Hessian value to JSON-safe JS values (see the module comment for the rules). */
export function toJson(value: unknown, opts: ToJsonOptions): unknown {
  const longsAsString = opts.longs === 'string';
  const enumClasses = opts.enumClasses;
  const dropKey = opts.dropStringKey;
  const fieldOrder = opts.fieldOrder;
  const limit = opts.maxNodes ?? DEFAULT_MAX_NODES;
  let budget = limit;
  const deadline = opts.deadline ?? NO_DEADLINE;
  // `budget` below `checkAt`: over budget (below 0) or the clock's turn (decode-deadline.ts).
  const nextCheck = (): number => (deadline === NO_DEADLINE ? 0 : Math.max(0, budget - DECODE_CHECK_EVERY));
  let checkAt = nextCheck();
  const open = new Set<object>();
  // A value referenced again (Hessian's shared references) is converted once: later uses take the
  // same result and charge its node count at once, so a reference bomb (each level holding the
  // previous one twice) hits the budget after a few dozen levels instead of a million conversions.
  // A result cut short by a cycle (an enclosing value became null) depends on where it sits: not kept.
  const done = new Map<object, { readonly out: unknown; readonly nodes: number }>();
  let cuts = 0;
  const checkpoint = (): void => {
    if (budget < 0) throw new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', 'The provider result expands to too many values to return as JSON.');
    if (pastDeadline(deadline)) throw new DecodeDeadlineError(limit - budget);
    checkAt = nextCheck();
  };
  /** Converts a list, map or object once; `budget` was already charged for the value itself. */
  const container = (v: object, convert: () => unknown): unknown => {
    const again = done.get(v);
    if (again !== undefined) {
      budget -= again.nodes - 1;
      if (budget < checkAt) checkpoint();
      return again.out;
    }
    if (open.has(v)) {
      cuts++;
      return null;
    }
    const startBudget = budget + 1;
    const startCuts = cuts;
    open.add(v);
    const out = convert();
    open.delete(v);
    if (cuts === startCuts) done.set(v, { out, nodes: startBudget - budget });
    return out;
  };

  const key = (k: unknown): string => {
    if (typeof k === 'string') return k;
    const j = conv(k);
    return typeof j === 'string' ? j : j === null ? 'null' : typeof j === 'object' ? JSON.stringify(j) : String(j);
  };

  const conv = (v: unknown): unknown => {
    if (--budget < checkAt) checkpoint();
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return v;
      case 'number':
        if (Number.isFinite(v)) return v;
        return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
      case 'bigint':
        if (!longsAsString && v >= MIN_SAFE && v <= MAX_SAFE) return Number(v);
        return v.toString();
      case 'undefined':
        return null;
      case 'object':
        break;
      default:
        return null;
    }
    if (v === null) return null;
    if (v instanceof JavaObject) {
      const sp = SPECIALS.get(v.className);
      const special = sp === undefined ? undefined : sp(v.fields);
      if (special !== undefined) return special;
      const f = v.fields;
      // An EnumSet: the array of its constants (hessian-lite writes them in ordinal order).
      if (v.className === ENUM_SET_HANDLER) {
        if (!Array.isArray(f['objects'])) malformed('java.util.EnumSet', 'no list of constants');
        return conv(f['objects']);
      }
      if (enumClasses?.has(v.className) && typeof f['name'] === 'string') return f['name'];
      let names = Object.keys(f);
      if (names.length === 1 && names[0] === 'name' && typeof f['name'] === 'string' && !open.has(v)) return f['name'];
      const declared = fieldOrder?.get(v.className);
      if (declared !== undefined && names.length > 1) names = inDeclaredOrder(names, declared);
      return container(v, () => {
        const out: Record<string, unknown> = {};
        for (const n of names) setKey(out, n, conv(f[n]));
        return out;
      });
    }
    if (Array.isArray(v)) {
      return container(v, () => {
        const out = new Array<unknown>(v.length);
        for (let i = 0; i < v.length; i++) out[i] = conv(v[i]);
        return out;
      });
    }
    if (v instanceof JavaMap) {
      return container(v, () => {
        const out: Record<string, unknown> = {};
        for (const [k, val] of v) {
          if (dropKey !== undefined && k === dropKey && typeof val === 'string') continue;
          setKey(out, key(k), conv(val));
        }
        return out;
      });
    }
    if (v instanceof JavaDate) return dateIso(v.ms);
    if (Buffer.isBuffer(v)) return v.toString('base64');
    return null;
  };
  return conv(value);
}

/** `names` (wire order) with the declared ones first, in declared order, then the rest as they came. */
export function inDeclaredOrder(names: readonly string[], declared: readonly string[]): string[] {
  const present = new Set(names);
  const taken = new Set<string>();
  for (const n of declared) if (present.has(n)) taken.add(n);
  for (const n of names) taken.add(n);
  return [...taken];
}

function setKey(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/** What a Java exception carries that is worth showing: class, message, and its causes. */
export interface ThrowableInfo {
  className: string;
  message: string | null;
  cause?: ThrowableInfo;
}

/**
 * Reads a decoded Throwable (class name, `detailMessage`, `cause` chain; Dubbo's GenericException
 * via `exceptionClass`/`exceptionMessage`). Returns undefined for values that are not exceptions.
 */
export function describeThrowable(value: unknown, seen: Set<unknown> = new Set()): ThrowableInfo | undefined {
  if (!(value instanceof JavaObject) || seen.has(value)) return undefined;
  seen.add(value);
  const f = value.fields;
  if (typeof f['exceptionClass'] === 'string' && 'exceptionMessage' in f) {
    return { className: f['exceptionClass'], message: typeof f['exceptionMessage'] === 'string' ? f['exceptionMessage'] : null };
  }
  const looksLikeThrowable = 'detailMessage' in f || 'stackTrace' in f || /(?:Exception|Error|Throwable)$/.test(value.className);
  if (!looksLikeThrowable) return undefined;
  const info: ThrowableInfo = {
    className: value.className,
    message: typeof f['detailMessage'] === 'string' ? f['detailMessage'] : null,
  };
  const cause = f['cause'];
  if (cause !== value && cause instanceof JavaObject) {
    const c = describeThrowable(cause, seen);
    if (c !== undefined) info.cause = c;
  }
  return info;
}
