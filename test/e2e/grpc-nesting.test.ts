/**
 * gRPC replies nested far past the budgets, from the real grpcio peer (samples/grpc-python/server.py,
 * KitchenSinkService.Echo with text "nest:N" or "lists:N": a Nested chain N messages deep, or a
 * google.protobuf.Value holding lists N deep, serialized by Python's protobuf): a coded 502, the
 * channel keeps serving, and a shallow reply of the same shape answers 200. The hand-built-bytes
 * version of these limits is test/codec/protojson-nesting.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';
import { startGrpcPeer, type GrpcPeer } from '../support/grpc-peer.js';

let peer: GrpcPeer;
let ferry: TestFerry;

before(async () => {
  peer = await startGrpcPeer();
  const proto = path.resolve('idl/payments/v1/kitchen_sink.proto');
  ferry = await startTestFerry({
    withoutSamples: true,
    extra: {
      // Routes from the proto's google.api.http option: POST /v1/kitchen:echo, body "*".
      'kitchen.yaml': `services:\n  kitchen:\n    protocol: grpc\n    proto: ${proto}\n    service: example.kitchen.v1.KitchenSinkService\n    endpoints: [${peer.address}]\n    timeout: 5s\n`,
    },
  });
});
after(async () => {
  await ferry?.close();
  await peer?.stop();
});

const echo = (text: string) => http(ferry.base, 'POST', '/v1/kitchen:echo', { text });

test('a shallow reply of each hostile shape (input: "nest:5", "lists:5") answers 200 with the nesting Python built', async () => {
  const nest = await echo('nest:5');
  assert.equal(nest.status, 200, nest.text);
  let node = (nest.json as { nested: { id: number; child?: unknown } }).nested;
  let depth = 1;
  while (node.child !== undefined) {
    node = node.child as typeof node;
    depth++;
  }
  assert.equal(depth, 5, nest.text);
  const lists = await echo('lists:5');
  assert.equal(lists.status, 200, lists.text);
  assert.deepEqual((lists.json as { val: unknown }).val, [[[[['bottom']]]]]);
});

for (const text of ['nest:1000', 'nest:5000', 'lists:1000']) {
  test(
    `a reply nested far past the budgets (input: Echo "${text}" from grpcio) is a coded 502; the channel keeps serving`,
    { timeout: 60_000 },
    async () => {
      const r = await echo(text);
      assert.equal(r.status, 502, r.text);
      assert.match(r.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.equal(r.json?.code, 'FERRY_UPSTREAM_PROTOCOL_ERROR', r.text);
      assert.doesNotMatch(r.text, /\n\s+at |\bat [\w.]+\(/, 'no stack trace');
      assert.ok(!r.text.includes(String(peer.port)), `no peer address: ${r.text}`);
      const again = await echo('plain');
      assert.equal(again.status, 200, `after ${text}: ${again.text}`);
      assert.equal((again.json as { text: string }).text, 'plain');
    },
  );
}
