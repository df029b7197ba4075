/**
 * java.util.UUID, Currency, Locale, java.time.ZoneId and float values as text both ways: what a
 * JSON client may send for each, checked as strictly as the JVM's own factory methods would be, and
 * the text Java's `toString()` writes. Pure functions; the Hessian side is in encode-json.ts and
 * decode-json.ts.
 *
 * Checked here because Java would not refuse them: hessian-lite's ZoneIdHandle turns an unknown
 * zone id into null, and UUID.fromString takes `1-2-3-4-5`.
 */

const UUID_TEXT = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** A UUID in its canonical 8-4-4-4-12 form (either case), as UUID.toString writes it (lower case); else undefined. */
export function parseUuid(text: string): string | undefined {
  return UUID_TEXT.test(text) ? text.toLowerCase() : undefined;
}

/** UUID.toString of the two longs Caucho's serializer writes (mostSigBits, leastSigBits). */
export function uuidFromBits(most: bigint, least: bigint): string {
  const hex = (BigInt.asUintN(64, most).toString(16).padStart(16, '0') + BigInt.asUintN(64, least).toString(16).padStart(16, '0')).toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The ISO 4217 codes java.util.Currency.getInstance accepts on OpenJDK 17 (Currency.getAvailableCurrencies,
 * 232 codes, historical ones included). A code outside it would fail in the provider's Hessian
 * reader (CurrencyDeserializer) with an IllegalArgumentException, so Ferry refuses it first.
 */
export const JAVA_CURRENCY_CODES: ReadonlySet<string> = new Set(
  (
    'ADP AED AFA AFN ALL AMD ANG AOA ARS ATS AUD AWG AYM AZM AZN BAM BBD BDT BEF BGL BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP ' +
    'BYB BYN BYR BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CSD CUC CUP CVE CYP CZK DEM DJF DKK DOP DZD EEK EGP ERN ESP ETB ' +
    'EUR FIM FJD FKP FRF GBP GEL GHC GHS GIP GMD GNF GRD GTQ GWP GYD HKD HNL HRK HTG HUF IDR IEP ILS INR IQD IRR ISK ITL JMD JOD ' +
    'JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LTL LUF LVL LYD MAD MDL MGA MGF MKD MMK MNT MOP MRO MRU MTL MUR ' +
    'MVR MWK MXN MXV MYR MZM MZN NAD NGN NIO NLG NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PTE PYG QAR ROL RON RSD RUB RUR RWF SAR ' +
    'SBD SCR SDD SDG SEK SGD SHP SIT SKK SLE SLL SOS SRD SRG SSP STD STN SVC SYP SZL THB TJS TMM TMT TND TOP TPE TRL TRY TTD TWD ' +
    'TZS UAH UGX USD USN USS UYI UYU UZS VEB VED VEF VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XFO XFU XOF XPD XPF ' +
    'XPT XSU XTS XUA XXX YER YUM ZAR ZMK ZMW ZWD ZWG ZWL ZWN ZWR'
  ).split(' '),
);

/** An ISO 4217 code Java knows (upper case, as Currency.getCurrencyCode returns it); else undefined. */
export function parseCurrency(text: string): string | undefined {
  return JAVA_CURRENCY_CODES.has(text) ? text : undefined;
}

/** Why a locale text was refused, for the 400's note; undefined when it was merely malformed. */
export type LocaleRefusal = { readonly ok: false; readonly note?: string };

/**
 * A locale as Locale.toString writes it (`en`, `en_US`, `de_DE_POSIX`, `""` for the root locale),
 * from that form or BCP 47 `en-US`. Hessian carries only `toString()` up to a script or extension
 * (hessian-lite's LocaleHandle drops `_#Hans` and `_#u-…` when it reads), so tags with a script
 * or extension (`zh-Hans-CN`, `zh_CN_#Hans`) are refused rather than silently cut.
 */
export function parseLocale(text: string): { readonly ok: true; readonly value: string } | LocaleRefusal {
  if (text === '') return { ok: true, value: '' };
  if (text.includes('#') || /^[a-zA-Z]{2,8}-[a-zA-Z]{4}(?:-|$)/.test(text) || /-[a-zA-Z0-9]-/.test(text + '-')) {
    return { ok: false, note: 'Hessian carries a locale as language, country and variant only (hessian-lite drops scripts and extensions)' };
  }
  const bcp = /^([a-zA-Z]{2,8})(?:-([a-zA-Z]{2}|\d{3}))?$/.exec(text);
  if (bcp !== null) return { ok: true, value: (bcp[1] as string).toLowerCase() + (bcp[2] !== undefined ? '_' + bcp[2].toUpperCase() : '') };
  const m = /^([a-zA-Z]{2,8})?(?:_([a-zA-Z]{2}|\d{3})?(?:_([0-9A-Za-z]+(?:[_-][0-9A-Za-z]+)*))?)?$/.exec(text);
  if (m === null || (m[1] === undefined && m[2] === undefined)) return { ok: false };
  // Locale(language, country, variant): language lower-cased, country upper-cased, the variant as given.
  const language = (m[1] ?? '').toLowerCase();
  const country = (m[2] ?? '').toUpperCase();
  const variant = m[3] ?? '';
  if (variant !== '' && country === '' && language === '') return { ok: false };
  return { ok: true, value: language + (country !== '' || variant !== '' ? '_' + country : '') + (variant !== '' ? '_' + variant : '') };
}

/** The text inside a LocaleHandle a provider may send: Locale.toString's shape (letters, digits, `_`, `#`, `-`). */
export function isLocaleText(text: string): boolean {
  return text.length <= 128 && /^[A-Za-z0-9_#-]*$/.test(text);
}

/** ZoneId.of's prefixed offsets: `UTC+05:30`, `GMT-8`, `UT+01:00`. */
const PREFIXED = /^(UTC|GMT|UT)([+-].*)?$/;
const REGION = /^[A-Za-z][A-Za-z0-9~/._+-]+$/;

const knownZones = new Map<string, boolean>();

/**
 * Whether a region id names a zone in the time-zone database. Node's ICU data (the IANA database,
 * links included) answers; Java's own copy of the same database decides at the end. Ids are
 * case-sensitive for Java (`europe/paris` fails there) while ICU ignores case, so the case must match.
 */
function isKnownRegion(id: string): boolean {
  let hit = knownZones.get(id);
  if (hit !== undefined) return hit;
  try {
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone: id }).resolvedOptions().timeZone;
    hit = resolved === id || resolved.toLowerCase() !== id.toLowerCase();
  } catch {
    hit = false;
  }
  if (knownZones.size < 4096) knownZones.set(id, hit);
  return hit;
}

