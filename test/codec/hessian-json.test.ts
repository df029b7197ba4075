/**
 * Unit tests for the pure JSON ↔ Hessian converters and the Java type model: every row of the
 * DESIGN.md type table in both directions, the exactness edge cases, and every error message with
 * its JSON path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as losslessParse } from 'lossless-json';
import type { TypeDef } from '../../src/config/types.js';
import {
  compileJsonEncoder,
  HessianArgumentError,
  HessianReader,
  HessianWriter,
  JavaTypeError,
  javaTypeName,
  jvmDescriptor,
  parseJavaType,
  toJson,
  describeThrowable,
  JavaObject,
  type JavaType,
} from '../../src/codec/hessian/index.js';

const at = { file: 'm.yaml', line: 1, col: 1 };
const TYPES = new Map<string, TypeDef>([
  [
    'com.example.bank.Transfer',
    {
      kind: 'pojo',
      name: 'com.example.bank.Transfer',
      source: at,
      fields: [
        { name: 'to', type: 'long', source: at },
        { name: 'amount', type: 'java.math.BigDecimal', source: at },
        { name: 'memo', type: 'String', source: at },
        { name: 'executeAt', type: 'java.time.LocalDateTime', source: at },
        { name: 'tags', type: 'List<String>', source: at },
        { name: 'currency', type: 'com.example.bank.Currency', source: at },
        { name: 'count', type: 'int', source: at },
      ],
    },
  ],
  ['com.example.bank.Currency', { kind: 'enum', name: 'com.example.bank.Currency', constants: ['CNY', 'USD', 'EUR'], source: at }],
  [
    'com.example.Node',
    {
      kind: 'pojo',
      name: 'com.example.Node',
      source: at,
      fields: [
        { name: 'name', type: 'String', source: at },
        { name: 'next', type: 'com.example.Node', source: at },
      ],
    },
  ],
]);
const lookup = (n: string): TypeDef | undefined => TYPES.get(n);
const T = (text: string): JavaType => parseJavaType(text, lookup);

/** Encodes `value` as `type` and decodes it back with the reader, then to JSON. */
function roundTrip(type: string, value: unknown, longs: 'auto' | 'string' = 'auto'): unknown {
  const w = new HessianWriter();
  compileJsonEncoder(T(type), { generic: false })(w, value, '$');
  const r = new HessianReader(w.finish());
  const v = r.read();
  assert.equal(r.hasMore(), false);
  return toJson(v, { longs, enumClasses: new Set(['com.example.bank.Currency']) });
}

function encodeHex(type: string, value: unknown, generic = false): string {
  const w = new HessianWriter();
  compileJsonEncoder(T(type), { generic })(w, value, '$');
  return w.finish().toString('hex');
}

function rejects(type: string, value: unknown, jsonPath: string, message: RegExp, generic = false): void {
  const w = new HessianWriter();
  assert.throws(
    () => compileJsonEncoder(T(type), { generic })(w, value, '$'),
    (err: unknown) => {
      assert.ok(err instanceof HessianArgumentError, `expected HessianArgumentError, got ${String(err)}`);
      assert.equal(err.jsonPath, jsonPath);
      assert.equal(err.code, 'FERRY_BAD_ARGUMENT');
      assert.match(err.message, message);
      return true;
    },
  );
}

const hex = (s: string): string => Buffer.from(s).toString('hex');

// ---- type model ---------------------------------------------------------------------------

test('parseJavaType accepts primitives, boxed (short and long names), java.time, generics, arrays, declared types', () => {
  assert.deepEqual(T('long'), { kind: 'long', boxed: false });
  assert.deepEqual(T('Long'), { kind: 'long', boxed: true });
  assert.deepEqual(T('java.lang.Long'), { kind: 'long', boxed: true });
  assert.deepEqual(T('java.math.BigDecimal'), { kind: 'bigdecimal' });
  assert.deepEqual(T('LocalDateTime'), { kind: 'localdatetime' });
  assert.deepEqual(T('byte[]'), { kind: 'bytes' });
  assert.deepEqual(T('long[]'), { kind: 'array', elem: { kind: 'long', boxed: false } });
  assert.deepEqual(T('Map<String, List<Long>>'), {
    kind: 'map',
    key: { kind: 'string' },
    javaClass: 'java.util.Map',
    value: { kind: 'list', javaClass: 'java.util.List', elem: { kind: 'long', boxed: true } },
  });
  assert.equal(T('Set<String>').kind, 'list');
  const node = T('com.example.Node');
  assert.ok(node.kind === 'pojo');
  assert.equal(node.fields[1]?.type, node, 'a recursive POJO refers to itself');
  assert.deepEqual(T('com.example.bank.Currency'), { kind: 'enum', name: 'com.example.bank.Currency', constants: ['CNY', 'USD', 'EUR'] });
});

