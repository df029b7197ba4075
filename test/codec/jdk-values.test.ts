/**
 * UUID, Currency, Locale, ZoneId, EnumSet, EnumMap and floats: bad client input is a 400 naming the
 * JSON path (what each input was is in the test's name), a provider's malformed value is a 502, the
 * typed and generic reply decoders agree, and the importer maps the JVM types to mapping types. The
 * bytes themselves are checked against Java in jdk-values-oracle.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TypeDef } from '../../src/config/types.js';
import { FerryError } from '../../src/errors/index.js';
import { compileJsonEncoder, decodeAll, HessianArgumentError, HessianWriter, parseJavaType, toJson } from '../../src/codec/hessian/index.js';
import { compileTypedJsonDecoder } from '../../src/codec/hessian/decode-typed.js';
import { boxedFloatDouble, parseLocale, parseZoneId } from '../../src/codec/hessian/jdk-values.js';
import { formatZoneOffset, parseZoneOffset } from '../../src/codec/hessian/java-time-values.js';
import { typeText, UnsupportedTypeError, withoutUnsendable, type ServiceSignature } from '../../src/codec/service-signature/model.js';

const at = { file: 't.yaml', line: 1, col: 1 };
const TYPES = new Map<string, TypeDef>([
  ['com.x.Color', { kind: 'enum', name: 'com.x.Color', constants: ['RED', 'GREEN', 'BLUE'], source: at }],
  [
    'com.x.Bag',
    {
      kind: 'pojo',
      name: 'com.x.Bag',
      source: at,
      fields: [
        { name: 'id', type: 'java.util.UUID', source: at },
        { name: 'money', type: 'java.util.Currency', source: at },
        { name: 'lang', type: 'java.util.Locale', source: at },
        { name: 'zone', type: 'ZoneId', source: at },
        { name: 'colors', type: 'EnumSet<com.x.Color>', source: at },
        { name: 'ratio', type: 'float', source: at },
        { name: 'ids', type: 'List<java.util.UUID>', source: at },
      ],
    },
  ],
]);
const lookup = (n: string): TypeDef | undefined => TYPES.get(n);

function encode(type: string, value: unknown, generic = false): Buffer {
  const w = new HessianWriter();
  compileJsonEncoder(parseJavaType(type, lookup), { generic })(w, value, '$');
  return w.finish();
}

function refusal(type: string, value: unknown): HessianArgumentError {
  try {
    encode(type, value);
  } catch (e) {
    if (e instanceof HessianArgumentError) return e;
    throw e;
  }
  assert.fail(`${JSON.stringify(value)} as ${type} was accepted`);
}

const BAG = {
  id: '123e4567-e89b-12d3-a456-426614174000',
  money: 'EUR',
  lang: 'en_US',
  zone: 'Europe/Paris',
  colors: ['BLUE', 'RED'],
  ratio: 3.4028235e38,
  ids: [],
};

test('a POJO with every new type round-trips through the generic decoder as the documented JSON', () => {
  const json = toJson(decodeAll(encode('com.x.Bag', BAG))[0], { longs: 'auto', enumClasses: new Set(['com.x.Color']) });
  assert.deepEqual(
    json,
    { ...BAG, colors: ['RED', 'BLUE'], ratio: Math.fround(3.4028235e38) },
    'EnumSet in ordinal order, the float field widened exactly',
  );
});

test('bad client input is a 400 naming the JSON path: malformed UUID, unknown currency, bad zone, unknown/duplicate EnumSet constant, a float past its range', () => {
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['com.x.Bag', { ids: ['123e4567-e89b-12d3-a456-426614174000', '1-2-3-4-5'] }, '$.ids[1]', /a UUID/],
    ['com.x.Bag', { id: '123e4567e89b12d3a456426614174000' }, '$.id', /a UUID/],
    ['com.x.Bag', { money: 'EUX' }, '$.money', /not a code java.util.Currency knows/],
    ['com.x.Bag', { money: 'eur' }, '$.money', /ISO 4217/],
    ['com.x.Bag', { zone: 'Mars/Olympus_Mons' }, '$.zone', /not a zone the time-zone database knows/],
    ['com.x.Bag', { zone: 'europe/paris' }, '$.zone', /time-zone id/],
    ['com.x.Bag', { zone: '+19:00' }, '$.zone', /time-zone id/],
    ['com.x.Bag', { lang: 'en US' }, '$.lang', /a locale/],
    ['com.x.Bag', { colors: ['RED', 'PURPLE'] }, '$.colors[1]', /one of RED, GREEN, BLUE/],
    ['com.x.Bag', { colors: ['RED', 'RED'] }, '$.colors[1]', /given twice/],
    ['com.x.Bag', { colors: 'RED' }, '$.colors', /an array of constant names/],
    ['com.x.Bag', { ratio: 3.5e38 }, '$.ratio', /beyond Float\.MAX_VALUE \(3\.4028235E38\)/],
    ['com.x.Bag', { ratio: '-1e39' }, '$.ratio', /beyond Float\.MAX_VALUE/],
    ['com.x.Bag', { ratio: 1e-46 }, '$.ratio', /it would become 0/],
    ['float', '1e400', '$', /out of range/],
  ];
  for (const [type, value, path, why] of cases) {
    const e = refusal(type, value);
    assert.equal(e.jsonPath, path, `${JSON.stringify(value)}: ${e.message}`);
    assert.equal(e.code, 'FERRY_BAD_ARGUMENT', e.message);
    assert.match(e.message, why, `${JSON.stringify(value)}`);
  }
});

test('floats at the edges are taken: ±3.4028235e38, the smallest subnormal 1.4e-45, its half rounding up, Infinity by name', () => {
  for (const v of [3.4028235e38, -3.4028235e38, '3.4028235E38', 3.40282356e38, 1.4e-45, 0.8e-45, 'Infinity', 'NaN']) {
    assert.doesNotThrow(() => encode('float', v), `${v} is a float Java can hold`);
  }
  assert.equal(boxedFloatDouble(Math.fround(3.4028235e38)), 3.4028235e38, 'Float.MAX_VALUE boxed: the double of "3.4028235E38"');
  assert.equal(boxedFloatDouble(Math.fround(1.4e-45)), 1.4e-45, 'Float.MIN_VALUE boxed: the double of "1.4E-45" (two digits, as Java writes)');
  assert.equal(boxedFloatDouble(Math.fround(0.1)), 0.1);
  assert.equal(boxedFloatDouble(Math.fround(1e10)), 1e10);
});

test('locale texts: toString and BCP 47 forms are taken and normalised; scripts and extensions refused with the reason', () => {
  const ok: Array<[string, string]> = [
    ['en', 'en'],
    ['EN_us', 'en_US'],
    ['en-US', 'en_US'],
    ['es-419', 'es_419'],
    ['de_DE_POSIX', 'de_DE_POSIX'],
    ['_US', '_US'],
    ['', ''],
  ];
  for (const [text, want] of ok) assert.deepEqual(parseLocale(text), { ok: true, value: want }, text);
  for (const text of ['zh-Hans-CN', 'zh_CN_#Hans', 'en-US-u-ca-buddhist', 'sr-Latn']) {
    const r = parseLocale(text);
    assert.ok(!r.ok && /scripts and extensions/.test(r.note ?? ''), `${text}: ${JSON.stringify(r)}`);
  }
  for (const text of ['e', 'en_USA_', 'en__', '123', 'en US']) assert.equal(parseLocale(text).ok, false, text);
});

test('zone ids: regions by the time-zone database (case-sensitive), offsets, prefixed offsets normalised as ZoneId.of does', () => {
  const z = (t: string): unknown => parseZoneId(t, parseZoneOffset, formatZoneOffset);
  assert.deepEqual(z('Europe/Paris'), { kind: 'region', id: 'Europe/Paris' });
  assert.deepEqual(z('US/Eastern'), { kind: 'region', id: 'US/Eastern' }, 'a link');
  assert.deepEqual(z('UTC'), { kind: 'region', id: 'UTC' });
  assert.deepEqual(z('GMT-8'), { kind: 'region', id: 'GMT-08:00' });
  assert.deepEqual(z('UTC+00:00'), { kind: 'region', id: 'UTC' });
  assert.deepEqual(z('+0530'), { kind: 'offset', seconds: 19800 });
  assert.deepEqual(z('Z'), { kind: 'offset', seconds: 0 });
  for (const bad of ['europe/paris', 'Europe/Atlantis', 'UTC+25', '', 'A'.repeat(65), '../etc/passwd']) assert.equal(z(bad), undefined, bad);
});

test('EnumMap and Optional are refused at load with why; EnumSet on a generic service too', () => {
  assert.throws(
    () => compileJsonEncoder(parseJavaType('EnumMap<com.x.Color, Long>', lookup), { generic: false }),
    /reads every map back as a HashMap/,
  );
  assert.throws(() => parseJavaType('java.util.Optional<com.x.Color>', lookup), /not Serializable/);
  assert.throws(() => parseJavaType('EnumSet<String>', lookup), /must be a declared enum/);
  assert.throws(() => parseJavaType('EnumSet', lookup), /needs its enum type/);
  assert.throws(() => encode('EnumSet<com.x.Color>', ['RED'], true), /generic/);
  assert.doesNotThrow(() => parseJavaType('EnumMap<com.x.Color, List<String>>', lookup), 'an EnumMap return type is fine');
});

/** A Dubbo reply body (flag 1, value) around Hessian bytes. */
const reply = (value: Buffer): Buffer => Buffer.concat([Buffer.from([0x91]), value]);

