/**
 * The decoder specialised per declared return type (decode-typed.ts) on bytes that Caucho Hessian
 * (Debian's libhessian-java, an implementation nobody here wrote) writes: generated values of the
 * declared types go to Caucho as whole Dubbo reply bodies (flag, value, attachments in one Hessian
 * stream), and the specialised decoder must take them and answer exactly the JSON the generic
 * path answers. Caucho's own choices are kept: its compact double forms, its list and map codes,
 * class definitions, and references for an enum constant sent twice.
 *
 * BigDecimal and java.time are left out: Caucho writes them unlike Dubbo's hessian-lite, which is
 * what providers use (hessian-typed-json.test.ts and the Java provider cover those).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { TypeDef } from '../../src/config/types.js';
import { parseJavaType } from '../../src/codec/hessian/java-types.js';
import { toJson } from '../../src/codec/hessian/decode-json.js';
import { compileTypedJsonDecoder } from '../../src/codec/hessian/decode-typed.js';
import { decodeResponseBody } from '../../src/codec/dubbo-body.js';
import { startCauchoOracle, type CauchoOracle, type CauchoSpec } from '../support/caucho-oracle.js';

const CURRENCY = 'com.example.bank.Currency';
const CARD = 'com.example.bank.Card';
const at = { file: 'cards.yaml', line: 1, col: 1 };
const FIELDS: Array<[string, string]> = [
  ['id', 'long'],
  ['owner', 'String'],
  ['currency', CURRENCY],
  ['issued', 'java.util.Date'],
  ['tags', 'List<String>'],
  ['scores', 'double[]'],
  ['count', 'int'],
  ['active', 'boolean'],
  ['limit', 'Long'],
  ['parent', CARD],
];
const DEFS = new Map<string, TypeDef>([
  [CURRENCY, { kind: 'enum', name: CURRENCY, constants: ['CNY', 'USD', 'EUR'], source: at }],
  [CARD, { kind: 'pojo', name: CARD, fields: FIELDS.map(([name, type]) => ({ name, type, source: at })), source: at }],
]);
const ENUMS = new Set([CURRENCY]);
const typeOf = (text: string) => parseJavaType(text, (n) => DEFS.get(n));

/** A generated card, before it is written as a Caucho spec. */
interface Card {
  id: bigint;
  owner: string | null;
  currency: 'CNY' | 'USD' | 'EUR' | null;
  issued: number | null;
  tags: Array<string | null> | null;
  scores: number[] | null;
  count: number;
  active: boolean;
  limit: bigint | null;
  parent: Card | null;
}

const longValue = fc.oneof(
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.bigInt({ min: 2n ** 53n - 2n, max: 2n ** 53n + 2n }),
  fc.bigInt({ min: -300000n, max: 300000n }),
);
const text = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.constantFrom('', 'a"b\\c', 'tab\there\nnew', '\u0000\u001f\u007f', '😀 中文', 'é'.repeat(300), 'x'.repeat(1100)),
);
// Caucho picks among D0, D1, byte, short, "mill" and full forms by value: cover each.
const doubleValue = fc.oneof(
  fc.double(),
  fc.integer({ min: -40000, max: 40000 }),
  fc.integer({ min: -2_000_000, max: 2_000_000 }).map((m) => m / 1000),
  fc.constantFrom(0, -0, 1, 0.001, 1e300, 5e-324),
);
const orNull = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 4, arbitrary: arb });

function card(depth: number): fc.Arbitrary<Card> {
  return fc.record({
    id: longValue,
    owner: orNull(text),
    currency: orNull(fc.constantFrom('CNY' as const, 'USD' as const, 'EUR' as const)),
    issued: orNull(fc.integer({ min: -8.64e15, max: 8.64e15 })),
    tags: orNull(fc.array(orNull(text), { maxLength: 4 })),
    scores: orNull(fc.array(doubleValue, { maxLength: 4 })),
    count: fc.integer(),
    active: fc.boolean(),
    limit: orNull(longValue),
    parent: depth > 0 ? orNull(card(depth - 1)) : fc.constant(null),
  });
}

/** Caucho's spec for a double: JSON has no NaN, Infinity or -0, so those go as text. */
function doubleSpec(v: number): CauchoSpec {
  if (Number.isNaN(v)) return { kind: 'double', value: 'NaN' };
  if (!Number.isFinite(v)) return { kind: 'double', value: v > 0 ? 'Infinity' : '-Infinity' };
  if (Object.is(v, -0)) return { kind: 'double', value: '-0.0' };
  return { kind: 'double', value: v };
}

