/**
 * The Caucho Hessian 2 oracle (samples/hessian-oracle, Debian's libhessian-java) checked against
 * hessian.js, two implementations nobody here wrote: where they agree byte for byte, either can
 * serve as a reference for Ferry's codec; where they differ, the test records how.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { cauchoDescribe, cauchoEncode, startCauchoOracle, type CauchoOracle, type CauchoSpec } from '../support/caucho-oracle.js';

const require = createRequire(import.meta.url);
// hessian.js ships no types.
const hessian: any = require('hessian.js');

function hjs(value: unknown): Buffer {
  const enc = new hessian.EncoderV2();
  enc.write(value);
  return enc.get() as Buffer;
}

const s = (value: string): CauchoSpec => ({ kind: 'string', value });
const i = (value: number): CauchoSpec => ({ kind: 'int', value });
const l = (value: number | string): CauchoSpec => ({ kind: 'long', value });

/** [name, Caucho spec, the same value for hessian.js] — each must encode to identical bytes. */
const SAME_BYTES: Array<[string, CauchoSpec, unknown]> = [
  ['null', { kind: 'null' }, null],
  ['true', { kind: 'bool', value: true }, true],
  ['false', { kind: 'bool', value: false }, false],
  ['int -16 (one byte)', i(-16), -16],
  ['int 47 (one byte)', i(47), 47],
  ['int 48 (two bytes)', i(48), 48],
  ['int -2049 (three bytes)', i(-2049), -2049],
  ['int 262143', i(262143), 262143],
  ['int 2^31-1', i(2147483647), 2147483647],
  ['int -2^31', i(-2147483648), -2147483648],
  ['long 15 (one byte)', l(15), { $class: 'long', $: 15 }],
  ['long -2048', l(-2048), { $class: 'long', $: -2048 }],
  ['long 262143', l(262143), { $class: 'long', $: 262143 }],
  ['long 262144 (0x59 int32 form)', l(262144), { $class: 'long', $: 262144 }],
  ['long 2^31', l(2147483648), { $class: 'long', $: 2147483648 }],
  ['long 2^53+1', l('9007199254740993'), { $class: 'long', $: '9007199254740993' }],
  ['long 2^63-1', l('9223372036854775807'), { $class: 'long', $: '9223372036854775807' }],
  ['long -2^63', l('-9223372036854775808'), { $class: 'long', $: '-9223372036854775808' }],
  ['double 0.0', { kind: 'double', value: 0 }, { $class: 'double', $: 0 }],
  ['double 1.0', { kind: 'double', value: 1 }, { $class: 'double', $: 1 }],
  ['double -128 (byte form)', { kind: 'double', value: -128 }, { $class: 'double', $: -128 }],
  ['double 32767 (short form)', { kind: 'double', value: 32767 }, { $class: 'double', $: 32767 }],
  ['double 1.5 (x5f milliunits)', { kind: 'double', value: 1.5 }, 1.5],
  ['double 0.001 (x5f)', { kind: 'double', value: 0.001 }, 0.001],
  ['double 3.14159 (full 8 bytes)', { kind: 'double', value: 3.14159 }, 3.14159],
  ['double 1e300 declared as double', { kind: 'double', value: 1e300 }, { $class: 'double', $: 1e300 }],
  ['string empty', s(''), ''],
  ['string with a surrogate pair (CESU-8 halves)', s('a\ud83d\ude00'), 'a\ud83d\ude00'],
  ['string of 32 units (0x30 form)', s('x'.repeat(32)), 'x'.repeat(32)],
  ['string of 1024 units (S form)', s('y'.repeat(1024)), 'y'.repeat(1024)],
  ['string of 70000 units (R chunks)', s('z'.repeat(70000)), 'z'.repeat(70000)],
  ['binary 2 bytes', { kind: 'binary', value: '00ff' }, Buffer.from('00ff', 'hex')],
  ['binary 16 bytes (0x34 form)', { kind: 'binary', value: 'ab'.repeat(16) }, Buffer.from('ab'.repeat(16), 'hex')],
  ['date on a whole minute (0x4b form)', { kind: 'date', value: 1577836800000 }, new Date(1577836800000)],
  ['date with millis (0x4a form)', { kind: 'date', value: new Date(1577836800123) }, new Date(1577836800123)],
  ['untyped list', { kind: 'list', items: [i(1), s('a')] }, [1, 'a']],
  [
    'untyped map',
    {
      kind: 'map',
      entries: [
        [s('a'), i(1)],
        [s('b'), { kind: 'bool', value: false }],
      ],
    },
    { a: 1, b: false },
  ],
  ['String[]', { kind: 'typed-list', type: '[string', items: [s('a'), s('b')] }, { $class: '[string', $: ['a', 'b'] }],
  ['int[]', { kind: 'typed-list', type: '[int', items: [i(1)] }, { $class: '[int', $: [1] }],
  [
    'typed object',
    {
      kind: 'object',
      type: 'com.example.bank.Transfer',
      fields: [
        ['to', l(2)],
        ['memo', s('x')],
      ],
    },
    { $class: 'com.example.bank.Transfer', $: { to: { $class: 'long', $: 2 }, memo: 'x' } },
  ],
];

