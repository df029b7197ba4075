/**
 * The compiled reply writer (src/codec/protojson/wire-json.ts) against the general path it replaces
 * (protobufjs decode → toJson walk → JSON.stringify): the same text, byte for byte, on random
 * messages of every proto in idl/ (kitchen_sink.proto has every field kind, map key kind, oneof and
 * well-known type), re-ordered and with unknown fields mixed in; the same error code where the general
 * path refuses a message; random bytes give JSON or FERRY_UPSTREAM_PROTOCOL_ERROR, never a crash.
 * Where the two paths differ on purpose (protobufjs departs from the protobuf spec), the writer's
 * answer is checked on its own.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import type { Type } from 'protobufjs';
import { createProtoJson, type Draft } from '../../src/codec/protojson/index.js';
import { DraftMap, longFromBigInt } from '../../src/codec/protojson/draft.js';
import { isFerryError } from '../../src/errors/index.js';
import { utcText } from '../../src/codec/protojson/wire-json.js';
import { allTypes, generator, loadSampleProtos } from '../support/protojson-random.js';

const root = loadSampleProtos();
const pj = createProtoJson(root);
const KS = root.lookupType('example.kitchen.v1.KitchenSink');

type Outcome = { text: string } | { code: string };

function oldPath(type: Type, bytes: Uint8Array, emitDefaults: boolean): Outcome {
  try {
    return { text: JSON.stringify(pj.toJson(type, bytes, { emitDefaults })) };
  } catch (err) {
    // The binder maps a bare Error of the walk to FERRY_UPSTREAM_PROTOCOL_ERROR (mapDecodeError).
    return { code: isFerryError(err) ? err.code : 'FERRY_UPSTREAM_PROTOCOL_ERROR' };
  }
}

function newPath(type: Type, bytes: Uint8Array, emitDefaults: boolean): Outcome {
  try {
    return { text: pj.writer(type, { emitDefaults })(bytes) };
  } catch (err) {
    if (!isFerryError(err)) throw err;
    return { code: err.code };
  }
}

/** Top-level fields of `bytes` as [field number, slice] records (protobufjs' reader). */
function records(bytes: Uint8Array): Array<[number, Uint8Array]> {
  const rd = protobuf.Reader.create(bytes);
  const out: Array<[number, Uint8Array]> = [];
  while (rd.pos < rd.len) {
    const start = rd.pos;
    const tag = rd.uint32();
    rd.skipType(tag & 7);
    out.push([tag >>> 3, bytes.subarray(start, rd.pos)]);
  }
  return out;
}

/** The same message with its fields in another order (each field number keeps its own order) and unknown fields mixed in. */
function shuffled(bytes: Uint8Array, g: ReturnType<typeof generator>): Uint8Array {
  const recs = records(bytes);
  const rank = new Map<number, number>();
  for (const [id] of recs) if (!rank.has(id)) rank.set(id, g.int(1000));
  const sorted = [...recs].sort((a, b) => rank.get(a[0])! - rank.get(b[0])!);
  const parts: Uint8Array[] = [];
  for (const [, slice] of sorted) {
    if (g.chance(0.2)) parts.push(unknownField(g));
    parts.push(slice);
  }
  if (g.chance(0.3)) parts.push(unknownField(g));
  return Buffer.concat(parts);
}

function unknownField(g: ReturnType<typeof generator>): Uint8Array {
  const w = protobuf.Writer.create();
  const id = 1000 + g.int(5000);
  switch (g.int(4)) {
    case 0:
      return w
        .uint32(id << 3)
        .uint64(g.int(2 ** 31))
        .finish();
    case 1:
      return w
        .uint32((id << 3) | 1)
        .fixed64(g.int(1000))
        .finish();
    case 2:
      return w
        .uint32((id << 3) | 2)
        .bytes(Uint8Array.from([1, 2, 3].slice(0, g.int(4))))
        .finish();
    default:
      return w
        .uint32((id << 3) | 5)
        .fixed32(g.int(1000))
        .finish();
  }
}