export type ZoneIdValue = { readonly kind: 'offset'; readonly seconds: number } | { readonly kind: 'region'; readonly id: string };

/**
 * ZoneId.of: an offset (`Z`, `+05:30`; on the JVM a ZoneOffset), a prefixed offset (`UTC+05:30`,
 * normalised as Java does: `UTC+5` is `UTC+05:00`, `UTC+00:00` is `UTC`), or a region id known to
 * the time-zone database (`Europe/Paris`, `UTC`; a ZoneRegion). Undefined for anything else.
 */
export function parseZoneId(
  text: string,
  parseOffset: (t: string) => number | undefined,
  formatOffset: (s: number) => string,
): ZoneIdValue | undefined {
  if (text.length === 0 || text.length > 64) return undefined;
  if (text === 'Z' || text[0] === '+' || text[0] === '-') {
    const seconds = parseOffset(normaliseOffset(text) ?? '');
    return seconds === undefined ? undefined : { kind: 'offset', seconds };
  }
  const p = PREFIXED.exec(text);
  if (p !== null) {
    if (p[2] === undefined) return { kind: 'region', id: text };
    const seconds = parseOffset(normaliseOffset(p[2]) ?? '');
    if (seconds === undefined) return undefined;
    return { kind: 'region', id: seconds === 0 ? (p[1] as string) : (p[1] as string) + formatOffset(seconds) };
  }
  return REGION.test(text) && isKnownRegion(text) ? { kind: 'region', id: text } : undefined;
}

/** ZoneOffset.of's short forms (`+5`, `+05`, `+0530`, `+053015`) as `±hh:mm[:ss]`; undefined when none fits. */
function normaliseOffset(text: string): string | undefined {
  if (text === 'Z') return 'Z';
  const m = /^([+-])(\d{1,2})(?::?(\d{2})(?::?(\d{2}))?)?$/.exec(text);
  if (m === null || (m[2]!.length === 1 && m[3] !== undefined)) return /^[+-]\d{2}:\d{2}(?::\d{2})?$/.test(text) ? text : undefined;
  return `${m[1]}${m[2]!.padStart(2, '0')}:${m[3] ?? '00'}${m[4] !== undefined ? `:${m[4]}` : ''}`;
}

/**
 * The double Java's hessian-lite writes for a boxed Float `f` (a Dubbo argument, a `Float` field, a
 * `List<Float>` element): `Double.parseDouble(String.valueOf(f))`, the double of Float.toString's
 * decimal. That decimal is the shortest that reads back as `f`, with at least two digits (Java
 * writes `1.4E-45`, not `1E-45`), the closest to `f` among those. OpenJDK 17's Float.toString gives
 * a longer decimal for a few values; Java still narrows the double back to exactly `f`.
 */
export function boxedFloatDouble(f: number): number {
  if (!Number.isFinite(f) || f === 0) return f;
  for (let digits = 2; digits <= 9; digits++) {
    const d = Number(f.toPrecision(digits));
    if (Math.fround(d) === f) return d;
  }
  return f;
}
