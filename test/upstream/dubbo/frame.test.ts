import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FerryError } from '../../../src/errors/index.js';
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder, HEADER_BYTES, HEARTBEAT_BODY, encodeFrame, type Frame } from '../../../src/upstream/dubbo/frame.js';
import { hessianValues, pingBody } from '../../support/hessian-bodies.js';

// Generic-invoke request from reference/protocols.md B.1 (made with hessian.js, id 1, body 257 bytes).
const VECTOR_B1 = Buffer.from(
  'dabbc20000000000000000010000010105322e302e3217636f6d2e6578616d70' +
    '6c652e44656d6f5365727669636505312e302e300724696e766f6b6530384c6a' +
    '6176612f6c616e672f537472696e673b5b4c6a6176612f6c616e672f53747269' +
    '6e673b5b4c6a6176612f6c616e672f4f626a6563743b0873617948656c6c6f71' +
    '075b737472696e67106a6176612e6c616e672e537472696e6771075b6f626a65' +
    '637405776f726c64480767656e65726963047472756509696e74657266616365' +
    '17636f6d2e6578616d706c652e44656d6f53657276696365047061746817636f' +
    '6d2e6578616d706c652e44656d6f536572766963650774696d656f7574043330' +
    '30300776657273696f6e05312e302e305a',
  'hex',
);

function isProtocolError(err: unknown): boolean {
  return err instanceof FerryError && err.code === 'FERRY_UPSTREAM_PROTOCOL_ERROR';
}

test('decodes the published generic-invoke vector header and re-encodes it byte for byte', () => {
  const frames = new FrameDecoder().push(VECTOR_B1);
  assert.equal(frames.length, 1);
  const f = frames[0]!;
  assert.equal(f.isRequest, true);
  assert.equal(f.twoWay, true);
  assert.equal(f.isEvent, false);
  assert.equal(f.serializationId, 2);
  assert.equal(f.status, 0);
  assert.equal(f.id, 1n);
  assert.equal(f.body.length, 257);
  assert.ok(encodeFrame({ request: true, twoWay: true, id: 1n, body: f.body }).equals(VECTOR_B1));
});

test('writes the flag bytes the reference lists (0xC2, 0x82, 0xE2, 0x02, 0x22, 0xA2)', () => {
  const flag = (spec: Parameters<typeof encodeFrame>[0]): number => encodeFrame(spec)[2]!;
  assert.equal(flag({ request: true, twoWay: true, id: 1n, body: HEARTBEAT_BODY }), 0xc2);
  assert.equal(flag({ request: true, id: 1n, body: HEARTBEAT_BODY }), 0x82);
  assert.equal(flag({ request: true, twoWay: true, event: true, id: 1n, body: HEARTBEAT_BODY }), 0xe2);
  assert.equal(flag({ request: false, status: 20, id: 1n, body: HEARTBEAT_BODY }), 0x02);
  assert.equal(flag({ request: false, event: true, status: 20, id: 1n, body: HEARTBEAT_BODY }), 0x22);
  assert.equal(flag({ request: true, event: true, id: 1n, body: HEARTBEAT_BODY }), 0xa2);
  const hb = encodeFrame({ request: false, event: true, status: 20, id: 7n, body: HEARTBEAT_BODY });
  assert.equal(hb.toString('hex'), 'dabb2214' + '0000000000000007' + '00000001' + '4e');
});

test('negative and extreme ids survive a round trip as signed 64-bit values', () => {
  const ids = [-1n, -(1n << 63n), (1n << 63n) - 1n, -123456789012345n, 0n];
  const wire = Buffer.concat(ids.map((id) => encodeFrame({ request: false, status: 20, id, body: pingBody() })));
  const frames = new FrameDecoder().push(wire);
  assert.deepEqual(
    frames.map((f) => f.id),
    ids,
  );
  // -1 is all ones on the wire
  assert.equal(
    encodeFrame({ request: true, id: -1n, body: Buffer.alloc(0) })
      .subarray(4, 12)
      .toString('hex'),
    'ffffffffffffffff',
  );
});

test('encodeFrame refuses an id outside int64 (input: 2^63) and a status above 255 (input: 256)', () => {
  assert.throws(() => encodeFrame({ request: true, id: 1n << 63n, body: Buffer.alloc(0) }), RangeError);
  assert.throws(() => encodeFrame({ request: false, status: 256, id: 1n, body: Buffer.alloc(0) }), RangeError);
});

test('a frame split one byte at a time is decoded once, whole', () => {
  const body = hessianValues('hello', 42, { a: 'b' });
  const wire = encodeFrame({ request: false, status: 20, id: 99n, body });
  const dec = new FrameDecoder();
  const out: Frame[] = [];
  for (let i = 0; i < wire.length; i++) out.push(...dec.push(wire.subarray(i, i + 1)));
  assert.equal(out.length, 1);
  assert.equal(out[0]!.id, 99n);
  assert.ok(out[0]!.body.equals(body));
  assert.equal(dec.bufferedBytes, 0);
});

