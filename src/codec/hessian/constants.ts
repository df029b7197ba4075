/**
 * Hessian facts the writer, the reader and both JSON converters must agree on: the classes
 * hessian-lite (Dubbo's Hessian) uses on the wire for values Ferry gives a JSON form by class name,
 * their field layouts, and the decoding limits the typed decoder shares with the generic path.
 */
import { MAX_JSON_NESTING } from '../../exchange/index.js';

/** Package of hessian-lite 4.x's java.time handle classes. */
const HANDLE_PKG = 'com.alibaba.com.caucho.hessian.io.java8.';
export const LOCAL_DATE_HANDLE = HANDLE_PKG + 'LocalDateHandle';
export const LOCAL_TIME_HANDLE = HANDLE_PKG + 'LocalTimeHandle';
export const LOCAL_DATE_TIME_HANDLE = HANDLE_PKG + 'LocalDateTimeHandle';
export const INSTANT_HANDLE = HANDLE_PKG + 'InstantHandle';
export const DURATION_HANDLE = HANDLE_PKG + 'DurationHandle';
export const PERIOD_HANDLE = HANDLE_PKG + 'PeriodHandle';
export const YEAR_HANDLE = HANDLE_PKG + 'YearHandle';
export const YEAR_MONTH_HANDLE = HANDLE_PKG + 'YearMonthHandle';
export const MONTH_DAY_HANDLE = HANDLE_PKG + 'MonthDayHandle';
export const ZONE_OFFSET_HANDLE = HANDLE_PKG + 'ZoneOffsetHandle';
export const OFFSET_DATE_TIME_HANDLE = HANDLE_PKG + 'OffsetDateTimeHandle';
export const OFFSET_TIME_HANDLE = HANDLE_PKG + 'OffsetTimeHandle';
export const ZONED_DATE_TIME_HANDLE = HANDLE_PKG + 'ZonedDateTimeHandle';
/** A ZoneRegion (ZoneId.of("Europe/Paris")): hessian-lite's ZoneIdSerializer writes this handle, field `zoneId`. */
export const ZONE_ID_HANDLE = HANDLE_PKG + 'ZoneIdHandle';
/** hessian-lite's LocaleSerializer: a LocaleHandle whose `value` is Locale.toString(). */
export const LOCALE_HANDLE = 'com.alibaba.com.caucho.hessian.io.LocaleHandle';
/** hessian-lite's EnumSetSerializer (RegularEnumSet, JumboEnumSet): `objects` (a `[object` list of the constants), `type` (a java.lang.Class). */
export const ENUM_SET_HANDLER = 'com.alibaba.com.caucho.hessian.io.EnumSetHandler';
/** hessian-lite's StringValueSerializer writes a UUID as an object of its class with one field, `value` (its toString). */
export const UUID_CLASS = 'java.util.UUID';
/** java.util.Currency goes through the default serializer: its one non-transient field. */
export const CURRENCY_CLASS = 'java.util.Currency';
/** A java.lang.Class (EnumSetHandler's `type`), as hessian-lite's ClassSerializer writes it: field `name`. */
export const CLASS_CLASS = 'java.lang.Class';
/** java.sql dates: hessian's SqlDateSerializer writes an object of the class with one date field, `value`. */
export const SQL_DATE_CLASSES: ReadonlySet<string> = new Set(['java.sql.Timestamp', 'java.sql.Date', 'java.sql.Time']);
export const BIG_DECIMAL = 'java.math.BigDecimal';
export const BIG_INTEGER = 'java.math.BigInteger';
/** hessian-lite's compact mode writes LocalDateTime under its own name: epoch day + nano of day. */
export const COMPACT_LOCAL_DATE_TIME = 'java.time.LocalDateTime';

/**
 * Classes whose JSON form is a string, chosen by class name (decode-json.ts converts them; the
 * typed decoder must never read them as ordinary POJOs).
 */
export const STRING_FORM_CLASSES: ReadonlySet<string> = new Set([
  BIG_DECIMAL,
  BIG_INTEGER,
  LOCAL_DATE_HANDLE,
  LOCAL_TIME_HANDLE,
  LOCAL_DATE_TIME_HANDLE,
  INSTANT_HANDLE,
  COMPACT_LOCAL_DATE_TIME,
  DURATION_HANDLE,
  PERIOD_HANDLE,
  YEAR_HANDLE,
  YEAR_MONTH_HANDLE,
  MONTH_DAY_HANDLE,
  ZONE_OFFSET_HANDLE,
  OFFSET_DATE_TIME_HANDLE,
  OFFSET_TIME_HANDLE,
  ZONED_DATE_TIME_HANDLE,
  ...SQL_DATE_CLASSES,
  ZONE_ID_HANDLE,
  LOCALE_HANDLE,
  ENUM_SET_HANDLER,
  UUID_CLASS,
  CURRENCY_CLASS,
]);