/** Writes specs for one reply body; enum constants are Java singletons, so a repeat is a reference. */
function specWriter(): (c: Card) => CauchoSpec {
  const sent = new Set<string>();
  const constant = (name: string): CauchoSpec => {
    if (sent.has(name)) return { kind: 'use', id: name };
    sent.add(name);
    return { kind: 'def', id: name, value: { kind: 'object', type: CURRENCY, fields: [['name', { kind: 'string', value: name }]] } };
  };
  const nul: CauchoSpec = { kind: 'null' };
  const write = (c: Card): CauchoSpec => ({
    kind: 'object',
    type: CARD,
    fields: [
      ['id', { kind: 'long', value: c.id }],
      ['owner', c.owner === null ? nul : { kind: 'string', value: c.owner }],
      ['currency', c.currency === null ? nul : constant(c.currency)],
      ['issued', c.issued === null ? nul : { kind: 'date', value: c.issued }],
      ['tags', c.tags === null ? nul : { kind: 'list', items: c.tags.map((t) => (t === null ? nul : { kind: 'string', value: t })) }],
      ['scores', c.scores === null ? nul : { kind: 'typed-list', type: '[double', items: c.scores.map(doubleSpec) }],
      ['count', { kind: 'int', value: c.count }],
      ['active', { kind: 'bool', value: c.active }],
      ['limit', c.limit === null ? nul : { kind: 'long', value: c.limit }],
      ['parent', c.parent === null ? nul : write(c.parent)],
    ],
  });
  return write;
}

/** A Dubbo reply body (flag 4: a value, then attachments) as one Caucho stream. */
function replySpec(value: CauchoSpec): CauchoSpec {
  return {
    kind: 'seq',
    items: [
      { kind: 'int', value: 4 },
      value,
      {
        kind: 'map',
        entries: [
          [
            { kind: 'string', value: 'dubbo' },
            { kind: 'string', value: '2.0.2' },
          ],
        ],
      },
    ],
  };
}

/** What the generic path answers for a reply body. */
function generic(body: Buffer, longs: 'auto' | 'string'): string {
  const r = decodeResponseBody(body);
  assert.equal(r.kind, 'value', 'Caucho wrote a plain value reply');
  return JSON.stringify(r.kind === 'value' ? toJson(r.value, { longs, enumClasses: ENUMS }) : null);
}

let oracle: CauchoOracle;
before(async () => {
  oracle = await startCauchoOracle();
});
after(async () => {
  await oracle?.close();
});

test('one card as Caucho writes it: the specialised decoder answers the JSON its fields say', async () => {
  const body = await oracle.encode(
    replySpec(
      specWriter()({
        id: 9007199254740993n,
        owner: 'Zhang 张',
        currency: 'EUR',
        issued: Date.UTC(2024, 2, 1, 10, 0, 0, 123),
        tags: ['gold', null],
        scores: [0, 1.5, 0.001, -40000],
        count: -7,
        active: true,
        limit: null,
        parent: { id: -1n, owner: null, currency: null, issued: null, tags: [], scores: null, count: 0, active: false, limit: 5n, parent: null },
      }),
    ),
  );
  const got = compileTypedJsonDecoder(typeOf(CARD), ENUMS, { longs: 'auto' })!.decodeReplyBody(body);
  assert.notEqual(got, undefined, 'the specialised decoder takes what Caucho writes');
  assert.equal(
    got!.toString(),
    '{"id":"9007199254740993","owner":"Zhang 张","currency":"EUR","issued":"2024-03-01T10:00:00.123Z","tags":["gold",null],' +
      '"scores":[0,1.5,0.001,-40000],"count":-7,"active":true,"limit":null,' +
      '"parent":{"id":-1,"owner":null,"currency":null,"issued":null,"tags":[],"scores":null,"count":0,"active":false,"limit":5,"parent":null}}',
  );
});

test('generated cards and lists of cards from Caucho: the specialised decoder takes them and answers exactly the generic JSON (both long policies)', async () => {
  const single = {
    auto: compileTypedJsonDecoder(typeOf(CARD), ENUMS, { longs: 'auto' })!,
    string: compileTypedJsonDecoder(typeOf(CARD), ENUMS, { longs: 'string' })!,
  };
  const list = compileTypedJsonDecoder(typeOf(`List<${CARD}>`), ENUMS, { longs: 'auto' })!;
  await fc.assert(
    fc.asyncProperty(fc.oneof(card(2), fc.array(card(1), { maxLength: 8 })), async (value) => {
      const write = specWriter();
      const spec = Array.isArray(value) ? { kind: 'list' as const, items: value.map(write) } : write(value);
      const body = await oracle.encode(replySpec(spec));
      const input = `Caucho bytes ${body.toString('hex').slice(0, 400)}`;
      if (Array.isArray(value)) {
        const got = list.decodeReplyBody(body);
        assert.notEqual(got, undefined, input);
        assert.equal(got!.toString(), generic(body, 'auto'), input);
      } else {
        for (const longs of ['auto', 'string'] as const) {
          const got = single[longs].decodeReplyBody(body);
          assert.notEqual(got, undefined, input);
          assert.equal(got!.toString(), generic(body, longs), input);
        }
      }
    }),
    { numRuns: 150 },
  );
});