function assertSame(type: Type, bytes: Uint8Array, emitDefaults: boolean, what: string): void {
  const before = oldPath(type, bytes, emitDefaults);
  const after = newPath(type, bytes, emitDefaults);
  assert.deepEqual(after, before, `${what}: ${type.fullName} (emitDefaults ${emitDefaults}), bytes ${Buffer.from(bytes).toString('hex')}`);
}

describe('compiled reply writer = protobufjs decode + toJson + JSON.stringify', () => {
  it('on random KitchenSink messages (every kind), in wire order and shuffled with unknown fields', () => {
    fc.assert(
      fc.property(fc.integer(), fc.boolean(), (seed, emitDefaults) => {
        const g = generator(seed, root, pj);
        const bytes = pj.encode(KS, g.message(KS, 0));
        assertSame(KS, bytes, emitDefaults, `seed ${seed}`);
        assertSame(KS, shuffled(bytes, g), emitDefaults, `seed ${seed}, shuffled`);
      }),
      { numRuns: 3000 },
    );
  });

  it('on random messages of every type of the sample protos (bench Order, greeter, payments, peer, google.*)', () => {
    const types = allTypes(root);
    assert.ok(types.length > 30, `expected the sample protos to declare many types, got ${types.length}`);
    fc.assert(
      fc.property(fc.integer(), fc.nat(types.length - 1), fc.boolean(), (seed, i, emitDefaults) => {
        const type = types[i]!;
        const g = generator(seed, root, pj);
        const bytes = pj.encode(type, g.message(type, 0));
        assertSame(type, bytes, emitDefaults, `seed ${seed}`);
        assertSame(type, shuffled(bytes, g), emitDefaults, `seed ${seed}, shuffled`);
      }),
      { numRuns: 3000 },
    );
  });

  it("on the bench's Order (the reply the gRPC bench measures)", () => {
    const Order = root.lookupType('ferry.bench.v1.Order');
    const order = {
      name: 'shops/s1/orders/o1',
      customer: 'c-42',
      items: Array.from({ length: 10 }, (_, i) => ({
        sku: `sku-${i}`,
        title: `Item ${i}`,
        quantity: longFromBigInt(BigInt(i) * 9007199254740993n, false),
        unitPrice: 19.99,
        tags: ['a', 'b'],
        inStock: i % 2 === 0,
      })),
      labels: new DraftMap([
        ['region', 'eu'],
        ['tier', 'gold'],
      ]),
      createTime: { seconds: longFromBigInt(1700000000n, false), nanos: 123000000 },
      signature: Uint8Array.from([1, 2, 3, 250]),
      revision: 7,
    };
    const draft = pj.fromJson(
      Order,
      JSON.parse(
        JSON.stringify({
          ...order,
          labels: { region: 'eu', tier: 'gold' },
          items: order.items.map((it) => ({ ...it, quantity: it.quantity.toString() })),
          createTime: '2023-11-14T22:13:20.123Z',
          signature: 'AQID+g==',
        }),
      ),
      { argument: 'body', jsonPath: '$' },
    );
    const bytes = pj.encode(Order, draft);
    assertSame(Order, bytes, false, 'Order');
    assert.match(pj.writer(Order)(bytes), /"quantity":"81064793292668937"/, 'an int64 past 2^53 keeps every digit');
  });

  it('random bytes give JSON or FERRY_UPSTREAM_PROTOCOL_ERROR, never another error', () => {
    const types = [KS, root.lookupType('google.protobuf.Struct'), root.lookupType('google.protobuf.Any'), root.lookupType('ferry.bench.v1.Order')];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(types.length - 1), (bytes, i) => {
        const out = newPath(types[i]!, bytes, false);
        if ('text' in out) JSON.parse(out.text);
        else assert.equal(out.code, 'FERRY_UPSTREAM_PROTOCOL_ERROR', `bytes ${Buffer.from(bytes).toString('hex')}`);
      }),
      { numRuns: 5000 },
    );
  });

  it('truncated and malformed replies are FERRY_UPSTREAM_PROTOCOL_ERROR naming the type', () => {
    const write = pj.writer(KS);
    const cases: Array<[string, number[]]> = [
      ['a varint cut short', [0x08, 0x80]],
      ['a length past the end', [0x72, 0x05, 0x61]],
      ['an 11-byte varint', [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
      ['wire type 7', [0x0f]],
      ['a fixed64 cut short', [0x41, 1, 2, 3]],
      ['a packed run that ends inside a varint', [0x92, 0x01, 0x01, 0x80]],
    ];
    for (const [what, bytes] of cases) {
      assert.throws(
        () => write(Uint8Array.from(bytes)),
        (err: unknown) => isFerryError(err) && err.code === 'FERRY_UPSTREAM_PROTOCOL_ERROR' && /example\.kitchen\.v1\.KitchenSink/.test(err.message),
        what,
      );
    }
  });
});

