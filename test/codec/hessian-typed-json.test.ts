/**
 * The decoder specialised per declared return type (decode-typed.ts) must answer exactly the JSON
 * the generic path answers (HessianReader → toJson → JSON.stringify), byte for byte. Reply bodies
 * are written by hessian.js 2.11 (a Hessian implementation nobody here wrote) from generated values
 * of the declared types, in the forms Java's hessian-lite writes: class definitions, shared enum
 * constants as references, java.time handles, BigDecimal {value}, longs beyond 2^53, any Unicode.
 * The generic path itself is checked against hessian.js, Caucho and the Java provider elsewhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import type { TypeDef } from '../../src/config/types.js';
import { parseJavaType } from '../../src/codec/hessian/java-types.js';
import { toJson } from '../../src/codec/hessian/decode-json.js';
import { compileTypedJsonDecoder, isTypedJsonSupported } from '../../src/codec/hessian/decode-typed.js';
import { decodeResponseBody } from '../../src/codec/dubbo-body.js';

interface HessianJs {
  EncoderV2: new () => { write(v: unknown): unknown; get(): Buffer };
}
const hessian = createRequire(import.meta.url)('hessian.js') as HessianJs;

const PKG = 'com.alibaba.com.caucho.hessian.io.java8.';
const CURRENCY = 'com.example.bank.Currency';
const ACCOUNT = 'com.example.bank.Account';

/** The declared types, as a mapping file would declare them. */
const DEFS = new Map<string, TypeDef>([
  [CURRENCY, { kind: 'enum', name: CURRENCY, constants: ['CNY', 'USD', 'EUR'] } as unknown as TypeDef],
  [
    ACCOUNT,
    {
      kind: 'pojo',
      name: ACCOUNT,
      fields: [
        ['id', 'long'],
        ['owner', 'String'],
        ['balance', 'java.math.BigDecimal'],
        ['currency', CURRENCY],
        ['openedAt', 'java.time.LocalDateTime'],
        ['born', 'java.time.LocalDate'],
        ['wakes', 'java.time.LocalTime'],
        ['seen', 'java.util.Date'],
        ['tags', 'List<String>'],
        ['scores', 'double[]'],
        ['count', 'int'],
        ['active', 'boolean'],
        ['parent', ACCOUNT],
      ].map(([name, type]) => ({ name, type })),
    } as unknown as TypeDef,
  ],
]);
const ENUMS = new Set([CURRENCY]);
/** The declared field order the mapping passes to the generic path (as compileDubboRoute does). */
const ORDER = new Map([[ACCOUNT, (DEFS.get(ACCOUNT) as unknown as { fields: { name: string }[] }).fields.map((f) => f.name)]]);
const typeOf = (text: string) => parseJavaType(text, (n) => DEFS.get(n));