test('typed and generic reply decoders agree: the new types take the generic path, which gives the documented JSON', () => {
  for (const [type, value, json] of [
    ['java.util.UUID', BAG.id, BAG.id],
    ['java.util.Currency', 'JPY', 'JPY'],
    ['java.util.Locale', 'en-GB', 'en_GB'],
    ['ZoneId', 'Asia/Tokyo', 'Asia/Tokyo'],
    ['ZoneId', '-03:00', '-03:00'],
    ['EnumSet<com.x.Color>', ['GREEN'], ['GREEN']],
    ['com.x.Bag', BAG, { ...BAG, colors: ['RED', 'BLUE'], ratio: Math.fround(BAG.ratio) }],
  ] as Array<[string, unknown, unknown]>) {
    const t = parseJavaType(type, lookup);
    assert.equal(
      compileTypedJsonDecoder(t, new Set(['com.x.Color']), { longs: 'auto' }),
      undefined,
      `${type}: no typed reader, so no second opinion`,
    );
    assert.deepEqual(toJson(decodeAll(encode(type, value))[0], { longs: 'auto', enumClasses: new Set(['com.x.Color']) }), json, type);
  }
  // A POJO without the new types keeps its typed reader.
  assert.notEqual(compileTypedJsonDecoder(parseJavaType('List<com.x.Color>', lookup), new Set(['com.x.Color']), { longs: 'auto' }), undefined);
  assert.ok(reply(Buffer.from([0x4e])).length === 2, 'reply helper');
});