test('many frames in one chunk, with the last one cut and completed by the next chunk', () => {
  const frames = Array.from({ length: 50 }, (_, i) =>
    encodeFrame({ request: false, status: i % 2 ? 20 : 70, id: BigInt(i) - 25n, body: hessianValues(`reply-${i}`) }),
  );
  const wire = Buffer.concat(frames);
  const cut = wire.length - 5;
  const dec = new FrameDecoder();
  const first = dec.push(wire.subarray(0, cut));
  assert.equal(first.length, 49);
  assert.equal(dec.bufferedBytes, frames[49]!.length - 5);
  const second = dec.push(wire.subarray(cut));
  assert.equal(second.length, 1);
  const all = [...first, ...second];
  assert.deepEqual(
    all.map((f) => f.id),
    frames.map((_, i) => BigInt(i) - 25n),
  );
  assert.deepEqual(
    all.map((f) => f.status),
    frames.map((_, i) => (i % 2 ? 20 : 70)),
  );
});

test('property: any frames cut at any points decode to the same frames', () => {
  const frameArb = fc.record({
    request: fc.boolean(),
    twoWay: fc.boolean(),
    event: fc.boolean(),
    status: fc.integer({ min: 0, max: 255 }),
    id: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
    body: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  });
  fc.assert(
    fc.property(fc.array(frameArb, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 20 }), (specs, cuts) => {
      const wire = Buffer.concat(specs.map((s) => encodeFrame(s)));
      const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
      const dec = new FrameDecoder();
      const got: Frame[] = [];
      let prev = 0;
      for (const p of [...points, wire.length]) {
        got.push(...dec.push(wire.subarray(prev, p)));
        prev = p;
      }
      assert.equal(got.length, specs.length);
      specs.forEach((s, i) => {
        const f = got[i]!;
        assert.equal(f.isRequest, s.request);
        assert.equal(f.twoWay, s.twoWay);
        assert.equal(f.isEvent, s.event);
        assert.equal(f.status, s.status);
        assert.equal(f.serializationId, 2);
        assert.equal(f.id, s.id);
        assert.ok(f.body.equals(s.body));
      });
    }),
    { numRuns: 300 },
  );
});

test('bad magic (input: "HTTP/1.1 400") fails with a protocol error, and the decoder stays failed', () => {
  const dec = new FrameDecoder();
  assert.throws(() => dec.push(Buffer.from('HTTP/1.1 400 Bad Request\r\n')), isProtocolError);
  assert.throws(() => dec.push(encodeFrame({ request: false, status: 20, id: 1n, body: HEARTBEAT_BODY })), isProtocolError);
});

test('bad magic is noticed after two bytes, before a whole header arrived (input: 0xCAFE)', () => {
  const dec = new FrameDecoder();
  assert.deepEqual(dec.push(Buffer.from([0xca])), []);
  assert.throws(() => dec.push(Buffer.from([0xfe])), isProtocolError);
});

test('garbage after a good frame in the next chunk (input: frame, then "telnet> ") is rejected', () => {
  const dec = new FrameDecoder();
  assert.equal(dec.push(encodeFrame({ request: false, status: 20, id: 5n, body: HEARTBEAT_BODY })).length, 1);
  assert.throws(() => dec.push(Buffer.from('telnet> ')), isProtocolError);
});

test('a body over the limit is rejected from the header alone (input: length 8 MiB + 1)', () => {
  assert.equal(new FrameDecoder().maxFrameBytes, DEFAULT_MAX_FRAME_BYTES);
  assert.equal(DEFAULT_MAX_FRAME_BYTES, 8388608);
  const header = encodeFrame({ request: false, status: 20, id: 1n, body: Buffer.alloc(0) });
  header.writeInt32BE(DEFAULT_MAX_FRAME_BYTES + 1, 12);
  assert.throws(
    () => new FrameDecoder().push(header),
    (err: unknown) => isProtocolError(err) && /8388609 bytes is over the 8388608-byte limit/.test((err as Error).message),
  );
  // exactly at the limit is fine: the decoder waits for the body
  header.writeInt32BE(DEFAULT_MAX_FRAME_BYTES, 12);
  const dec = new FrameDecoder();
  assert.deepEqual(dec.push(header), []);
  assert.equal(dec.bufferedBytes, HEADER_BYTES);
});

test('a configurable limit (input: 100-byte limit, 101-byte body) and a negative length (input: -1) are rejected', () => {
  const dec = new FrameDecoder({ maxFrameBytes: 100 });
  assert.equal(dec.push(encodeFrame({ request: false, status: 20, id: 1n, body: Buffer.alloc(100) })).length, 1);
  assert.throws(() => dec.push(encodeFrame({ request: false, status: 20, id: 2n, body: Buffer.alloc(101) })), isProtocolError);
  const neg = encodeFrame({ request: false, status: 20, id: 1n, body: Buffer.alloc(0) });
  neg.writeInt32BE(-1, 12);
  assert.throws(() => new FrameDecoder().push(neg), isProtocolError);
});

test('a large body arriving in many chunks is assembled once', () => {
  const body = Buffer.alloc(1_000_000, 7);
  const wire = encodeFrame({ request: false, status: 20, id: 3n, body });
  const dec = new FrameDecoder();
  const got: Frame[] = [];
  for (let i = 0; i < wire.length; i += 65536) got.push(...dec.push(wire.subarray(i, i + 65536)));
  assert.equal(got.length, 1);
  assert.ok(got[0]!.body.equals(body));
});