/** What the generic path answers for a reply body (or the error it throws). */
function generic(body: Buffer, longs: 'auto' | 'string'): string {
  try {
    const r = decodeResponseBody(body);
    if (r.kind === 'exception') return 'exception';
    return JSON.stringify(r.kind === 'null' ? null : toJson(r.value, { longs, enumClasses: ENUMS, fieldOrder: ORDER }));
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
}

/** A Dubbo reply body (flag 4: value with attachments) in one Hessian context, as hessian.js writes it. */
function replyBody(value: unknown, flag = 4): Buffer {
  const enc = new hessian.EncoderV2();
  enc.write({ $class: 'int', $: flag });
  if (flag !== 2 && flag !== 5) enc.write(value);
  if (flag >= 3) enc.write(new Map([['dubbo', '2.0.2']]));
  return enc.get();
}

// Enum constants are single instances in Java, so hessian-lite sends repeats as references.
const CONSTANTS = Object.fromEntries(['CNY', 'USD', 'EUR'].map((n) => [n, { $class: CURRENCY, $: { name: n } }]));

const int = (v: number) => ({ $class: 'int', $: v });
const text = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 20 }).map((a) => String.fromCharCode(...a)),
  fc.constantFrom('', 'a"b\\c', 'tab\there\nnew', '\u0000\u001f\u007f', '😀 中文', '\uD83D', 'x'.repeat(40), 'é'.repeat(300)),
);
const longValue = fc.oneof(
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.bigInt({ min: -(2n ** 53n) - 2n, max: -(2n ** 53n) + 2n }),
  fc.bigInt({ min: 2n ** 53n - 2n, max: 2n ** 53n + 2n }),
  fc.bigInt({ min: -300000n, max: 300000n }),
);
const decimalText = fc.oneof(
  fc.tuple(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: 0, max: 12 })).map(([u, scale]) => {
    const digits = (u < 0n ? -u : u).toString().padStart(scale + 1, '0');
    const s = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
    return u < 0n ? `-${s}` : s;
  }),
  fc.constantFrom('0', '1E+3', '1E-10', '-0.00', '12345678901234567890.12'),
);
const localDate = fc.record({
  year: fc.oneof(fc.integer({ min: 1000, max: 9999 }), fc.integer({ min: -999999999, max: 999999999 })),
  month: fc.integer({ min: 1, max: 12 }),
  day: fc.integer({ min: 1, max: 28 }),
});
const localTime = fc.record({
  hour: fc.integer({ min: 0, max: 23 }),
  minute: fc.integer({ min: 0, max: 59 }),
  second: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 59 })),
  nano: fc.oneof(
    fc.constant(0),
    fc.integer({ min: 0, max: 999_999_999 }),
    fc.integer({ min: 0, max: 999 }).map((m) => m * 1_000_000),
  ),
});
const dateHandle = (d: { year: number; month: number; day: number }) => ({
  $class: PKG + 'LocalDateHandle',
  $: { year: int(d.year), month: int(d.month), day: int(d.day) },
});
const timeHandle = (t: { hour: number; minute: number; second: number; nano: number }) => ({
  $class: PKG + 'LocalTimeHandle',
  $: { hour: int(t.hour), minute: int(t.minute), second: int(t.second), nano: int(t.nano) },
});
const instantHandle = fc
  .tuple(
    // Within ±(2^53−1) s (±285 million years); beyond, the decoder hands over (tested below).
    fc.oneof(fc.bigInt({ min: -(2n ** 53n) + 1n, max: 2n ** 53n - 1n }), fc.bigInt({ min: 0n, max: 4102444800n })),
    fc.oneof(
      fc.constant(0),
      fc.integer({ min: 0, max: 999_999_999 }),
      fc.integer({ min: 0, max: 999 }).map((m) => m * 1_000_000),
    ),
    fc.boolean(),
  )
  .map(([seconds, nanos, nanosFirst]) => {
    const sec = { $class: 'long', $: seconds.toString() };
    const nano = { $class: 'int', $: nanos };
    return { $class: PKG + 'InstantHandle', $: nanosFirst ? { nanos: nano, seconds: sec } : { seconds: sec, nanos: nano } };
  });
const orNull = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 5, arbitrary: arb });

/** One Account as hessian.js input; `depth` bounds the recursive `parent`. */
function account(depth: number): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .record({
      id: longValue,
      owner: orNull(text),
      balance: orNull(decimalText),
      currency: orNull(fc.constantFrom('CNY', 'USD', 'EUR')),
      openedAt: orNull(fc.tuple(localDate, localTime, fc.boolean())),
      born: orNull(localDate),
      wakes: orNull(localTime),
      seen: orNull(fc.integer({ min: -8.64e15, max: 8.64e15 })),
      tags: orNull(fc.tuple(fc.array(orNull(text), { maxLength: 4 }), fc.boolean())),
      scores: orNull(fc.array(fc.oneof(fc.double(), fc.integer({ min: -100, max: 100 })), { maxLength: 3 })),
      count: fc.integer(),
      active: fc.boolean(),
      parent: depth > 0 ? orNull(account(depth - 1)) : fc.constant(null),
      selfParent: fc.boolean(),
    })
    .map((a) => {
      const fields: Record<string, unknown> = {
        // Java writes the fields in declaration order; this order differs from the mapping's on purpose.
        tags: a.tags === null ? null : a.tags[1] ? { $class: 'java.util.ArrayList', $: a.tags[0] } : a.tags[0],
        id: { $class: 'long', $: a.id.toString() },
        owner: a.owner,
        balance: a.balance === null ? null : { $class: 'java.math.BigDecimal', $: { value: a.balance } },
        currency: a.currency === null ? null : CONSTANTS[a.currency],
        // hessian-lite writes LocalDateTimeHandle with `time` before `date`; both orders decode.
        openedAt:
          a.openedAt === null
            ? null
            : {
                $class: PKG + 'LocalDateTimeHandle',
                $: a.openedAt[2]
                  ? { time: timeHandle(a.openedAt[1]), date: dateHandle(a.openedAt[0]) }
                  : { date: dateHandle(a.openedAt[0]), time: timeHandle(a.openedAt[1]) },
              },
        born: a.born === null ? null : dateHandle(a.born),
        wakes: a.wakes === null ? null : timeHandle(a.wakes),
        seen: a.seen === null ? null : new Date(a.seen),
        scores: a.scores === null ? null : { $class: '[double', $: a.scores.map((v) => ({ $class: 'double', $: v })) },
        count: int(a.count),
        active: a.active,
        parent: a.parent,
      };
      const obj = { $class: ACCOUNT, $: fields };
      // A cycle: the account is its own parent (Java sends a back reference; JSON gets null).
      if (a.selfParent && a.parent === null) fields['parent'] = obj;
      return obj;
    });
}