describe('where the writer follows the protobuf spec rather than protobufjs', () => {
  const enc = (draft: Draft) => pj.encode(KS, draft);
  const write = pj.writer(KS);

  it('a message field sent twice is merged', () => {
    const bytes = Buffer.concat([enc({ nested: { id: 1 } }), enc({ nested: { label: 'x' } })]);
    assert.equal(write(bytes), '{"nested":{"id":1,"label":"x"}}');
  });

  it('of two oneof members sent, the last wins', () => {
    const bytes = Buffer.concat([enc({ choice_text: 'a' }), enc({ choice_num: longFromBigInt(5n, false) })]);
    assert.equal(write(bytes), '{"choiceNum":"5"}');
  });

  it('a field sent with another wire type than declared is skipped as unknown', () => {
    // Field 1 (int32) as length-delimited, then as a proper varint.
    assert.equal(write(Uint8Array.from([0x0a, 0x01, 0x07, 0x08, 0x05])), '{"i32":5}');
  });

  it('a map entry without its value holds the default', () => {
    // by_bool (26): entry with key true only; counts (24): entry with key "a" only.
    const bytes = Uint8Array.from([0xd2, 0x01, 0x02, 0x08, 0x01, 0xc2, 0x01, 0x03, 0x0a, 0x01, 0x61]);
    assert.equal(write(bytes), '{"counts":{"a":"0"},"byBool":{"true":{}}}');
  });

  it('an unpacked repeated scalar reads as the packed one', () => {
    const packed = enc({ ids: [longFromBigInt(1n, false), longFromBigInt(-2n, false)] });
    const unpacked = Uint8Array.from([0x90, 0x01, 0x01, 0x90, 0x01, ...[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]]);
    assert.equal(write(unpacked), write(packed));
    assert.equal(write(packed), '{"ids":["1","-2"]}');
  });
});

describe('Timestamp text without a Date per value', () => {
  it('utcText agrees with Date.toISOString over the whole Timestamp range (input: 20 000 random seconds and the range ends)', () => {
    const ends = [-62135596800, 253402300799, 0, -1, 951782400, 951868799, 4107542400];
    fc.assert(
      fc.property(fc.integer({ min: -62135596800, max: 253402300799 }), (seconds) => {
        assert.equal(utcText(seconds), new Date(seconds * 1000).toISOString().slice(0, 19), `seconds ${seconds}`);
      }),
      { numRuns: 20000, examples: ends.map((e) => [e]) },
    );
  });
});

describe('budgets of the compiled writer', () => {
  it('an Any holding an Any … 2 000 deep (input: nested google.protobuf.Any bytes) is a coded nesting error, not a stack overflow', () => {
    const Any = root.lookupType('google.protobuf.Any');
    const url = 'type.googleapis.com/google.protobuf.Any';
    let bytes: Uint8Array = new Uint8Array(0);
    for (let i = 0; i < 2000; i++) bytes = protobuf.Writer.create().uint32(0x0a).string(url).uint32(0x12).bytes(bytes).finish();
    assert.throws(
      () => pj.writer(Any)(bytes),
      (err: unknown) => isFerryError(err) && err.code === 'FERRY_UPSTREAM_PROTOCOL_ERROR' && /deeper than 256/.test(err.message),
      'deep Any chain',
    );
  });
});