// Field lists in the order hessian-lite writes them (its UnsafeSerializer lists fields in reverse
// declaration order), checked against hessian-lite 4.0.3.
export const LOCAL_DATE_FIELDS: readonly string[] = Object.freeze(['day', 'month', 'year']);
export const LOCAL_TIME_FIELDS: readonly string[] = Object.freeze(['nano', 'second', 'minute', 'hour']);
export const LOCAL_DATE_TIME_FIELDS: readonly string[] = Object.freeze(['time', 'date']);
export const INSTANT_FIELDS: readonly string[] = Object.freeze(['nanos', 'seconds']);
// hessian-lite's serializer puts primitive and java.lang fields before the others, then reverses
// the whole list: ZonedDateTimeHandle (dateTime, offset, String zoneId) goes offset, dateTime, zoneId.
export const DURATION_FIELDS: readonly string[] = Object.freeze(['nanos', 'seconds']);
export const PERIOD_FIELDS: readonly string[] = Object.freeze(['days', 'months', 'years']);
export const YEAR_FIELDS: readonly string[] = Object.freeze(['year']);
export const YEAR_MONTH_FIELDS: readonly string[] = Object.freeze(['month', 'year']);
export const MONTH_DAY_FIELDS: readonly string[] = Object.freeze(['day', 'month']);
export const ZONE_OFFSET_FIELDS: readonly string[] = Object.freeze(['seconds']);
export const OFFSET_DATE_TIME_FIELDS: readonly string[] = Object.freeze(['offset', 'dateTime']);
export const OFFSET_TIME_FIELDS: readonly string[] = Object.freeze(['zoneOffset', 'localTime']);
export const ZONED_DATE_TIME_FIELDS: readonly string[] = Object.freeze(['offset', 'dateTime', 'zoneId']);
export const SQL_DATE_FIELDS: readonly string[] = Object.freeze(['value']);
export const ZONE_ID_FIELDS: readonly string[] = Object.freeze(['zoneId']);
export const LOCALE_FIELDS: readonly string[] = Object.freeze(['value']);
export const UUID_FIELDS: readonly string[] = Object.freeze(['value']);
export const CURRENCY_FIELDS: readonly string[] = Object.freeze(['currencyCode']);
export const ENUM_SET_FIELDS: readonly string[] = Object.freeze(['objects', 'type']);
export const CLASS_FIELDS: readonly string[] = Object.freeze(['name']);
export const BIG_DECIMAL_FIELDS: readonly string[] = Object.freeze(['value']);
/** Java 17's BigInteger fields as hessian-lite writes them (a fresh BigInteger has the caches at 0). */
export const BIG_INTEGER_FIELDS: readonly string[] = Object.freeze([
  'mag',
  'firstNonzeroIntNumPlusTwo',
  'lowestSetBitPlusTwo',
  'bitLengthPlusOne',
  'bitCountPlusOne',
  'signum',
]);
/** hessian-lite's EnumSerializer writes an enum constant as an object with this one field. */
export const ENUM_FIELDS: readonly string[] = Object.freeze(['name']);

/** Default budget of values emitted per reply (guards against reference bombs). */
export const DEFAULT_MAX_NODES = 1_000_000;
/**
 * Attachments a Dubbo reply may carry, and their total size (keys and values, UTF-16 units).
 * Providers send a handful (trace context, dubbo version); 840 000 of them fit in an 8 MiB frame.
 */
export const MAX_REPLY_ATTACHMENTS = 1024;
export const MAX_REPLY_ATTACHMENT_CHARS = 64 * 1024;

/** What one Dubbo reply may cost to decode (settings: `--max-reply-attachments`, `--max-reply-attachment-chars`, `--max-reply-values`). */
export interface DubboReplyBudgets {
  /** Attachments (key/value pairs) a reply may carry. */
  readonly maxAttachments: number;
  /** Total length of the attachments' keys and values, UTF-16 units. */
  readonly maxAttachmentChars: number;
  /** Values decoded and emitted per reply (each scalar, list, map and object once; a reference each time it is expanded). */
  readonly maxValues: number;
}

export const DEFAULT_DUBBO_REPLY_BUDGETS: DubboReplyBudgets = Object.freeze({
  maxAttachments: MAX_REPLY_ATTACHMENTS,
  maxAttachmentChars: MAX_REPLY_ATTACHMENT_CHARS,
  maxValues: DEFAULT_MAX_NODES,
});

/** The budgets with `given` over the defaults; a value that is not a positive integer is a RangeError naming it. */
export function dubboReplyBudgets(given: Partial<DubboReplyBudgets> = {}): DubboReplyBudgets {
  const out = { ...DEFAULT_DUBBO_REPLY_BUDGETS, ...given };
  for (const [name, value] of Object.entries(out)) {
    if (!Number.isSafeInteger(value) || value <= 0)
      throw new RangeError(`Dubbo reply budget ${name} must be a positive integer, got ${String(value)}`);
  }
  return Object.freeze(out);
}
/** Default deepest nesting of lists, maps and objects accepted: the one JSON nesting limit, also applied to request bodies. */
export const DEFAULT_MAX_DEPTH = MAX_JSON_NESTING;
