/**
 * The route's deadline inside the reply decoders (src/codec/decode-deadline.ts): given a deadline
 * that has passed, each decoder (the Hessian reader, toJson, the typed Hessian decoder, the protobuf
 * wire-json writer) stops early with the coded timeout; given none, or one far away, each answers
 * exactly what it answered before, budget errors included (property tests with fast-check).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import type { TypeDef } from '../../src/config/types.js';
import { DECODE_CHECK_EVERY, DecodeDeadlineError } from '../../src/codec/decode-deadline.js';
import { decodeResponseBody } from '../../src/codec/dubbo-body.js';
import { dubboReplyBudgets } from '../../src/codec/hessian/constants.js';
import { toJson } from '../../src/codec/hessian/decode-json.js';
import { compileTypedJsonDecoder } from '../../src/codec/hessian/decode-typed.js';
import { parseJavaType } from '../../src/codec/hessian/java-types.js';
import { decodeAll } from '../../src/codec/hessian/reader.js';
import { createProtoJson } from '../../src/codec/protojson/index.js';
import { loadProtoRoot } from '../../src/upstream/grpc/proto-loader.js';
import { hostileValueBody, WIDE_ITEM_CLASS, wideReplyBody } from '../support/hostile-dubbo.js';

const hessian = createRequire(import.meta.url)('hessian.js') as { EncoderV2: new () => { write(v: unknown): unknown; get(): Buffer } };

const ITEM = {
  kind: 'pojo',
  name: WIDE_ITEM_CLASS,
  fields: [
    { name: 'id', type: 'int' },
    { name: 'name', type: 'String' },
    { name: 'price', type: 'double' },
  ],
} as unknown as TypeDef;
const ITEMS = parseJavaType(`List<${WIDE_ITEM_CLASS}>`, (n) => (n === WIDE_ITEM_CLASS ? ITEM : undefined));
const typedDecoder = (maxNodes?: number) => compileTypedJsonDecoder(ITEMS, new Set(), { longs: 'auto', ...(maxNodes ? { maxNodes } : {}) })!;

const root = loadProtoRoot([path.resolve('idl/payments/v1/kitchen_sink.proto')]);
const SINK = root.lookupType('example.kitchen.v1.KitchenSink');
const sinkWriter = createProtoJson(root).writer(SINK);
const sinkBytes = (ids: number, tags: number): Buffer =>
  Buffer.from(
    SINK.encode(SINK.fromObject({ ids: Array.from({ length: ids }, (_, i) => i), tags: Array.from({ length: tags }, (_, i) => `t${i}`) })).finish(),
  );

const passed = (): number => performance.now() - 1;
const far = (): number => performance.now() + 3_600_000;

/** The error `fn` throws, or undefined. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

/** A decode that was stopped by the deadline: the coded timeout, after the first look at the clock. */
function assertStoppedEarly(err: unknown, total: number, what: string): void {
  assert.ok(err instanceof DecodeDeadlineError, `${what}: expected the deadline error, got ${String(err)}`);
  assert.equal(err.code, 'FERRY_UPSTREAM_TIMEOUT', what);
  assert.equal(err.status, 504, what);
  assert.ok(err.decoded !== undefined && err.decoded <= 2 * DECODE_CHECK_EVERY, `${what}: stopped after ${err.decoded} values`);
  assert.ok(err.decoded < total, `${what}: stopped after ${err.decoded} of ${total} values`);
}

const WIDE = 10_000; // items: 40 007 values
const wide = wideReplyBody(WIDE);

test('a deadline already passed (input: a 10 000-item list, 40 007 values) stops the Hessian reader after its first look at the clock', () => {
  assertStoppedEarly(
    thrown(() => decodeResponseBody(wide, undefined, passed())),
    40_007,
    'reader',
  );
});

test('a deadline already passed stops toJson on a tree the reader decoded whole', () => {
  const r = decodeResponseBody(wide);
  assert.equal(r.kind, 'value');
  assertStoppedEarly(
    thrown(() => toJson(r.kind === 'value' ? r.value : null, { longs: 'auto', deadline: passed() })),
    40_001,
    'toJson',
  );
});