test('parseJavaType rejects unknown and malformed type text with one sentence naming it', () => {
  assert.throws(
    () => T('com.example.Nope'),
    (e: unknown) => e instanceof JavaTypeError && /Unknown Java type "com\.example\.Nope"/.test(e.message),
  );
  assert.throws(
    () => T('List<Strin>'),
    (e: unknown) => e instanceof JavaTypeError && /"Strin" in "List<Strin>"/.test(e.message),
  );
  assert.throws(
    () => T('Map<String>'),
    (e: unknown) => e instanceof JavaTypeError && /Malformed Java type "Map<String>"/.test(e.message),
  );
  assert.throws(() => T('long<int>'), JavaTypeError);
  assert.throws(() => T(''), JavaTypeError);
});

test('jvmDescriptor and javaTypeName give what Dubbo expects', () => {
  const cases: Array<[string, string, string]> = [
    ['long', 'J', 'long'],
    ['int', 'I', 'int'],
    ['boolean', 'Z', 'boolean'],
    ['Long', 'Ljava/lang/Long;', 'java.lang.Long'],
    ['String', 'Ljava/lang/String;', 'java.lang.String'],
    ['long[]', '[J', 'long[]'],
    ['byte[]', '[B', 'byte[]'],
    ['String[]', '[Ljava/lang/String;', 'java.lang.String[]'],
    ['List<String>', 'Ljava/util/List;', 'java.util.List'],
    ['com.example.bank.Transfer', 'Lcom/example/bank/Transfer;', 'com.example.bank.Transfer'],
    ['java.math.BigDecimal', 'Ljava/math/BigDecimal;', 'java.math.BigDecimal'],
    ['int[][]', '[[I', 'int[][]'],
  ];
  for (const [text, desc, name] of cases) {
    assert.equal(jvmDescriptor(T(text)), desc, text);
    assert.equal(javaTypeName(T(text)), name, text);
  }
});

// ---- scalars ------------------------------------------------------------------------------

test('boolean: true/false and their strings', () => {
  assert.equal(roundTrip('boolean', true), true);
  assert.equal(roundTrip('Boolean', 'false'), false);
  assert.equal(roundTrip('Boolean', null), null);
  rejects('boolean', 'yes', '$', /expected a boolean \(true or false\), got "yes"/);
  rejects('boolean', null, '$', /a primitive cannot be null/);
});

test('int, short, byte: integers and integer strings in range', () => {
  assert.equal(roundTrip('int', 42), 42);
  assert.equal(roundTrip('int', '42'), 42);
  assert.equal(roundTrip('Integer', -2147483648), -2147483648);
  assert.equal(roundTrip('int', losslessParse('2147483647')), 2147483647);
  assert.equal(roundTrip('short', '-32768'), -32768);
  assert.equal(roundTrip('byte', 127), 127);
  assert.equal(encodeHex('int', 0), '90');
  rejects('int', 2147483648, '$', /expected an int \(32-bit integer\), got 2147483648 \(out of range\)/);
  rejects('short', 40000, '$', /expected a short \(16-bit integer\), got 40000 \(out of range\)/);
  rejects('byte', '128', '$', /expected a byte \(8-bit integer\), got "128" \(out of range\)/);
  rejects('int', 1.5, '$', /expected an int \(32-bit integer\), got 1\.5/);
  rejects('int', 'abc', '$', /got "abc"/);
});