test('a declared POJO decodes to exactly the generic JSON, for generated accounts (both long policies)', () => {
  const type = typeOf(ACCOUNT);
  const auto = compileTypedJsonDecoder(type, ENUMS, { longs: 'auto' })!;
  const str = compileTypedJsonDecoder(type, ENUMS, { longs: 'string' })!;
  fc.assert(
    fc.property(account(2), (value) => {
      const body = replyBody(value);
      assert.equal(auto.decodeReplyBody(body)?.toString(), generic(body, 'auto'));
      assert.equal(str.decodeReplyBody(body)?.toString(), generic(body, 'string'));
    }),
    { numRuns: 300 },
  );
});

test('a declared List<POJO> decodes to exactly the generic JSON, with shared enum constants sent as references', () => {
  const decoder = compileTypedJsonDecoder(typeOf(`List<${ACCOUNT}>`), ENUMS, { longs: 'auto' })!;
  fc.assert(
    fc.property(fc.array(account(1), { maxLength: 12 }), fc.boolean(), (accounts, typed) => {
      const body = replyBody(typed ? { $class: 'java.util.ArrayList', $: accounts } : accounts);
      const got = decoder.decodeReplyBody(body);
      assert.notEqual(got, undefined, 'the specialised decoder takes what hessian-lite-style writers send');
      assert.equal(got!.toString(), generic(body, 'auto'));
    }),
    { numRuns: 200 },
  );
});

test('fields come out in declared order whatever the wire order, and a reference into a moved field replays that field', () => {
  const decoder = compileTypedJsonDecoder(typeOf(`List<${ACCOUNT}>`), ENUMS, { longs: 'auto' })!;
  // Wire order: tags, count, id (declared: id, …, tags, …, count). The second account's tags is a
  // back reference to the first's list, which the reordering moved.
  const tags = { $class: 'java.util.ArrayList', $: ['x', 'y'] };
  const acc = (id: number) => ({ $class: ACCOUNT, $: { tags, count: int(id * 10), id: { $class: 'long', $: String(id) } } });
  const body = replyBody([acc(1), acc(2)]);
  assert.match(body.toString('latin1'), /Q/, 'hessian.js sent the shared list as a reference (Q)');
  const got = decoder.decodeReplyBody(body)?.toString();
  assert.equal(got, '[{"id":1,"tags":["x","y"],"count":10},{"id":2,"tags":["x","y"],"count":20}]');
  assert.equal(got, generic(body, 'auto'));
  // Without a declared order the generic path keeps the wire order.
  const wire = decodeResponseBody(body);
  assert.equal(
    JSON.stringify(wire.kind === 'value' ? toJson(wire.value, { longs: 'auto' }) : null),
    '[{"tags":["x","y"],"count":10,"id":1},{"tags":["x","y"],"count":20,"id":2}]',
  );
});

test('scalars, strings, enums and null results decode to exactly the generic JSON', () => {
  const cases: Array<[string, fc.Arbitrary<unknown>]> = [
    ['long', longValue.map((v) => ({ $class: 'long', $: v.toString() }))],
    ['int', fc.integer().map(int)],
    ['double', fc.double().map((v) => ({ $class: 'double', $: v }))],
    ['boolean', fc.boolean()],
    ['String', orNull(text)],
    [CURRENCY, orNull(fc.constantFrom('CNY', 'USD', 'EUR').map((n) => CONSTANTS[n]))],
    ['java.math.BigDecimal', orNull(decimalText.map((value) => ({ $class: 'java.math.BigDecimal', $: { value } })))],
    [
      'List<Long>',
      fc.array(
        longValue.map((v) => ({ $class: 'long', $: v.toString() })),
        { maxLength: 5 },
      ),
    ],
    // hessian-lite's InstantHandle, fields in either order; seconds across Instant's whole range.
    ['java.time.Instant', orNull(instantHandle)],
    // byte[]: compact, medium and chunked binaries (hessian.js splits at 32 KiB).
    ['byte[]', orNull(fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 1000, maxLength: 70_000 })).map((a) => Buffer.from(a)))],
    // Binaries take no reference entry: a list of them must keep the references after it in step.
    ['List<byte[]>', fc.array(orNull(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a))), { maxLength: 5 })],
  ];
  for (const [declared, arb] of cases) {
    for (const longs of ['auto', 'string'] as const) {
      const decoder = compileTypedJsonDecoder(typeOf(declared), ENUMS, { longs })!;
      fc.assert(
        fc.property(arb, fc.constantFrom(1, 2, 4, 5), (value, flag) => {
          const body = replyBody(value, flag);
          const got = decoder.decodeReplyBody(body);
          assert.notEqual(got, undefined, `${declared} (flag ${flag}) should take the fast path`);
          assert.equal(got!.toString(), generic(body, longs), declared);
        }),
        { numRuns: 60 },
      );
    }
  }
});

