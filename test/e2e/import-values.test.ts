/**
 * What `ferry import` brings beyond method signatures, end to end against the Apache Dubbo sample
 * provider: a POJO with inherited fields (com.example.lab.Customer extends Entity) imported from the
 * API jar in the class's declared order (superclass first), sent to Java whole and returned in that
 * order although hessian-lite writes its fields in another; and a business exception
 * (com.example.lab.LabException) mapped by the imported `errors:` entry, whose allowlisted fields
 * appear in the problem body and whose other fields do not.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { runImport } from '../../src/app/import.js';
import { decodeResponseBody } from '../../src/codec/dubbo-body.js';
import { JavaObject } from '../../src/codec/hessian/reader.js';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { javaToolPaths } from '../support/java-build.js';
import { openRaw } from '../support/raw-dubbo.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';

const LAB = 'com.example.lab.TypeLabService';
const CUSTOMER_FIELDS = /( {2}com\.example\.lab\.Customer:\n {4}fields:\n)((?: {6}.+\n)+)/;
let provider: JavaProvider;
/** Ferry on the imported mapping, as a user edits it (two of LabException's fields allowed). */
let ferry: TestFerry;
/** Ferry on the same mapping with Customer's fields declared in reverse. */
let reversed: TestFerry;
let dir: string;
let importedYaml: string;

before(async () => {
  provider = await startJavaProvider({ name: 'values' });
  dir = await mkdtemp(path.join(tmpdir(), 'ferry-import-values-'));
  const out = path.join(dir, 'lab.yaml');
  await runImport({ source: javaToolPaths().providerApiJar, services: [{ interface: LAB }], endpoints: [provider.address], out });
  importedYaml = await readFile(out, 'utf8');
  const edited = importedYaml.replace(
    'com.example.lab.LabException: { status: 422, fields: [] }',
    'com.example.lab.LabException: { status: 422, fields: [code, details] }',
  );
  assert.notEqual(edited, importedYaml, `the import wrote an errors: entry for LabException:\n${importedYaml}`);
  const m = CUSTOMER_FIELDS.exec(edited);
  assert.ok(m !== null, 'the imported mapping declares com.example.lab.Customer');
  const backwards = edited.replace(
    CUSTOMER_FIELDS,
    (_all, head: string, lines: string) => head + lines.trimEnd().split('\n').reverse().join('\n') + '\n',
  );
  ferry = await startTestFerry({ withoutSamples: true, extra: { 'lab.yaml': edited } });
  reversed = await startTestFerry({ withoutSamples: true, extra: { 'lab.yaml': backwards } });
});

