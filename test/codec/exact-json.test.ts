/**
 * parseExactJson (src/codec/exact-json.ts) against lossless-json's `parse`, the general path it
 * stands in for: on generated JSON texts (numbers of every form — integers past 2^53, decimals
 * with trailing zeros, exponents, -0 — keys that repeat, integer-like keys, `__proto__`, escapes,
 * odd whitespace) and on broken texts, it must give the same values, or throw the same error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isLosslessNumber, parse as parseLossless } from 'lossless-json';
import { parseExactJson } from '../../src/codec/exact-json.js';

/** What a parse gives: the value, or the error's class and message. */
function outcome(parse: (text: string) => unknown, text: string): { value: unknown } | { error: string } {
  try {
    return { value: parse(text) };
  } catch (err) {
    return { error: `${(err as Error).name}: ${(err as Error).message}` };
  }
}

function assertSame(text: string): void {
  assert.deepStrictEqual(
    outcome(parseExactJson, text),
    outcome(parseLossless, text),
    `parseExactJson and lossless-json differ on ${JSON.stringify(text)}`,
  );
}

const digits = fc.stringMatching(/^[0-9]{1,25}$/);
const numberToken = fc.oneof(
  fc.integer().map(String),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
  fc.tuple(fc.boolean(), digits, digits).map(([neg, i, f]) => `${neg ? '-' : ''}${i.replace(/^0+(?=\d)/, '')}.${f}`),
  fc
    .tuple(digits, fc.constantFrom('e', 'E', 'e+', 'E-', 'e-'), fc.integer({ min: 0, max: 400 }))
    .map(([m, e, x]) => `${m.replace(/^0+(?=\d)/, '')}${e}${x}`),
  fc.constantFrom('0', '-0', '0.0', '1.10', '9007199254740993', '-9223372036854775808', '1e400', '0.1000000000000000055511151231257827'),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
);
const key = fc.oneof(
  fc.constantFrom('to', 'amount', 'currency', 'memo', 'tags', '__proto__', '0', '12', '01', '-1', 'constructor', ''),
  fc.string({ maxLength: 6 }),
  fc.stringMatching(/^[0-9]{1,3}$/),
);
const blank = fc.constantFrom('', ' ', '\n', '\t ', '\r\n');
/** JSON text built from tokens (so that number texts survive as written). */
const jsonText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    numberToken,
    fc.string({ maxLength: 8 }).map((s) => JSON.stringify(s)),
    fc.constantFrom('true', 'false', 'null', '"\\u0030"', '"a\\"b"'),
    fc.array(tie('value'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
    fc
      .array(fc.tuple(key, blank, tie('value')), { maxLength: 5 })
      .map((entries) => `{${entries.map(([k, b, v]) => `${JSON.stringify(k)}${b}:${b}${v}`).join(',')}}`),
  ),
})).value;

test('parseExactJson gives what lossless-json gives on generated JSON texts (numbers kept as written)', () => {
  fc.assert(
    fc.property(jsonText, blank, (text, pad) => assertSame(`${pad}${text}${pad}`)),
    { numRuns: 3000 },
  );
});

test('parseExactJson fails as lossless-json does on broken texts (each generated text cut short or with a byte changed)', () => {
  fc.assert(
    fc.property(jsonText, fc.nat(), fc.constantFrom('', ',', '}', ']', ':', '"', '-', '.', 'x', '\u0000'), (text, at, insert) => {
      const i = text.length === 0 ? 0 : at % text.length;
      assertSame(text.slice(0, i));
      assertSame(text.slice(0, i) + insert + text.slice(i + 1));
    }),
    { numRuns: 2000 },
  );
});

test('parseExactJson keeps every number of a finance body as its text, and refuses what lossless-json refuses', () => {
  const body = '{"to":9007199254740993,"amount":1234567890123.4567,"fee":0.10,"currency":"CNY","tags":["a",1e400,-0]}';
  const parsed = parseExactJson(body) as Record<string, unknown>;
  assertSame(body);
  assert.ok(isLosslessNumber(parsed['to']), 'to is a LosslessNumber');
  assert.equal(String(parsed['to']), '9007199254740993');
  assert.equal(String(parsed['amount']), '1234567890123.4567');
  assert.equal(String(parsed['fee']), '0.10');
  assert.deepEqual((parsed['tags'] as unknown[]).map(String), ['a', '1e400', '-0']);
  // Tried: a key twice with different values (JSON.parse would keep the last; lossless-json refuses).
  assert.throws(() => parseExactJson('{"a":1,"b":2,"a":3}'), /Duplicate key 'a'/, 'a repeated key with another value is refused');
  assert.throws(() => parseExactJson('{"a":"x","a":"y"}'), /Duplicate key 'a'/, 'a repeated string-valued key is refused');
  // Tried: an integer-like key, which V8 lists first: the numbers stay with their keys.
  assert.deepStrictEqual(parseExactJson('{"b":1,"2":3}'), parseLossless('{"b":1,"2":3}'));
  // Tried: __proto__ as a key: an own property, the prototype untouched.
  const proto = parseExactJson('{"__proto__":{"x":1}}') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(proto), Object.prototype, 'the prototype is not changed');
  assert.ok(Object.hasOwn(proto, '__proto__'), '__proto__ is an own property');
});