test('long: full int64 range from numbers, lossless numbers and strings, never through a double', () => {
  assert.equal(roundTrip('long', '9223372036854775807'), '9223372036854775807');
  assert.equal(roundTrip('long', '-9223372036854775808'), '-9223372036854775808');
  assert.equal(roundTrip('long', losslessParse('9223372036854775807')), '9223372036854775807');
  assert.equal(roundTrip('Long', losslessParse('9007199254740993')), '9007199254740993', '2^53+1 keeps its last digit');
  assert.equal(roundTrip('long', 9007199254740991), 9007199254740991, '2^53-1 comes back as a number');
  assert.equal(roundTrip('long', 42, 'string'), '42', "longs: 'string' always gives strings");
  assert.equal(encodeHex('long', '9223372036854775807'), '4c7fffffffffffffff');
  assert.equal(encodeHex('long', 5), 'e5');
  rejects('long', '9223372036854775808', '$', /expected a long \(64-bit integer\), got "9223372036854775808" \(out of range\)/);
  // eslint-disable-next-line no-loss-of-precision -- the number as a JSON client sends it, already rounded: what is tested
  rejects('long', 9007199254740993, '$', /beyond 2\^53 a JSON number may already have been rounded; send it as a string/);
  rejects('long', 1.5, '$', /expected a long \(64-bit integer\), got 1\.5/);
  rejects('long', losslessParse('1.5'), '$', /got 1\.5 \(it has a fraction\)/);
});

test('float and double: numbers, numeric strings; NaN/Infinity come back as strings', () => {
  assert.equal(roundTrip('double', 1.25), 1.25);
  assert.equal(roundTrip('Double', '0.1'), 0.1);
  assert.equal(roundTrip('double', losslessParse('12.345')), 12.345);
  assert.equal(roundTrip('double', 'NaN'), 'NaN');
  assert.equal(roundTrip('double', '-Infinity'), '-Infinity');
  assert.equal(roundTrip('float', 3.5), 3.5);
  rejects('float', 1e39, '$', /expected a float \(number\), got 1e\+39 \(beyond Float\.MAX_VALUE \(3\.4028235E38\)\)/);
  rejects('double', 'x1', '$', /expected a double \(number\), got "x1"/);
});

test('float and double: text beyond the double range or below it is refused, not turned into Infinity or 0 (inputs 1e400, -1e400, 1e-400 losslessly parsed; 1e-50 for a float)', () => {
  rejects('double', losslessParse('1e400'), '$', /expected a double \(number\), got 1e400 \(out of range\)/);
  rejects('Double', losslessParse('-1e400'), '$', /got -1e400 \(out of range\)/);
  rejects('double', losslessParse('1e-400'), '$', /got 1e-400 \(too small: it would become 0\)/);
  rejects('double', '1e-400', '$', /too small: it would become 0/);
  rejects('float', losslessParse('1e400'), '$', /out of range/);
  rejects('float', 1e-50, '$', /too small for a float: it would become 0/);
  // Zero written any way stays zero; the smallest double and an explicit Infinity still pass.
  assert.equal(roundTrip('double', losslessParse('0e-400')), 0);
  assert.equal(roundTrip('double', losslessParse('0.000')), 0);
  assert.equal(roundTrip('double', losslessParse('5e-324')), 5e-324);
  assert.equal(roundTrip('double', 'Infinity'), 'Infinity');
});

test('char: exactly one UTF-16 unit', () => {
  assert.equal(roundTrip('char', 'x'), 'x');
  rejects('char', 'xy', '$', /expected a char \(one UTF-16 character\), got "xy"/);
});

test('String: emoji, CJK and a lone surrogate survive; 40 000 characters chunk and return', () => {
  for (const s of ['😀 smile', '中文字符', 'a\uD800b', '', 'x'.repeat(40000), '😀'.repeat(20000)]) {
    assert.equal(roundTrip('String', s), s);
  }
  assert.equal(encodeHex('String', '😀'), '02eda0bdedb880', 'emoji as two 3-byte surrogate halves, length 2');
  rejects('String', 12, '$', /expected a string, got 12/);
});

// ---- exact decimals -----------------------------------------------------------------------

test('BigDecimal: every digit and the scale kept, written as hessian-lite does', () => {
  assert.equal(roundTrip('java.math.BigDecimal', losslessParse('123456789012345678901234567890.12')), '123456789012345678901234567890.12');
  assert.equal(roundTrip('BigDecimal', '1.10'), '1.10', 'scale kept');
  assert.equal(roundTrip('BigDecimal', '1E+3'), '1E+3');
  assert.equal(roundTrip('BigDecimal', '-1.5e-7'), '-1.5e-7');
  assert.equal(roundTrip('BigDecimal', 0.1), '0.1');
  assert.equal(encodeHex('BigDecimal', '1.23'), '4314' + hex('java.math.BigDecimal') + '9105' + hex('value') + '6004' + hex('1.23'));
  // eslint-disable-next-line no-loss-of-precision -- the number as a JSON client sends it, already rounded: what is tested
  rejects('BigDecimal', 12345678901234567.89, '$', /more than 15 digits may already have been rounded/);
  rejects('BigDecimal', '1,5', '$', /expected a decimal number \(java\.math\.BigDecimal\), got "1,5"/);
  rejects('BigDecimal', 'NaN', '$', /got "NaN"/);
});

