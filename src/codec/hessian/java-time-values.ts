/**
 * The java.time values beyond LocalDate/LocalTime/LocalDateTime/Instant, as text both ways: parsed
 * from the ISO 8601 forms Java's own `parse` methods take, and written as Java's `toString()` writes
 * them, so a JSON client sees what a Java developer sees. Pure functions; the Hessian side (the
 * hessian-lite *Handle objects) is in encode-json.ts and decode-json.ts.
 *
 * Exact both ways: Duration keeps every nanosecond (seconds as a long), Period every component.
 * ZonedDateTime needs its offset in the text (`2024-03-31T02:30+02:00[Europe/Paris]`): Ferry has no
 * time-zone rules, and Java resolves a local time in a zone with the offset it is given when valid.
 */

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;
const NANOS = 1_000_000_000n;

export interface DurationParts {
  /** Seconds (a Java long). */
  readonly seconds: bigint;
  /** 0–999 999 999, added to seconds (Java's representation). */
  readonly nanos: number;
}

const DURATION = /^([-+]?)P(?:([-+]?\d+)D)?(T(?:([-+]?\d+)H)?(?:([-+]?\d+)M)?(?:([-+]?)(\d+)(?:[.,](\d{0,9}))?S)?)?$/i;

/** Duration.parse: `PT8H6M12.345S`, `P2DT3H`, `-PT0.5S`; undefined when malformed or beyond a long of seconds. */
export function parseDuration(text: string): DurationParts | undefined {
  const m = DURATION.exec(text);
  if (m === null) return undefined;
  const [, neg, d, t, h, mi, sSign, s, f] = m;
  if (d === undefined && h === undefined && mi === undefined && s === undefined) return undefined;
  if (t !== undefined && h === undefined && mi === undefined && s === undefined) return undefined;
  let total = 0n;
  if (d !== undefined) total += BigInt(d) * 86400n * NANOS;
  if (h !== undefined) total += BigInt(h) * 3600n * NANOS;
  if (mi !== undefined) total += BigInt(mi) * 60n * NANOS;
  if (s !== undefined) {
    const secs = BigInt(s) * NANOS + BigInt((f ?? '').padEnd(9, '0') || '0');
    total += sSign === '-' ? -secs : secs;
  }
  if (neg === '-') total = -total;
  let seconds = total / NANOS;
  let nanos = total % NANOS;
  if (nanos < 0n) {
    nanos += NANOS;
    seconds -= 1n;
  }
  if (seconds < LONG_MIN || seconds > LONG_MAX) return undefined;
  return { seconds, nanos: Number(nanos) };
}

/** Duration.toString. */
export function formatDuration(seconds: bigint, nanos: number): string {
  if (seconds === 0n && nanos === 0) return 'PT0S';
  const effective = seconds < 0n && nanos > 0 ? seconds + 1n : seconds;
  const hours = effective / 3600n;
  const minutes = (effective % 3600n) / 60n;
  const secs = effective % 60n;
  let out = 'PT';
  if (hours !== 0n) out += `${hours}H`;
  if (minutes !== 0n) out += `${minutes}M`;
  if (secs === 0n && nanos === 0 && out.length > 2) return out;
  out += seconds < 0n && nanos > 0 && secs === 0n ? '-0' : String(secs);
  if (nanos > 0) {
    const frac = String(seconds < 0n ? 2_000_000_000 - nanos : nanos + 1_000_000_000)
      .slice(1)
      .replace(/0+$/, '');
    out += `.${frac}`;
  }
  return `${out}S`;
}

export interface PeriodParts {
  readonly years: number;
  readonly months: number;
  readonly days: number;
}

const PERIOD = /^([-+]?)P(?:([-+]?\d+)Y)?(?:([-+]?\d+)M)?(?:([-+]?\d+)W)?(?:([-+]?\d+)D)?$/i;

const intOf = (text: string | undefined, times = 1): number | undefined => {
  if (text === undefined) return 0;
  const v = Number(text) * times;
  return Number.isSafeInteger(v) && v >= INT_MIN && v <= INT_MAX ? v : undefined;
};

