/**
 * Cross-checks against Java: Caucho Hessian 4.0.38 (Debian's libhessian-java) and Dubbo's own
 * hessian-lite 4.0.3 (Maven Central), driven through test/codec/oracle (one JVM per library).
 * Both directions: bytes Java writes decode to the right values here, and bytes written here read
 * back in Java to the same objects Java itself would have written. BigDecimal and java.time are
 * checked against hessian-lite only (Caucho serialises them differently; see toolchain.md).
 * Needs scripts/setup-hessian.sh.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TypeDef } from '../../src/config/types.js';
import {
  compileJsonEncoder,
  decodeAll,
  describeThrowable,
  HessianWriter,
  JavaDate,
  parseJavaType,
  toJson,
  type HessianValue,
} from '../../src/codec/hessian/index.js';
import { startOracle, type Oracle, type OracleVariant } from './oracle/oracle.js';

const at = { file: 'oracle.yaml', line: 1, col: 1 };
const f = (name: string, type: string): { name: string; type: string; source: typeof at } => ({ name, type, source: at });
const TYPES = new Map<string, TypeDef>([
  ['ferry.oracle.Currency', { kind: 'enum', name: 'ferry.oracle.Currency', constants: ['CNY', 'USD', 'EUR'], source: at }],
  [
    'ferry.oracle.Simple',
    {
      kind: 'pojo',
      name: 'ferry.oracle.Simple',
      source: at,
      fields: [
        f('id', 'long'),
        f('n', 'int'),
        f('name', 'String'),
        f('ratio', 'double'),
        f('flag', 'boolean'),
        f('when', 'java.util.Date'),
        f('blob', 'byte[]'),
        f('tags', 'List<String>'),
        f('counts', 'Map<String, Long>'),
        f('currency', 'ferry.oracle.Currency'),
        f('child', 'ferry.oracle.Simple'),
      ],
    },
  ],
  [
    'ferry.oracle.Transfer',
    {
      kind: 'pojo',
      name: 'ferry.oracle.Transfer',
      source: at,
      fields: [
        f('to', 'long'),
        f('amount', 'java.math.BigDecimal'),
        f('memo', 'String'),
        f('executeAt', 'java.time.LocalDateTime'),
        f('tags', 'List<String>'),
        f('currency', 'ferry.oracle.Currency'),
        f('count', 'int'),
        f('maybe', 'Long'),
      ],
    },
  ],
]);

/** Encodes JSON values with declared types, one top-level value each, in one frame. */
function encode(items: Array<[string, unknown]>): Buffer {
  const w = new HessianWriter();
  for (const [type, value] of items)
    compileJsonEncoder(
      parseJavaType(type, (n) => TYPES.get(n)),
      { generic: false },
    )(w, value, '$');
  return w.finish();
}
const json = (vs: HessianValue[]): unknown[] => vs.map((v) => toJson(v, { longs: 'auto' }));

const INTS = [0, -16, 47, 48, -17, -2048, 2047, 2048, -2049, -262144, 262143, 262144, -262145, -2147483648, 2147483647];
const LONGS = [
  0n,
  -8n,
  15n,
  16n,
  -9n,
  -2048n,
  2047n,
  2048n,
  -262144n,
  262143n,
  262144n,
  2147483647n,
  -2147483648n,
  2147483648n,
  -2147483649n,
  9007199254740993n,
  9223372036854775807n,
  -9223372036854775808n,
];
const DOUBLES = [
  0,
  -0,
  1,
  -1,
  127,
  -128,
  128,
  32767,
  -32768,
  32768,
  1.5,
  0.001,
  -12.345,
  2147483.647,
  0.1,
  1e300,
  5e-324,
  NaN,
  Infinity,
  -Infinity,
  3e9,
];
const STRINGS = [
  '',
  'hello',
  '中文字符',
  'a😀b',
  '\uD800',
  'é\u0000\u07FF\u0800\uFFFF',
  Array.from({ length: 40000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join(''),
  'x'.repeat(0x7fff) + '😀tail',
  'z'.repeat(31),
  'z'.repeat(32),
  'z'.repeat(1023),
  'z'.repeat(1024),
];
const DATES = [0, 1625097599123, 60000 * 27000000, -1, 60000 * 3000000000];
const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff));
const SIMPLE_JSON = {
  id: '9223372036854775807',
  n: -7,
  name: 'über 😀',
  ratio: 0.25,
  flag: true,
  when: '2021-06-30T23:59:59.123Z',
  blob: 'AQL/',
  tags: ['t1'],
  counts: { k: '1099511627776' },
  currency: 'CNY',
  child: { name: 'child', tags: [] },
};