test('BigInteger: beyond 2^64, negative, zero', () => {
  for (const v of ['18446744073709551617', '-123456789012345678901234567890', '0', '1', '-5']) {
    assert.equal(roundTrip('java.math.BigInteger', v), v);
  }
  assert.equal(roundTrip('BigInteger', losslessParse('340282366920938463463374607431768211457')), '340282366920938463463374607431768211457');
  rejects('BigInteger', '1.5', '$', /expected an integer \(java\.math\.BigInteger\), got "1\.5" \(it has a fraction\)/);
});

// ---- dates and times ----------------------------------------------------------------------

test('Date: ISO 8601 with offset or epoch ms in, ISO 8601 UTC with ms out', () => {
  assert.equal(roundTrip('java.util.Date', '2021-07-01T07:59:59.123+08:00'), '2021-06-30T23:59:59.123Z');
  assert.equal(roundTrip('Date', '2021-06-30T23:59:59Z'), '2021-06-30T23:59:59.000Z');
  assert.equal(roundTrip('Date', 1625097599123), '2021-06-30T23:59:59.123Z');
  assert.equal(roundTrip('Date', '0'), '1970-01-01T00:00:00.000Z');
  assert.equal(encodeHex('Date', '1970-01-01T08:01:00+08:00'), '4b00000001', 'whole minutes use the compact form');
  rejects('Date', '2021-06-30T23:59:59', '$', /expected a date-time with offset/);
  rejects('Date', '2021-02-30T00:00:00Z', '$', /expected a date-time with offset/);
  rejects('Date', '2021-06-30T23:59:59.1234Z', '$', /java\.util\.Date keeps milliseconds only/);
});

test('LocalDate, LocalTime, LocalDateTime, Instant: ISO in, Java toString out, via hessian-lite handles', () => {
  assert.equal(roundTrip('java.time.LocalDate', '2024-02-29'), '2024-02-29');
  assert.equal(roundTrip('LocalTime', '23:59:59.123456789'), '23:59:59.123456789');
  assert.equal(roundTrip('LocalTime', '23:59:00'), '23:59');
  assert.equal(roundTrip('LocalTime', '10:00:00.5'), '10:00:00.500');
  assert.equal(roundTrip('LocalDateTime', '2021-06-30T23:59:59.123456789'), '2021-06-30T23:59:59.123456789');
  assert.equal(roundTrip('Instant', '2021-07-01T07:59:59.123+08:00'), '2021-06-30T23:59:59.123Z');
  assert.equal(roundTrip('Instant', '1969-12-31T23:59:59Z'), '1969-12-31T23:59:59Z');
  assert.match(encodeHex('LocalDate', '2021-06-30'), new RegExp(hex('com.alibaba.com.caucho.hessian.io.java8.LocalDateHandle')));
  rejects('LocalDate', '2023-02-29', '$', /expected a date like 2024-02-29/);
  rejects('LocalDateTime', '2021-06-30T23:59:59Z', '$', /expected a local date-time/);
  rejects('LocalTime', '24:00', '$', /expected a time like/);
  rejects('Instant', '2021-06-30T23:59:59', '$', /expected an instant/);
});

// ---- enum, bytes, collections ---------------------------------------------------------------

test('enum: by constant name, written as hessian-lite EnumSerializer does, returned as its name', () => {
  assert.equal(roundTrip('com.example.bank.Currency', 'USD'), 'USD');
  assert.equal(encodeHex('com.example.bank.Currency', 'USD'), '4319' + hex('com.example.bank.Currency') + '9104' + hex('name') + '6003' + hex('USD'));
  assert.equal(encodeHex('com.example.bank.Currency', 'USD', true), '03' + hex('USD'), 'generic: the name as a string');
  rejects('com.example.bank.Currency', 'GBP', '$', /expected one of CNY, USD, EUR \(com\.example\.bank\.Currency\), got "GBP"/);
});

test('byte[]: base64 in and out', () => {
  assert.equal(roundTrip('byte[]', 'AQL/'), 'AQL/');
  assert.equal(roundTrip('byte[]', Buffer.alloc(5000, 7).toString('base64')), Buffer.alloc(5000, 7).toString('base64'));
  rejects('byte[]', 'not base64!', '$', /expected base64 data/);
});