after(async () => {
  await Promise.all([ferry?.close(), reversed?.close()]);
  await provider?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

// The request lists the fields in yet another order; arguments bind by name.
const BODY = '{"v":{"level":3,"limit":"12345678901234567890.01","name":"Ann","createdBy":"ops","id":9007199254740993}}';

test('import keeps the class-file field order of a POJO with a superclass: the superclass’s fields first', () => {
  const m = CUSTOMER_FIELDS.exec(importedYaml);
  assert.equal(
    m?.[2],
    '      id: long\n      createdBy: String\n      name: String\n      limit: java.math.BigDecimal\n      level: int\n',
    importedYaml,
  );
});

test('a POJO with inherited fields reaches Java whole and comes back in declared order, not hessian-lite’s wire order', async () => {
  const described = await http(ferry.base, 'POST', '/TypeLabService/describeCustomer', BODY);
  assert.equal(described.status, 200, described.text);
  assert.equal(described.text, '"id=9007199254740993|createdBy=ops|name=Ann|limit=12345678901234567890.01|level=3"', 'what Java received');
  const echoed = await http(ferry.base, 'POST', '/TypeLabService/echoCustomer', BODY);
  assert.equal(echoed.status, 200, echoed.text);
  assert.equal(echoed.text, '{"id":"9007199254740993","createdBy":"ops","name":"Ann","limit":"12345678901234567890.01","level":3}');
});

test('the JSON follows the declaration, whatever it is: the same reply with the fields declared in reverse', async () => {
  const r = await http(reversed.base, 'POST', '/TypeLabService/echoCustomer', BODY);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.text, '{"level":3,"limit":"12345678901234567890.01","name":"Ann","createdBy":"ops","id":"9007199254740993"}');
});

test('hessian-lite’s wire order is neither (what the reordering is for): limit, createdBy, id, level, name', async () => {
  const conn = await openRaw(provider.dubboPort);
  try {
    const frame = await conn.call({
      service: LAB,
      method: 'echoCustomer',
      descriptor: 'Lcom/example/lab/Customer;',
      args: [{ $class: 'com.example.lab.Customer', $: { id: { $class: 'long', $: '1' }, createdBy: 'a', name: 'b', limit: null, level: 1 } }],
    });
    assert.equal(frame.status, 20, frame.body.toString('latin1'));
    const r = decodeResponseBody(frame.body);
    assert.ok(r.kind === 'value' && r.value instanceof JavaObject, `a Customer came back (${r.kind})`);
    assert.deepEqual(Object.keys(r.value.fields), ['limit', 'createdBy', 'id', 'level', 'name']);
  } finally {
    await conn.close();
  }
});

test('a declared exception: the imported errors: entry maps it to 422; only the allowlisted fields are shown', async () => {
  const r = await http(ferry.base, 'POST', '/TypeLabService/fail', { code: 'E42', details: ['too late', 'again'] });
  assert.equal(r.status, 422, r.text);
  assert.equal(r.headers.get('content-type'), 'application/problem+json');
  const doc = r.json as { code: string; exception: { class: string; message: string; fields: unknown } };
  assert.equal(doc.code, 'FERRY_UPSTREAM_EXCEPTION');
  assert.equal(doc.exception.class, 'com.example.lab.LabException');
  assert.equal(doc.exception.message, 'lab failure E42');
  assert.deepEqual(doc.exception.fields, { code: 'E42', details: ['too late', 'again'] });
  assert.doesNotMatch(r.text, /secret-note|internalNote/, 'a field outside the allowlist never reaches the client');
});

test('java.time and java.sql values: imported as mapping types, sent to Java exactly, returned as Java’s toString', async () => {
  assert.match(
    importedYaml,
    / {2}com\.example\.lab\.TimeBag:\n {4}fields:\n {6}duration: java\.time\.Duration\n {6}period: java\.time\.Period\n {6}year: java\.time\.Year\n/,
    importedYaml,
  );
  assert.match(
    importedYaml,
    / {6}zonedDateTime: java\.time\.ZonedDateTime\n {6}timestamp: java\.sql\.Timestamp\n {6}sqlDate: java\.sql\.Date\n {6}sqlTime: java\.sql\.Time\n/,
  );
  const bag = {
    duration: 'P2DT3H4M',
    period: 'P1Y2M3W',
    year: 2024,
    yearMonth: '-0044-03',
    monthDay: '--02-29',
    zoneOffset: '+05:30',
    offsetDateTime: '2024-02-29T09:30:00.123+01:00',
    offsetTime: '23:59:59.999999999-08:00',
    zonedDateTime: '2024-03-31T03:30+02:00[Europe/Paris]',
    timestamp: '2024-02-29T09:30:00.123Z',
    sqlDate: 0,
    sqlTime: 3600000,
  };
  const described = await http(ferry.base, 'POST', '/TypeLabService/describeTimeBag', { v: bag });
  assert.equal(described.status, 200, described.text);
  assert.equal(
    described.json,
    'PT51H4M|P1Y2M21D|2024|-0044-03|--02-29|+05:30|2024-02-29T09:30:00.123+01:00|23:59:59.999999999-08:00|2024-03-31T03:30+02:00[Europe/Paris]|1709199000123|0|3600000',
    'what Java received (toString of each)',
  );
  const echoed = await http(ferry.base, 'POST', '/TypeLabService/echoTimeBag', { v: bag });
  assert.equal(echoed.status, 200, echoed.text);
  assert.deepEqual(echoed.json, {
    duration: 'PT51H4M',
    period: 'P1Y2M21D',
    year: '2024',
    yearMonth: '-0044-03',
    monthDay: '--02-29',
    zoneOffset: '+05:30',
    offsetDateTime: '2024-02-29T09:30:00.123+01:00',
    offsetTime: '23:59:59.999999999-08:00',
    zonedDateTime: '2024-03-31T03:30+02:00[Europe/Paris]',
    timestamp: '2024-02-29T09:30:00.123Z',
    sqlDate: '1970-01-01T00:00:00.000Z',
    sqlTime: '1970-01-01T01:00:00.000Z',
  });
  // Negative durations and a zone that is its own offset, as Java writes them.
  const more = await http(ferry.base, 'POST', '/TypeLabService/echoTimeBag', { v: { duration: '-PT0.5S', zonedDateTime: '2024-01-01T00:00Z' } });
  assert.equal(more.status, 200, more.text);
  assert.equal((more.json as { duration: string }).duration, 'PT-0.5S');
  assert.equal((more.json as { zonedDateTime: string }).zonedDateTime, '2024-01-01T00:00Z');
});

test('what Hessian cannot carry is refused, not rounded: a Timestamp’s microseconds, a zone without an offset, an empty duration', async () => {
  for (const [field, value] of [
    ['timestamp', '2024-02-29T09:30:00.123456Z'],
    ['zonedDateTime', '2024-03-31T03:30[Europe/Paris]'],
    ['duration', 'PT'],
    ['monthDay', '--02-30'],
    ['zoneOffset', '+19:00'],
  ] as const) {
    const r = await http(ferry.base, 'POST', '/TypeLabService/describeTimeBag', { v: { [field]: value } });
    assert.equal(r.status, 400, `${field}=${value}: ${r.text}`);
    assert.equal((r.json as { code: string }).code, 'FERRY_BAD_ARGUMENT', r.text);
    assert.equal((r.json as { jsonPath: string }).jsonPath, `$.${field}`, r.text);
  }
});

test('UUID, Currency, Locale, ZoneId, EnumSet and a Float: imported as mapping types, received by Java as those classes, returned as their JSON forms', async () => {
  assert.match(
    importedYaml,
    / {2}com\.example\.lab\.JdkBag:\n {4}fields:\n {6}id: java\.util\.UUID\n {6}money: java\.util\.Currency\n {6}locale: java\.util\.Locale\n {6}zone: java\.time\.ZoneId\n {6}currencies: EnumSet<com\.example\.bank\.Currency>\n {6}ratio: Float\n/,
    importedYaml,
  );
  assert.match(importedYaml, /returns: "EnumMap<com\.example\.bank\.Currency,Integer>"/, 'countCurrencies returns an EnumMap');
  const bag = {
    id: '123E4567-E89B-12D3-A456-426614174000',
    money: 'JPY',
    locale: 'en-GB',
    zone: 'Europe/Paris',
    currencies: ['EUR', 'CNY'],
    ratio: 3.4028235e38,
  };
  const described = await http(ferry.base, 'POST', '/TypeLabService/describeJdkBag', { v: bag });
  assert.equal(described.status, 200, described.text);
  assert.equal(
    described.json,
    'UUID:123e4567-e89b-12d3-a456-426614174000|Currency:JPY|Locale:en_GB|ZoneRegion:Europe/Paris|RegularEnumSet:[CNY, EUR]|3.4028235E38/7f7fffff',
    'what Java received: the classes and values, the Float exactly Float.MAX_VALUE',
  );
  const offset = await http(ferry.base, 'POST', '/TypeLabService/describeJdkBag', { v: { zone: '+05:30', currencies: [] } });
  assert.equal(offset.status, 200, offset.text);
  assert.equal(
    offset.json,
    'null|null|null|ZoneOffset:+05:30|RegularEnumSet:[]|null',
    'an offset zone is a ZoneOffset in Java; an empty EnumSet arrives',
  );
  const echoed = await http(ferry.base, 'POST', '/TypeLabService/echoJdkBag', { v: bag });
  assert.equal(echoed.status, 200, echoed.text);
  assert.deepEqual(echoed.json, {
    id: '123e4567-e89b-12d3-a456-426614174000',
    money: 'JPY',
    locale: 'en_GB',
    zone: 'Europe/Paris',
    currencies: ['CNY', 'EUR'],
    ratio: 3.4028235e38,
  });
  const counted = await http(ferry.base, 'POST', '/TypeLabService/countCurrencies', { v: ['EUR', 'CNY', 'EUR'] });
  assert.equal(counted.status, 200, counted.text);
  assert.equal(counted.text, '{"CNY":1,"EUR":2}', 'an EnumMap reply: an object keyed by constant names, in ordinal order');
});

test('floats at the edges reach Java exactly: Float.MAX_VALUE, -Float.MAX_VALUE, the smallest subnormal, as a float, a Float and float[] elements', async () => {
  const r = await http(ferry.base, 'POST', '/TypeLabService/describeFloats', { f: 3.4028235e38, g: 1.4e-45, a: [-3.4028235e38, 1.4e-45, 0.1] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json, '3.4028235E38/7f7fffff|1.4E-45/1|-3.4028235E38/ff7fffff|1.4E-45/1|0.1/3dcccccd', 'the bits Java holds');
  // And back: echoFloat returns a boxed Float, which hessian-lite writes as the double of Float.toString.
  for (const v of [3.4028235e38, -3.4028235e38, 1.4e-45]) {
    const echoed = await http(ferry.base, 'POST', '/TypeLabService/echoFloat', { v });
    assert.equal(echoed.status, 200, echoed.text);
    assert.equal(echoed.json, v, `echoFloat(${v}) comes back as the same number`);
  }
  for (const [body, argument, path] of [
    [{ f: 3.5e38, g: 0, a: [] }, 'body.f', '$'],
    [{ f: 0, g: '-1e39', a: [] }, 'body.g', '$'],
    [{ f: 0, g: 0, a: [1, 1e-46] }, 'body.a', '$[1]'],
  ] as const) {
    const bad = await http(ferry.base, 'POST', '/TypeLabService/describeFloats', body);
    assert.equal(bad.status, 400, `${JSON.stringify(body)}: ${bad.text}`);
    assert.equal((bad.json as { argument: string }).argument, argument, bad.text);
    assert.equal((bad.json as { jsonPath: string }).jsonPath, path, bad.text);
    assert.doesNotMatch(bad.text, /Infinity/, 'refused, never sent as Infinity');
  }
});

test('bad JDK values are a 400 naming the JSON path: malformed UUID, unknown currency, invalid zone, unknown EnumSet constant, a Locale script', async () => {
  for (const [field, value, path] of [
    ['id', '123e4567-e89b-12d3-a456', '$.id'],
    ['money', 'XYZ', '$.money'],
    ['zone', 'Europe/Pariss', '$.zone'],
    ['currencies', ['EUR', 'GBP'], '$.currencies[1]'],
    ['locale', 'zh-Hans-CN', '$.locale'],
  ] as const) {
    const r = await http(ferry.base, 'POST', '/TypeLabService/describeJdkBag', { v: { [field]: value } });
    assert.equal(r.status, 400, `${field}=${JSON.stringify(value)}: ${r.text}`);
    assert.equal((r.json as { code: string }).code, 'FERRY_BAD_ARGUMENT', r.text);
    assert.equal((r.json as { jsonPath: string }).jsonPath, path, r.text);
  }
});
