/**
 * UUID, Currency, Locale, ZoneId, EnumSet, EnumMap and floats at the edges of the float range,
 * against Java itself (test/codec/oracle: hessian-lite 4.0.3 as Dubbo 3.3 uses it, and Caucho
 * Hessian 4.0.38 where Caucho writes the value the same way). Each test: the bytes Java writes
 * decode here to the documented JSON, the bytes Ferry writes for that JSON equal Java's, and Java
 * reads Ferry's bytes back as the value. Needs scripts/setup-hessian.sh.
 *
 * The sample provider's Dubbo 3.3.6 ships hessian-lite 4.0.4: its META-INF/dubbo/hessian/serializers
 * list is the same as 4.0.3's (4.0.4 adds only LocalDate/LocalDateTime/LocalTime deserializers), so
 * 4.0.3 writes these values as the provider does; test/e2e/import-values.test.ts checks them there.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TypeDef } from '../../src/config/types.js';
import { compileJsonEncoder, decodeAll, HessianWriter, parseJavaType, toJson } from '../../src/codec/hessian/index.js';
import { JavaTypeError } from '../../src/codec/hessian/java-types.js';
import { startOracle, type Oracle } from './oracle/oracle.js';

const at = { file: 'oracle.yaml', line: 1, col: 1 };
const TYPES = new Map<string, TypeDef>([
  ['ferry.oracle.Currency', { kind: 'enum', name: 'ferry.oracle.Currency', constants: ['CNY', 'USD', 'EUR'], source: at }],
  [
    'ferry.oracle.FloatBag',
    {
      kind: 'pojo',
      name: 'ferry.oracle.FloatBag',
      source: at,
      // In hessian-lite's wire order, so that its buggy reader does the same to both streams.
      fields: [
        { name: 'pad', type: 'long', source: at },
        { name: 'f', type: 'float', source: at },
      ],
    },
  ],
]);
const lookup = (n: string): TypeDef | undefined => TYPES.get(n);

/** Ferry's bytes for JSON values with declared types, one top-level value each, in one stream (as a Dubbo body's arguments). */
function encode(items: Array<[string, unknown]>): Buffer {
  const w = new HessianWriter();
  for (const [type, value] of items) compileJsonEncoder(parseJavaType(type, lookup), { generic: false })(w, value, '$');
  return w.finish();
}
const json = (bytes: Buffer): unknown[] => decodeAll(bytes).map((v) => toJson(v, { longs: 'auto', enumClasses: new Set(['ferry.oracle.Currency']) }));
const hex = (b: Buffer): string => b.toString('hex');