test('List, Set, arrays: written as Java writes them, returned as arrays', () => {
  assert.deepEqual(roundTrip('List<Long>', ['1', 2, losslessParse('9007199254740993')]), [1, 2, '9007199254740993']);
  assert.equal(encodeHex('List<Integer>', [1]), '7991', 'ArrayList: untyped fixed list');
  assert.equal(encodeHex('Set<String>', ['a']), '7111' + hex('java.util.HashSet') + '0161');
  assert.equal(encodeHex('int[]', [1, 2]), '7204' + hex('[int') + '9192');
  assert.equal(encodeHex('String[]', ['a']), '7107' + hex('[string') + '0161');
  assert.equal(encodeHex('Long[]', [null]), '710f' + hex('[java.lang.Long') + '4e');
  assert.deepEqual(roundTrip('long[]', ['9223372036854775807']), ['9223372036854775807']);
  rejects('List<String>', ['a', 'b', 3], '$[2]', /expected a string, got 3/);
  rejects('int[]', [1, null], '$[1]', /a primitive cannot be null/);
  rejects('List<String>', 'a', '$', /expected an array, got "a"/);
});

test('Map: JSON objects, keys converted to the declared key type', () => {
  assert.deepEqual(roundTrip('Map<String, Long>', { a: '1', b: losslessParse('9223372036854775807') }), { a: 1, b: '9223372036854775807' });
  assert.deepEqual(roundTrip('Map<Long, String>', { '5': 'five' }), { '5': 'five' });
  assert.equal(encodeHex('Map<Long, String>', { '5': 'x' }), '48e501785a', 'key "5" written as a long');
  assert.match(encodeHex('LinkedHashMap<String, String>', {}), new RegExp('^4d17' + hex('java.util.LinkedHashMap')));
  rejects('Map<String, Integer>', { a: 1, 'b c': 'x' }, '$["b c"]', /expected an int/);
  rejects('Map<Integer, String>', { x: 'y' }, '$.x', /expected an int \(32-bit integer\), got "x"/);
});

test('POJO: exactly the declared fields; unknown fields and $class are errors; missing primitives are zero', () => {
  const transfer = {
    to: '9007199254740993',
    amount: losslessParse('12345678901234567.89'),
    memo: 'rent 😀',
    executeAt: '2024-02-29T12:00:00.000000005',
    tags: ['a', 'b'],
    currency: 'EUR',
    count: 3,
  };
  assert.deepEqual(roundTrip('com.example.bank.Transfer', transfer), {
    ...transfer,
    amount: '12345678901234567.89',
    executeAt: '2024-02-29T12:00:00.000000005',
  });
  assert.deepEqual(roundTrip('com.example.bank.Transfer', { memo: 'x' }), {
    to: 0,
    amount: null,
    memo: 'x',
    executeAt: null,
    tags: null,
    currency: null,
    count: 0,
  });
  rejects('com.example.bank.Transfer', { memo: 'x', $class: 'java.lang.Runtime' }, '$.$class', /an unknown field "\$class"/);
  rejects('com.example.bank.Transfer', { tags: ['a', 7] }, '$.tags[1]', /expected a string, got 7/);
  rejects('com.example.bank.Transfer', { amount: 'ten' }, '$.amount', /java\.math\.BigDecimal/);
  rejects('com.example.bank.Transfer', [], '$', /expected an object \(com\.example\.bank\.Transfer\), got an array/);
  // Recursive POJO
  assert.deepEqual(roundTrip('com.example.Node', { name: 'a', next: { name: 'b', next: null } }), { name: 'a', next: { name: 'b', next: null } });
});

test('POJO in generic mode: an untyped map with "class", only the fields given', () => {
  const w = new HessianWriter();
  compileJsonEncoder(T('com.example.bank.Transfer'), { generic: true })(w, { memo: 'm', executeAt: '2024-02-29T12:00:00' }, '$');
  const v = new HessianReader(w.finish()).read();
  assert.deepEqual(toJson(v, { longs: 'auto' }), { class: 'com.example.bank.Transfer', memo: 'm', executeAt: '2024-02-29T12:00:00' });
  rejects('Map<String, Object>', { class: 'java.lang.ProcessBuilder' }, '$.class', /generic calls must not let the client pick a Java class/, true);
});