test("a provider's malformed JDK value is a 502 FERRY_UPSTREAM_PROTOCOL_ERROR, not a field map", () => {
  const object = (cls: string, field: string, value: Buffer): Buffer =>
    Buffer.concat([
      Buffer.from([0x43, 0x30, cls.length]),
      Buffer.from(cls),
      Buffer.from([0x91, field.length]),
      Buffer.from(field),
      Buffer.from([0x60]),
      value,
    ]);
  const str = (s: string): Buffer => Buffer.concat([Buffer.from([s.length]), Buffer.from(s)]);
  const cases: Array<[string, Buffer]> = [
    ['UUID with a bad value', object('java.util.UUID', 'value', str('not-a-uuid'))],
    ['UUID with an int value', object('java.util.UUID', 'value', Buffer.from([0x91]))],
    ['Currency unknown to Java', object('java.util.Currency', 'currencyCode', str('ZZZ'))],
    ['Locale with markup', object('com.alibaba.com.caucho.hessian.io.LocaleHandle', 'value', str('en"<x>'))],
    ['ZoneId with spaces', object('com.alibaba.com.caucho.hessian.io.java8.ZoneIdHandle', 'zoneId', str('Europe Paris'))],
    ['EnumSet without its list', object('com.alibaba.com.caucho.hessian.io.EnumSetHandler', 'objects', Buffer.from([0x91]))],
  ];
  for (const [what, bytes] of cases) {
    assert.throws(
      () => toJson(decodeAll(bytes)[0], { longs: 'auto' }),
      (e: unknown) => e instanceof FerryError && e.code === 'FERRY_UPSTREAM_PROTOCOL_ERROR' && e.status === 502,
      what,
    );
  }
});