for (const variant of ['caucho', 'hessian-lite'] as OracleVariant[]) {
  const lite = variant === 'hessian-lite';
  describe(`Java oracle: ${variant}`, () => {
    let oracle: Oracle;
    before(() => {
      oracle = startOracle(variant);
    });
    after(async () => {
      await oracle.close();
    });

    test('ints, longs, doubles, strings, dates: same bytes as Java, and each side reads the other', async () => {
      const groups: Array<[string, string, unknown[], HessianValue[]]> = [
        ['ints', 'int', INTS, INTS],
        ['longs', 'long', LONGS.map(String), LONGS],
        ['doubles', 'double', DOUBLES.map((d) => (Number.isFinite(d) ? d : String(d))), DOUBLES.map((d) => (Object.is(d, -0) ? 0 : d))],
        ['strings', 'String', STRINGS, STRINGS],
        ['dates', 'java.util.Date', DATES, DATES.map((ms) => new JavaDate(ms))],
      ];
      for (const [name, type, input, decoded] of groups) {
        const javaBytes = await oracle.write(name);
        assert.deepStrictEqual(decodeAll(javaBytes), decoded, `${name}: Java's bytes decode here`);
        const mine = encode(input.map((v) => [type, v]));
        assert.equal(mine.toString('hex'), javaBytes.toString('hex'), `${name}: same bytes as Java`);
      }
    });

    test("binary: Java reads ours, we read Java's (chunking may differ)", async () => {
      const sizes = [0, 15, 16, 1023, 1024, 5000];
      assert.deepStrictEqual(decodeAll(await oracle.write('bytes')), sizes.map(bytes));
      const mine = encode(sizes.map((n) => ['byte[]', bytes(n).toString('base64')]));
      assert.deepEqual(
        await oracle.read(mine),
        sizes.map((n) => `bytes:${bytes(n).toString('hex')}`),
      );
    });

    test('lists, sets, arrays and maps as Java writes and reads them', async () => {
      assert.deepEqual(json(decodeAll(await oracle.write('lists'))), [
        [1, 'two', 3, null],
        [1, 2, 3],
        [1, 1099511627776],
        ['a', 'b'],
        [1, 'x'],
        ['x'],
        [],
        [1, 2, 3, 4, 5, 6, 7, 8],
        ['q'],
        [1.5],
        [true, false],
        [7],
        [1, null],
        [1, 2],
        ['USD'],
      ]);
      assert.deepEqual(json(decodeAll(await oracle.write('maps'))), [{ a: 1, b: 'x' }, { z: 1, y: null }, { 1: 'one', 2: 'two' }, { 5: 'five' }, {}]);
      const mine = encode([
        ['List<Object>', [1, 'two', null]],
        ['int[]', [1, 2, 3]],
        ['long[]', ['1', '1099511627776']],
        ['String[]', ['a', 'b']],
        ['Object[]', [1, 'x']],
        ['Set<String>', ['x']],
        ['LinkedList<String>', ['q']],
        ['double[]', [1.5]],
        ['boolean[]', [true, false]],
        ['short[]', [7]],
        ['Integer[]', [1, null]],
        ['ferry.oracle.Currency[]', ['USD']],
        ['Map<String, Object>', { a: 1, b: 'x' }],
        ['LinkedHashMap<String, Long>', { z: 1, y: null }],
        ['TreeMap<Integer, String>', { 2: 'two', 1: 'one' }],
        ['Map<Long, String>', { 5: 'five' }],
      ]);
      assert.deepEqual(await oracle.read(mine), [
        'java.util.ArrayList[int:1,str:two,null]',
        'array<int>[int:1,int:2,int:3]',
        'array<long>[long:1,long:1099511627776]',
        'array<java.lang.String>[str:a,str:b]',
        'array<java.lang.Object>[int:1,str:x]',
        'java.util.HashSet[str:x]',
        'java.util.LinkedList[str:q]',
        'array<double>[double:1.5]',
        'array<boolean>[bool:true,bool:false]',
        'array<short>[short:7]',
        'array<java.lang.Integer>[int:1,null]',
        'array<ferry.oracle.Currency>[enum:ferry.oracle.Currency.USD]',
        'java.util.HashMap{str:a=int:1,str:b=str:x}',
        'java.util.LinkedHashMap{str:z=long:1,str:y=null}',
        'java.util.TreeMap{int:1=str:one,int:2=str:two}',
        'java.util.HashMap{long:5=str:five}',
      ]);
    });

    test("enums (with Java's back-reference for a repeated constant) and a POJO with every core type", async () => {
      assert.deepEqual(json(decodeAll(await oracle.write('enums'))), ['USD', 'EUR', 'USD']);
      const javaSimple = await oracle.write('simple');
      const [parent] = json(decodeAll(javaSimple)) as [Record<string, unknown>];
      assert.deepEqual(parent, {
        id: '9223372036854775807',
        n: -7,
        name: 'über 😀',
        ratio: 0.25,
        flag: true,
        when: '2021-06-30T23:59:59.123Z',
        blob: 'AQL/',
        tags: ['t1'],
        counts: { k: 1099511627776 },
        currency: 'CNY',
        child: { id: 0, n: 0, name: 'child', ratio: 0, flag: false, when: null, blob: null, tags: [], counts: null, currency: null, child: null },
      });
      const [javaView] = await oracle.read(javaSimple);
      assert.deepEqual(await oracle.read(encode([['ferry.oracle.Simple', SIMPLE_JSON]])), [javaView], 'Java reads ours as it reads its own');
    });

    test('self-referencing objects and exceptions (Throwable.cause = this)', async () => {
      assert.deepEqual(json(decodeAll(await oracle.write('nodes'))), [{ name: 'a', next: { name: 'b', next: null } }]);
      const [ise, re] = decodeAll(await oracle.write('exception'));
      assert.deepEqual(describeThrowable(ise), { className: 'java.lang.IllegalStateException', message: 'boom' });
      assert.deepEqual(describeThrowable(re), {
        className: 'java.lang.RuntimeException',
        message: 'outer',
        cause: { className: 'java.lang.IllegalArgumentException', message: 'inner' },
      });
    });

    test("BigInteger: Java's field layout decodes here, and Java reads ours", async () => {
      const values = ['0', '1', '-5', '18446744073709551617', '-123456789012345678901234567890'];
      assert.deepEqual(json(decodeAll(await oracle.write('biginteger'))), values);
      assert.deepEqual(
        await oracle.read(encode(values.map((v) => ['java.math.BigInteger', v]))),
        values.map((v) => `biginteger:${v}`),
      );
    });

    if (lite) {
      test('BigDecimal (hessian-lite): same bytes as Java, every digit and the scale kept', async () => {
        const values = ['1.10', '12345678901234567890.123456789', '1E+3', '0.00', '1E-10'];
        const javaBytes = await oracle.write('bigdecimal');
        assert.deepEqual(json(decodeAll(javaBytes)), values);
        const mine = encode(values.map((v) => ['java.math.BigDecimal', v]));
        assert.equal(mine.toString('hex'), javaBytes.toString('hex'));
        assert.deepEqual(
          await oracle.read(
            encode([
              ['BigDecimal', '-0.00'],
              ['BigDecimal', '1.5e-7'],
            ]),
          ),
          ['bigdecimal:0.00', 'bigdecimal:1.5E-7'],
        );
      });

      test("java.time (hessian-lite handles): same bytes as Java, and Java's toString back here", async () => {
        const values = ['2021-06-30', '23:59:59.123456789', '2021-06-30T23:59:59.123456789', '2021-06-30T23:59:59.123Z', '2021-01-02T03:04', '00:00'];
        const javaBytes = await oracle.write('javatime');
        assert.deepEqual(json(decodeAll(javaBytes)), values);
        const types = ['LocalDate', 'LocalTime', 'LocalDateTime', 'Instant', 'LocalDateTime', 'LocalTime'];
        const mine = encode(values.map((v, i) => [types[i] as string, v]));
        assert.equal(mine.toString('hex'), javaBytes.toString('hex'));
      });

      test("the other java.time values and java.sql dates: same bytes as hessian-lite, and Java's toString back here", async () => {
        const values: Array<[string, string | number]> = [
          ['java.time.Duration', 'PT51H4M'],
          ['java.time.Duration', 'PT-0.5S'],
          ['java.time.Period', 'P1Y2M21D'],
          ['java.time.Year', '2024'],
          ['java.time.YearMonth', '-0044-03'],
          ['java.time.MonthDay', '--02-29'],
          ['java.time.ZoneOffset', '+05:30'],
          ['java.time.OffsetDateTime', '2024-02-29T09:30:00.123+01:00'],
          ['java.time.OffsetTime', '23:59:59.999999999-08:00'],
          ['java.time.ZonedDateTime', '2024-03-31T03:30+02:00[Europe/Paris]'],
          ['java.sql.Timestamp', '2024-02-29T09:30:00.123Z'],
          ['java.sql.Date', '1970-01-01T00:00:00.000Z'],
          ['java.sql.Time', '1970-01-01T01:00:00.000Z'],
        ];
        const javaBytes = await oracle.write('javatime2');
        assert.deepEqual(
          json(decodeAll(javaBytes)),
          values.map(([, v]) => v),
        );
        const mine = encode(values.map(([t, v]) => [t, v]));
        assert.equal(mine.toString('hex'), javaBytes.toString('hex'));
      });

      test('a POJO with long, BigDecimal, LocalDateTime, list, enum (hessian-lite reads ours as its own)', async () => {
        const javaBytes = await oracle.write('transfer');
        const transfer = {
          to: '9007199254740993',
          amount: '12345678901234567.89',
          memo: 'rent ☃',
          executeAt: '2024-02-29T12:00:00.000000005',
          tags: ['a', 'b'],
          currency: 'EUR',
          count: 3,
          maybe: null,
        };
        assert.deepEqual(json(decodeAll(javaBytes)), [transfer]);
        const [javaView] = await oracle.read(javaBytes);
        assert.deepEqual(await oracle.read(encode([['ferry.oracle.Transfer', transfer]])), [javaView]);
      });
    }
  });
}