/** Period.parse: `P1Y2M3D`, `P2W` (14 days), `-P1M`; each part within a Java int. */
export function parsePeriod(text: string): PeriodParts | undefined {
  const m = PERIOD.exec(text);
  if (m === null) return undefined;
  const [, neg, y, mo, w, d] = m;
  if (y === undefined && mo === undefined && w === undefined && d === undefined) return undefined;
  const sign = neg === '-' ? -1 : 1;
  const years = intOf(y, sign);
  const months = intOf(mo, sign);
  const weeks = intOf(w, 7 * sign);
  const dayPart = intOf(d, sign);
  if (years === undefined || months === undefined || weeks === undefined || dayPart === undefined) return undefined;
  const days = weeks + dayPart;
  if (days < INT_MIN || days > INT_MAX) return undefined;
  // -0 from a negated zero is 0 to Java.
  return { years: years || 0, months: months || 0, days: days || 0 };
}

/** Period.toString. */
export function formatPeriod(years: number, months: number, days: number): string {
  if (years === 0 && months === 0 && days === 0) return 'P0D';
  return `P${years !== 0 ? `${years}Y` : ''}${months !== 0 ? `${months}M` : ''}${days !== 0 ? `${days}D` : ''}`;
}

const YEAR_MIN = -999_999_999;
const YEAR_MAX = 999_999_999;

/** A Year: an integer or its text, within Year.MIN_VALUE..MAX_VALUE. */
export function parseYear(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^[-+]?\d{1,9}$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) && n >= YEAR_MIN && n <= YEAR_MAX ? n || 0 : undefined;
}

/** YearMonth.parse: `2024-02`, `-0044-03`, `+12345-01`. */
export function parseYearMonth(text: string): { year: number; month: number } | undefined {
  const m = /^([-+]?\d{4,9})-(\d{2})$/.exec(text);
  if (m === null) return undefined;
  const year = parseYear(m[1]);
  const month = Number(m[2]);
  return year === undefined || month < 1 || month > 12 ? undefined : { year, month };
}

/** YearMonth.toString: four digits at least, a sign only for negative years. */
export function formatYearMonth(year: number, month: number): string {
  const abs = Math.abs(year);
  const y = abs < 1000 ? (year < 0 ? '-' : '') + String(abs).padStart(4, '0') : String(year);
  return `${y}-${String(month).padStart(2, '0')}`;
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** MonthDay.parse: `--02-29`. */
export function parseMonthDay(text: string): { month: number; day: number } | undefined {
  const m = /^--(\d{2})-(\d{2})$/.exec(text);
  if (m === null) return undefined;
  const month = Number(m[1]);
  const day = Number(m[2]);
  return month < 1 || month > 12 || day < 1 || day > (DAYS_IN_MONTH[month - 1] as number) ? undefined : { month, day };
}

/** MonthDay.toString. */
export function formatMonthDay(month: number, day: number): string {
  return `--${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

const MAX_OFFSET_SECONDS = 18 * 3600;

/** ZoneOffset.of: `Z`, `+05:30`, `-08:00`, `+05:30:15` (±18:00 at most); the total seconds. */
export function parseZoneOffset(text: string): number | undefined {
  if (text === 'Z') return 0;
  const m = /^([-+])(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  if (m === null) return undefined;
  const h = Number(m[2]);
  const mi = Number(m[3]);
  const s = m[4] === undefined ? 0 : Number(m[4]);
  if (mi > 59 || s > 59) return undefined;
  const total = h * 3600 + mi * 60 + s;
  if (total > MAX_OFFSET_SECONDS) return undefined;
  return m[1] === '-' ? -total || 0 : total;
}

/** ZoneOffset.toString (its id). */
export function formatZoneOffset(totalSeconds: number): string {
  if (totalSeconds === 0) return 'Z';
  const abs = Math.abs(totalSeconds);
  const hh = String(Math.floor(abs / 3600)).padStart(2, '0');
  const mm = String(Math.floor((abs % 3600) / 60)).padStart(2, '0');
  const ss = abs % 60;
  return `${totalSeconds < 0 ? '-' : '+'}${hh}:${mm}${ss !== 0 ? `:${String(ss).padStart(2, '0')}` : ''}`;
}

/** A region id as ZoneId.of takes it (`Europe/Paris`, `UTC`, `Etc/GMT+5`); offsets are parsed apart. */
export const ZONE_REGION = /^[A-Za-z][A-Za-z0-9~/._+-]{1,63}$/;

/** Splits `<local date-time><offset>[<zone>]` (ZonedDateTime's text): the parts as text. */
export function splitZoned(text: string): { local: string; offset: string; zone?: string } | undefined {
  const m = /^(.+?)(Z|[-+]\d{2}:\d{2}(?::\d{2})?)(?:\[([^\]]+)\])?$/.exec(text);
  if (m === null) return undefined;
  return { local: m[1] as string, offset: m[2] as string, ...(m[3] !== undefined ? { zone: m[3] } : {}) };
}