test('on anything it does not take, the decoder gives up (undefined) and never answers differently', () => {
  const decoder = compileTypedJsonDecoder(typeOf(`List<${ACCOUNT}>`), ENUMS, { longs: 'auto' })!;
  const unexpected = fc.oneof(
    // A subclass, a map where a POJO was declared, an exception result, a POJO with an extra field.
    fc.constant([{ $class: 'com.example.bank.PremiumAccount', $: { id: { $class: 'long', $: '1' } } }]),
    fc.constant([new Map([['id', 1]])]),
    fc.constant([{ $class: ACCOUNT, $: { id: int(1), nickname: 'x' } }]),
    fc.constant({ $class: 'java.util.HashMap', $: new Map([['a', 1]]) }),
    fc.string(),
  );
  fc.assert(
    fc.property(unexpected, fc.constantFrom(1, 4), (value, flag) => {
      const body = replyBody(value, flag);
      const got = decoder.decodeReplyBody(body);
      assert.ok(got === undefined || got.toString() === generic(body, 'auto'), `got ${got?.toString()}`);
    }),
    { numRuns: 60 },
  );
  // An exception result (flag 3) is always the generic path's business.
  assert.equal(decoder.decodeReplyBody(replyBody({ $class: 'java.lang.RuntimeException', $: { detailMessage: 'boom' } }, 3)), undefined);
});

test('truncated or corrupted bodies: the decoder gives up wherever the generic path fails', () => {
  const decoder = compileTypedJsonDecoder(typeOf(`List<${ACCOUNT}>`), ENUMS, { longs: 'auto' })!;
  fc.assert(
    fc.property(fc.array(account(0), { minLength: 1, maxLength: 3 }), fc.nat(), fc.nat(255), fc.boolean(), (accounts, at, byte, cut) => {
      const whole = replyBody(accounts);
      const i = at % whole.length;
      // Either cut the body at i, or overwrite byte i.
      const body = cut ? whole.subarray(0, i) : Buffer.from(whole);
      if (!cut) body[i] = byte;
      const got = decoder.decodeReplyBody(body);
      const expected = generic(body, 'auto');
      if (expected.startsWith('error') || expected === 'exception') assert.equal(got, undefined, `input ${body.toString('hex')}`);
      else assert.ok(got === undefined || got.toString() === expected, `input ${body.toString('hex')}`);
    }),
    { numRuns: 400 },
  );
});

test('types with parts that have no specialised reader keep the generic path', () => {
  for (const t of ['Object', 'Map<String,Object>', 'java.math.BigInteger', 'List<Object>']) {
    assert.equal(isTypedJsonSupported(typeOf(t)), false, t);
    assert.equal(compileTypedJsonDecoder(typeOf(t), ENUMS, { longs: 'auto' }), undefined, t);
  }
  for (const t of [ACCOUNT, 'java.time.Instant', 'byte[]', 'List<byte[]>']) assert.equal(isTypedJsonSupported(typeOf(t)), true, t);
});

test('an Instant whose seconds lie beyond 2^53 (Instant.MAX) is handed to the generic path, which writes it exactly', () => {
  const decoder = compileTypedJsonDecoder(typeOf('java.time.Instant'), ENUMS, { longs: 'auto' })!;
  const body = replyBody({ $class: PKG + 'InstantHandle', $: { seconds: { $class: 'long', $: '31556889864403199' }, nanos: int(999_999_999) } });
  assert.equal(decoder.decodeReplyBody(body), undefined);
  assert.equal(generic(body, 'auto'), '"+1000000000-12-31T23:59:59.999999999Z"');
});