describe('Caucho oracle vs hessian.js', () => {
  let oracle: CauchoOracle;
  before(async () => {
    oracle = await startCauchoOracle();
  });
  after(async () => {
    await oracle?.close();
  });

  test('core types encode to identical bytes in both implementations', async () => {
    const results = await Promise.all(SAME_BYTES.map(([, spec]) => oracle.encode(spec)));
    SAME_BYTES.forEach(([name, , value], k) => {
      assert.equal(hjs(value).toString('hex'), results[k]!.toString('hex'), name);
    });
  });

  test('hessian.js decodes Caucho bytes back to the value (long 2^63-1 as a decimal string)', async () => {
    const max = await oracle.encode(l('9223372036854775807'));
    assert.equal(new hessian.DecoderV2(max).read(), '9223372036854775807');
    const emoji = await oracle.encode(s('\ud83d\ude00'));
    assert.equal(new hessian.DecoderV2(emoji).read(), '\ud83d\ude00');
  });

  test('Caucho describes hessian.js output: shared objects become refs (@n)', async () => {
    const shared = { a: 1 };
    assert.equal(await oracle.describe(hjs([shared, shared])), 'list:java.util.ArrayList[map:java.util.HashMap{string:"a"=>int:1}, @1]');
  });

  test('Caucho writes refs for a reused Java object, and hessian.js resolves them', async () => {
    const bytes = await oracle.encode({
      kind: 'list',
      items: [
        { kind: 'def', id: 'm', value: { kind: 'map', entries: [[s('k'), i(7)]] } },
        { kind: 'use', id: 'm' },
      ],
    });
    assert.equal(bytes.toString('hex'), '7a48016b975a5191', 'list(2) [H {k:7} Z, Q 1]');
    const [first, second] = new hessian.DecoderV2(bytes).read() as [object, object];
    assert.equal(first, second, 'hessian.js gives the same JS object for the ref');
  });

  test('several top-level values share one stream (seq) and DEC describes each, TAB-separated', async () => {
    const obj: CauchoSpec = { kind: 'object', type: 'x.P', fields: [['n', i(1)]] };
    const bytes = await oracle.encode({ kind: 'seq', items: [obj, { kind: 'object', type: 'x.P', fields: [['n', i(2)]] }] });
    // The second object reuses the class definition: 0x60 (object of def 0) without a new 'C'.
    assert.equal(bytes.filter((b) => b === 0x43).length, 1, 'one class definition');
    assert.equal(await oracle.describe(bytes), 'object:x.P{n=int:1}\tobject:x.P{n=int:2}');
  });

  test('known difference: hessian.js writes an integral JS number beyond 2^63 (1e300) as a saturated long', async () => {
    const plain = hjs(1e300);
    assert.equal(await oracle.describe(plain), 'long:9223372036854775807');
    assert.equal(await oracle.describe(await oracle.encode({ kind: 'double', value: 1e300 })), 'double:1.0E300');
  });

  test('errors name the input: bad kind, truncated object (input: hex "4f")', async () => {
    await assert.rejects(oracle.encode({ kind: 'bogus' } as unknown as CauchoSpec), /unknown kind bogus.*input: ENC/);
    await assert.rejects(oracle.describe('4f'), /HessianProtocolException.*input: DEC 4f/);
    // The JVM keeps serving after an error.
    assert.equal(await oracle.describe('91'), 'int:1');
  });
});

test('one-shot helpers cauchoEncode / cauchoDescribe (one JVM each)', async () => {
  const bytes = await cauchoEncode('long', 9007199254740993n);
  assert.equal(bytes.toString('hex'), '4c0020000000000001');
  assert.equal(await cauchoDescribe(bytes.toString('hex')), 'long:9007199254740993');
});