test('a deadline already passed stops the typed decoder with the timeout, not a give-up to the generic path', () => {
  assertStoppedEarly(
    thrown(() => typedDecoder().decodeReplyBody(wide, passed())),
    40_001,
    'typed',
  );
});

test('a deadline already passed (input: a KitchenSink with 20 000 packed ids and 20 000 tags) stops the protobuf writer', () => {
  assertStoppedEarly(
    thrown(() => sinkWriter(sinkBytes(20_000, 20_000), passed())),
    40_000,
    'wire-json',
  );
});

test('no deadline: each decoder decodes the whole 10 000-item reply, and the generic and typed paths agree', () => {
  const r = decodeResponseBody(wide);
  const json = JSON.stringify(toJson(r.kind === 'value' ? r.value : null, { longs: 'auto' }));
  const items = JSON.parse(json) as Array<{ id: number; name: string; price: number }>;
  assert.equal(items.length, WIDE);
  assert.deepEqual(items[WIDE - 1], { id: WIDE - 1, name: `item-${WIDE - 1}`, price: WIDE - 1 + 0.25 });
  assert.equal(typedDecoder().decodeReplyBody(wide)?.toString(), json);
  const sink = JSON.parse(sinkWriter(sinkBytes(20_000, 20_000))) as { ids: string[]; tags: string[] };
  assert.equal(sink.ids.length, 20_000);
  assert.equal(sink.tags[19_999], 't19999');
});

/** The generic path's answer: the JSON text or the error's code and message. */
function genericAnswer(body: Buffer, maxValues: number, deadline?: number): string {
  try {
    const r = decodeResponseBody(body, dubboReplyBudgets({ maxValues }), deadline);
    if (r.kind !== 'value') return r.kind;
    return JSON.stringify(toJson(r.value, { longs: 'auto', maxNodes: maxValues, ...(deadline !== undefined ? { deadline } : {}) }));
  } catch (err) {
    return `${(err as { code?: string }).code}: ${(err as Error).message}`;
  }
}

test('a far deadline changes nothing on the generic path: random item lists under random value budgets (over-budget errors included)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 1, max: 13_000 }), (items, maxValues) => {
      const body = wideReplyBody(items);
      assert.equal(genericAnswer(body, maxValues, far()), genericAnswer(body, maxValues));
    }),
    { numRuns: 60 },
  );
});

test('a far deadline changes nothing for any JSON-like value hessian.js writes, nor for references, cycles and a reference bomb', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4 }), fc.integer({ min: 1, max: 200 }), (value, maxValues) => {
      const enc = new hessian.EncoderV2();
      enc.write(1);
      enc.write(value);
      const body = enc.get();
      assert.equal(genericAnswer(body, maxValues, far()), genericAnswer(body, maxValues));
    }),
    { numRuns: 300 },
  );
  for (const mode of ['cycle', 'refBomb'] as const) {
    const body = hostileValueBody(mode);
    const answer = genericAnswer(body, 1_000_000);
    assert.equal(genericAnswer(body, 1_000_000, far()), answer, mode);
    // The reader's tree of a reference bomb is small; toJson's budget refuses its expansion, deadline or not.
    const tree = decodeAll(body)[1];
    assert.equal(String(thrown(() => toJson(tree, { longs: 'auto', deadline: far() }))), String(thrown(() => toJson(tree, { longs: 'auto' }))), mode);
  }
});

test('a far deadline changes nothing in the typed decoder: random item lists under random budgets (a give-up stays a give-up)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 1, max: 13_000 }), (items, maxNodes) => {
      const body = wideReplyBody(items);
      const decoder = typedDecoder(maxNodes);
      assert.equal(decoder.decodeReplyBody(body, far())?.toString(), decoder.decodeReplyBody(body)?.toString());
    }),
    { numRuns: 60 },
  );
});

test('a far deadline changes nothing in the protobuf writer: random numbers of packed ids and of tags', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 12_000 }), fc.integer({ min: 0, max: 6_000 }), (ids, tags) => {
      const bytes = sinkBytes(ids, tags);
      assert.equal(sinkWriter(bytes, far()), sinkWriter(bytes));
    }),
    { numRuns: 40 },
  );
});