test('the importer maps UUID, Currency, Locale, ZoneId, EnumSet and EnumMap to mapping types, and refuses Optional with why', () => {
  const isDomain = (n: string): boolean => n === 'com.x.Color';
  type Term = { kind: 'class'; name: string; args: Term[] };
  const cls = (name: string, ...args: Term[]): Term => ({ kind: 'class', name, args });
  assert.equal(typeText(cls('java.util.UUID'), isDomain), 'java.util.UUID');
  assert.equal(typeText(cls('java.util.Currency'), isDomain), 'java.util.Currency');
  assert.equal(typeText(cls('java.util.Locale'), isDomain), 'java.util.Locale');
  assert.equal(typeText(cls('java.time.ZoneId'), isDomain), 'java.time.ZoneId');
  assert.equal(typeText(cls('java.util.EnumSet', cls('com.x.Color')), isDomain), 'EnumSet<com.x.Color>');
  assert.equal(typeText(cls('java.util.EnumMap', cls('com.x.Color'), cls('java.lang.Long')), isDomain), 'EnumMap<com.x.Color,Long>');
  for (const t of ['EnumSet<com.x.Color>', 'EnumMap<com.x.Color,Long>', 'java.util.UUID']) assert.doesNotThrow(() => parseJavaType(t, lookup), t);
  assert.throws(
    () => typeText(cls('java.util.Optional', cls('java.lang.String')), isDomain),
    (e: unknown) => e instanceof UnsupportedTypeError && /not Serializable/.test(e.message),
  );
});

test('an imported method whose argument reaches an EnumMap is skipped with the reason (its mapping would not load); returning one is kept', () => {
  const sig: ServiceSignature = {
    interface: 'com.x.Svc',
    source: 'test',
    methods: [
      { name: 'count', params: [], returns: 'EnumMap<com.x.Color,Long>', descriptor: '', namesKnown: true },
      { name: 'put', params: [{ name: 'h', type: 'com.x.Holder' }], descriptor: 'Lcom/x/Holder;', namesKnown: true },
    ],
    types: new Map([
      ['com.x.Color', { kind: 'enum', name: 'com.x.Color', constants: ['RED'] }],
      ['com.x.Holder', { kind: 'pojo', name: 'com.x.Holder', fields: [{ name: 'm', type: 'EnumMap<com.x.Color,Long>' }] }],
    ]),
    skipped: [],
  };
  const out = withoutUnsendable(sig);
  assert.deepEqual(
    out.methods.map((m) => m.name),
    ['count'],
  );
  assert.equal(out.skipped.length, 1);
  assert.match(out.skipped[0]?.why ?? '', /^parameter h: .*reads every map back as a HashMap/);
  assert.deepEqual([...out.types.keys()], ['com.x.Color'], 'Holder is no longer reached');
});

test('a mapping declaring the new types loads, and its OpenAPI document describes each (uuid format, ISO 4217 pattern, a unique array of the enum)', async () => {
  const { loadConfigFiles } = await import('../../src/config/loader.js');
  const { generateOpenApi } = await import('../../src/openapi/index.js');
  const text = [
    'services:',
    '  lab: { protocol: dubbo, interface: com.x.Lab, endpoints: [127.0.0.1:20880] }',
    'types:',
    '  com.x.Color: { enum: [RED, GREEN] }',
    'routes:',
    '  - id: put',
    '    http: POST /put',
    '    call: lab.put',
    '    args:',
    '      - { from: body.id, type: java.util.UUID }',
    '      - { from: body.money, type: java.util.Currency }',
    '      - { from: body.lang, type: java.util.Locale }',
    '      - { from: body.zone, type: ZoneId }',
    '      - { from: body.colors, type: "EnumSet<com.x.Color>" }',
    '    returns: "EnumMap<com.x.Color, Long>"',
    '',
  ].join('\n');
  const config = loadConfigFiles([{ file: 'lab.yaml', text }], process.cwd());
  const doc = JSON.stringify(generateOpenApi(config));
  assert.match(doc, /"format":"uuid"/, doc);
  assert.match(doc, /"pattern":"\^\[A-Z\]\{3\}\$"/, 'currency code pattern');
  assert.match(doc, /"uniqueItems":true/, 'EnumSet as a set');
  assert.match(doc, /keys are constants of com\.x\.Color/, 'EnumMap reply');
  // The same mapping with an EnumMap argument is refused when its routes compile (serve, validate), naming the file and why.
  const { compileDubboRoute } = await import('../../src/mapping/dubbo.js');
  const compile = (c: typeof config): unknown => {
    const route = c.routes[0]!;
    const service = c.services.get('lab')!;
    assert.ok(route.protocol === 'dubbo' && service.protocol === 'dubbo', 'a dubbo route');
    return compileDubboRoute(route, service, c);
  };
  assert.doesNotThrow(() => compile(config), 'the mapping as declared compiles');
  const bad = loadConfigFiles(
    [{ file: 'lab.yaml', text: text.replace('type: java.util.UUID', 'type: "EnumMap<com.x.Color, Long>"') }],
    process.cwd(),
  );
  assert.throws(() => compile(bad), /lab\.yaml:10:\d+: .*argument #1 of route "put": .*reads every map back as a HashMap/s);
});