describe('JDK values against hessian-lite 4.0.3 (Dubbo 3.3)', () => {
  let lite: Oracle;
  before(() => {
    lite = startOracle('hessian-lite');
  });
  after(async () => {
    await lite.close();
  });

  test('java.util.UUID: its canonical text both ways (hessian-lite writes an object of java.util.UUID with value = toString)', async () => {
    const java = await lite.write('uuid');
    const values = ['123e4567-e89b-12d3-a456-426614174000', 'ffffffff-ffff-ffff-0000-000000000000'];
    assert.deepEqual(json(java), values, "Java's UUIDs decode to their toString");
    const mine = encode([
      ['java.util.UUID', '123E4567-E89B-12D3-A456-426614174000'],
      ['java.util.UUID', values[1]],
    ]);
    assert.equal(hex(mine), hex(java), 'upper-case input is written as Java writes the same UUID');
    assert.deepEqual(
      await lite.read(mine),
      values.map((v) => `java.util.UUID:${v}`),
      'hessian-lite reads UUIDs back',
    );
  });

  test('java.util.Currency: the ISO 4217 code both ways (an object with its one field currencyCode)', async () => {
    const java = await lite.write('currency');
    assert.deepEqual(json(java), ['EUR', 'JPY']);
    const mine = encode([
      ['java.util.Currency', 'EUR'],
      ['java.util.Currency', 'JPY'],
    ]);
    assert.equal(hex(mine), hex(java), 'same bytes as hessian-lite');
    assert.deepEqual(await lite.read(mine), ['java.util.Currency:EUR', 'java.util.Currency:JPY']);
  });

  test('java.util.Locale: Locale.toString both ways, en-US accepted (LocaleHandle)', async () => {
    const java = await lite.write('locale');
    const values = ['en_US', 'de_DE_POSIX', '', '_US'];
    assert.deepEqual(json(java), values);
    const mine = encode([
      ['java.util.Locale', 'en-US'],
      ['java.util.Locale', 'de_DE_POSIX'],
      ['java.util.Locale', ''],
      ['java.util.Locale', '_us'],
    ]);
    assert.equal(hex(mine), hex(java), 'same bytes as hessian-lite');
    assert.deepEqual(await lite.read(mine), ['java.util.Locale:en_US', 'java.util.Locale:de_DE_POSIX', 'java.util.Locale:', 'java.util.Locale:_US']);
  });

  test('a Locale with a script: Java sends zh_CN_#Hans and drops the script when it reads it; Ferry shows the text and refuses to send one', async () => {
    const java = await lite.write('localescript');
    assert.deepEqual(json(java), ['zh_CN_#Hans'], 'what Java wrote, as it wrote it');
    assert.deepEqual(await lite.read(java), ['java.util.Locale:zh_CN'], 'hessian-lite itself loses the script');
    for (const bad of ['zh-Hans-CN', 'zh_CN_#Hans']) {
      assert.throws(
        () => encode([['java.util.Locale', bad]]),
        (e: Error) => /\$: expected a locale/.test(e.message) && /scripts and extensions/.test(e.message),
        `${bad} is refused, naming why`,
      );
    }
  });

  test('java.time.ZoneId: a region is a ZoneIdHandle, an offset a ZoneOffsetHandle; prefixed offsets normalised as ZoneId.of does', async () => {
    const java = await lite.write('zoneid');
    assert.deepEqual(json(java), ['Europe/Paris', 'UTC', 'UTC+05:00', '+05:30', 'America/Argentina/Buenos_Aires']);
    const mine = encode(['Europe/Paris', 'UTC', 'UTC+5', '+05:30', 'America/Argentina/Buenos_Aires'].map((z) => ['java.time.ZoneId', z]));
    assert.equal(hex(mine), hex(java), 'same bytes as hessian-lite');
    assert.deepEqual(await lite.read(mine), [
      'java.time.ZoneRegion:Europe/Paris',
      'java.time.ZoneRegion:UTC',
      'java.time.ZoneRegion:UTC+05:00',
      'java.time.ZoneOffset:+05:30',
      'java.time.ZoneRegion:America/Argentina/Buenos_Aires',
    ]);
  });

  test('EnumSet<E>: an array of constant names in ordinal order (EnumSetHandler with the constants and the Class)', async () => {
    const java = await lite.write('enumset');
    assert.deepEqual(json(java), [['CNY', 'EUR']]);
    const mine = encode([['EnumSet<ferry.oracle.Currency>', ['EUR', 'CNY']]]);
    assert.equal(hex(mine), hex(java), 'same bytes as hessian-lite (Java keeps ordinal order, whatever order JSON gave)');
    assert.deepEqual(await lite.read(mine), ['java.util.RegularEnumSet[enum:ferry.oracle.Currency.CNY,enum:ferry.oracle.Currency.EUR]']);
    const empty = await lite.write('enumsetempty');
    assert.deepEqual(json(empty), [[]]);
    const mineEmpty = encode([['EnumSet<ferry.oracle.Currency>', []]]);
    assert.equal(hex(mineEmpty), hex(empty), 'an empty EnumSet: same bytes too');
    assert.deepEqual(await lite.read(mineEmpty), ['java.util.RegularEnumSet[]']);
  });

  test("EnumMap<K,V>: Java's replies decode to an object keyed by constant names; sending one is refused (hessian-lite reads it as a HashMap)", async () => {
    const java = await lite.write('enummap');
    assert.deepEqual(json(java), [{ USD: 1, EUR: 2 }]);
    assert.match((await lite.read(java))[0] ?? '', /^java\.util\.HashMap\{/, 'hessian-lite reads its own EnumMap back as a HashMap');
    assert.throws(
      () => compileJsonEncoder(parseJavaType('EnumMap<ferry.oracle.Currency, Integer>', lookup), { generic: false }),
      /cannot be sent to Java: hessian-lite reads every map back as a HashMap/,
    );
  });

  test('floats: Float.MAX_VALUE, the smallest subnormal and friends; boxed as Double.parseDouble(Float.toString), float[] and float fields widened', async () => {
    const java = await lite.write('floats');
    const decoded = json(java);
    assert.deepEqual(decoded, [
      3.4028235e38,
      -3.4028235e38,
      1.4e-45,
      0.1,
      9.8e-45,
      3e38,
      16777216,
      [Math.fround(3.4028235e38), Math.fround(1.4e-45), Math.fround(0.1)],
    ]);
    // The JSON a client sends is the number it got (or any text Java's Float.parseFloat takes to the same float).
    const boxed = ['3.4028235e38', '-3.4028235E38', '1.4e-45', '0.1', '1.0E-44', '3e38', '16777217'];
    const mine = encode([...boxed.map((v): [string, unknown] => ['float', v]), ['float[]', [3.4028235e38, 1.4e-45, 0.1]]]);
    const back = await lite.read(mine);
    assert.deepEqual(back, await lite.read(java), 'hessian-lite reads the same doubles from Ferry as from itself');
    assert.equal(hex(mine), hex(java), 'same bytes as hessian-lite');
  });

  test("Float.MIN_NORMAL: OpenJDK 17's Float.toString gives a longer decimal than the shortest; the double differs, the float Java narrows it to does not", async () => {
    const java = await lite.write('floatminnormal');
    assert.deepEqual(json(java), [1.17549435e-38], 'OpenJDK 17 writes 1.17549435E-38');
    const mine = encode([['float', '1.17549435E-38']]);
    assert.deepEqual(json(mine), [1.1754944e-38], 'Ferry writes the shortest decimal, as Java 19+ does');
    assert.equal(Math.fround(json(mine)[0] as number), Math.fround(json(java)[0] as number), 'both narrow to Float.MIN_NORMAL');
    assert.equal(Math.fround(1.1754944e-38), 2 ** -126, 'which is 2^-126');
  });

  test("a float field at Float.MAX_VALUE: hessian-lite writes it widened and Ferry decodes it exactly; reading one, hessian-lite 4.0.x is broken for Java's bytes and Ferry's alike", async () => {
    const java = await lite.write('floatbag');
    assert.deepEqual(json(java), [{ pad: 0, f: Math.fround(3.4028235e38) }], 'the widened double, exactly');
    const mine = encode([['ferry.oracle.FloatBag', { pad: 0, f: '3.4028235e38' }]]);
    assert.equal(hex(mine), hex(java), 'same bytes as hessian-lite');
    // apache/dubbo#15670: FloatFieldDeserializer stores the double with Unsafe.putDouble. Dubbo 3.3.6
    // ships hessian-lite 4.0.4, which still does; the README's type notes warn about it.
    const [read] = await lite.read(java);
    assert.ok(read !== undefined && !read.includes('f=float:3.4028235E38'), `hessian-lite misreads its own float field: ${read}`);
  });

  test('java.util.Optional: hessian-lite cannot write one, and a mapping naming it is refused at load', async () => {
    await assert.rejects(lite.write('optional'), /Optional must implement java\.io\.Serializable/, 'hessian-lite refuses to serialise an Optional');
    for (const text of ['java.util.Optional<String>', 'Optional', 'java.util.OptionalLong']) {
      assert.throws(
        () => parseJavaType(text, lookup),
        (e: unknown) => e instanceof JavaTypeError && /cannot travel over Dubbo's Hessian: it is not Serializable/.test(e.message),
        `${text} is refused with the reason`,
      );
    }
  });
});

describe('JDK values against Caucho Hessian 4.0.38', () => {
  let caucho: Oracle;
  before(() => {
    caucho = startOracle('caucho');
  });
  after(async () => {
    await caucho.close();
  });

  test('Currency and EnumMap: Caucho writes them as hessian-lite does, byte for byte', async () => {
    const currency = await caucho.write('currency');
    assert.equal(
      hex(
        encode([
          ['java.util.Currency', 'EUR'],
          ['java.util.Currency', 'JPY'],
        ]),
      ),
      hex(currency),
    );
    assert.deepEqual(json(await caucho.write('enummap')), [{ USD: 1, EUR: 2 }]);
  });

  test('a UUID as Caucho writes it (its two longs) decodes to the same canonical text', async () => {
    assert.deepEqual(json(await caucho.write('uuid')), ['123e4567-e89b-12d3-a456-426614174000', 'ffffffff-ffff-ffff-0000-000000000000']);
  });
});