test('Object: any JSON; numbers as int, long, double or BigDecimal by what keeps them exact; $class is just a key', () => {
  const value = losslessParse(
    '{"i": 7, "l": 9007199254740993, "d": 1.5, "big": 12345678901234567.89, "huge": 1e400, "s": "x", "n": null, "a": [true], "$class": "x"}',
  );
  assert.deepEqual(roundTrip('Object', value), {
    i: 7,
    l: '9007199254740993',
    d: 1.5,
    big: '12345678901234567.89',
    huge: '1e400',
    s: 'x',
    n: null,
    a: [true],
    $class: 'x',
  });
  const w = new HessianWriter();
  compileJsonEncoder(T('Object'), { generic: false })(w, losslessParse('[7, 3000000000, 1.5]'), '$');
  const list = new HessianReader(w.finish()).read() as unknown[];
  assert.deepEqual(list, [7, 3000000000n, 1.5], 'int, long, double');
});

// ---- decode-only rules ------------------------------------------------------------------------

test('toJson: field names kept as they are, enums by name, back-references become null', () => {
  const self = new JavaObject('java.lang.IllegalStateException', { detailMessage: 'boom' });
  self.fields['cause'] = self;
  assert.deepEqual(toJson(new JavaObject('com.x.Dto', { ABC: 1, aBc: 2n }), { longs: 'auto' }), { ABC: 1, aBc: 2 });
  assert.equal(toJson(new JavaObject('com.x.Color', { name: 'RED' }), { longs: 'auto' }), 'RED');
  assert.deepEqual(toJson(self, { longs: 'auto' }), { detailMessage: 'boom', cause: null });
  assert.deepEqual(describeThrowable(self), { className: 'java.lang.IllegalStateException', message: 'boom' });
  const outer = new JavaObject('java.lang.RuntimeException', { detailMessage: 'outer', cause: self });
  assert.deepEqual(describeThrowable(outer), {
    className: 'java.lang.RuntimeException',
    message: 'outer',
    cause: { className: 'java.lang.IllegalStateException', message: 'boom' },
  });
  assert.equal(describeThrowable(new JavaObject('com.x.Dto', { a: 1 })), undefined);
});

test('errors name the path inside nested containers', () => {
  rejects(
    'Map<String, List<com.example.bank.Transfer>>',
    { k: [{}, { count: 'many' }] },
    '$.k[1].count',
    /expected an int \(32-bit integer\), got "many"/,
  );
});

test('Date output matches Date.prototype.toISOString over the whole Date range (input: fast-check epoch ms)', async () => {
  const { default: fc } = await import('fast-check');
  const { JavaDate } = await import('../../src/codec/hessian/index.js');
  fc.assert(
    fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), (ms) => {
      assert.equal(toJson(new JavaDate(ms), { longs: 'auto' }), new Date(ms).toISOString());
    }),
    { numRuns: 5000 },
  );
});

test('shared references are converted once and charged every time (input: a 40-level reference bomb; a list of 3 refs to a 3-item list under a budget of 10)', async () => {
  const { FerryError } = await import('../../src/errors/index.js');
  const { hostileValueBody } = await import('../support/hostile-dubbo.js');
  const { decodeResponseBody } = await import('../../src/codec/dubbo-body.js');
  const bomb = decodeResponseBody(hostileValueBody('refBomb'));
  assert.ok(bomb.kind === 'value', 'the bomb decodes as a value (the reader keeps references as pointers)');
  // 2^40 values once expanded: refused by the budget, after converting each level once.
  assert.throws(
    () => toJson(bomb.value, { longs: 'auto' }),
    (e: unknown) => e instanceof FerryError && e.code === 'FERRY_UPSTREAM_PROTOCOL_ERROR' && /too many values/.test(e.message),
  );
  const inner = [1, 2, 3];
  const shared = [inner, inner, inner]; // 1 + 3 × 4 = 13 values emitted
  assert.deepEqual(toJson(shared, { longs: 'auto', maxNodes: 13 }), [inner, inner, inner]);
  assert.throws(() => toJson(shared, { longs: 'auto', maxNodes: 10 }), /too many values/);
});

test('a value first met inside a cycle is converted again where it sits elsewhere (input: A = {b: B}, B = {a: A}, [A, B])', () => {
  const a = new JavaObject('com.x.A', {});
  const b = new JavaObject('com.x.B', { a });
  a.fields['b'] = b;
  // Under A, B's reference back to A is null; B on its own holds A, whose reference back to B is null.
  assert.deepEqual(toJson([a, b], { longs: 'auto' }), [{ b: { a: null } }, { a: { b: null } }]);
});
