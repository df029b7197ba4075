/**
 * HTTP → Ferry → gRPC against the Go gRPC server of the bench (bench/grpc-go, google.golang.org/grpc,
 * built by scripts/setup-bench-go.sh): Ferry's lean HTTP/2 client against a server nobody here
 * wrote, and Ferry's proto3 JSON against the Go server's own protojson rendering of the same
 * message (compared as JSON values: protojson varies its whitespace on purpose and Go orders map
 * keys at random).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';
import { createProtoJson } from '../../src/codec/protojson/index.js';
import { loadProtoRoot } from '../../src/upstream/grpc/proto-loader.js';
import { randomBody } from '../support/protojson-random.js';

const GO_PEER = path.resolve('bench/grpc-go/bin/grpc-go');
let server: ChildProcess;
let ferry: TestFerry;

before(async () => {
  execFileSync('bash', ['scripts/setup-bench-go.sh'], { stdio: 'inherit' });
  server = spawn(GO_PEER, ['server', '-port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(createInterface({ input: server.stdout! }), 'line')) as [string];
  const port = (JSON.parse(line) as { listening: number }).listening;
  ferry = await startTestFerry({
    withoutSamples: true,
    extra: {
      'orders.yaml': [
        'services:',
        '  orders:',
        '    protocol: grpc',
        `    proto: ${path.resolve('idl/bench/v1/orders.proto')}`,
        '    service: ferry.bench.v1.Orders',
        `    endpoints: [127.0.0.1:${port}]`,
        '    timeout: 5s',
        '',
      ].join('\n'),
    },
  });
});

after(async () => {
  await ferry?.close();
  if (server !== undefined && server.exitCode === null) {
    server.kill('SIGTERM');
    await once(server, 'exit');
  }
});

describe('Ferry against the Go gRPC server', () => {
  test("GET answers what Go's protojson renders for the same Order (10 items, a map, a Timestamp, bytes, int64, doubles)", async () => {
    const r = await http(ferry.base, 'GET', '/v1/shops/s7/orders/o9');
    assert.equal(r.status, 200, r.text);
    // Spot checks that the comparison below looks at the fields that matter.
    assert.equal(r.json.items.length, 10);
    assert.equal(r.json.items[7].unitPrice, 16.990000000000002);
    assert.equal(r.json.items[0].quantity, '1');
    assert.equal(r.json.createTime, '2026-12-01T10:30:00.123Z');
    const goJson = JSON.parse(execFileSync(GO_PEER, ['json', 'shops/s7/orders/o9']).toString()) as unknown;
    assert.deepEqual(r.json, goJson);
  });

  test('POST sends the Order as protobuf and gets it back unchanged (the server only sets the name)', async () => {
    const got = await http(ferry.base, 'GET', '/v1/shops/s1/orders/o1');
    const body = { ...got.json, labels: { 'x-y': 'z', empty: '' }, revision: 2147483647 };
    const r = await http(ferry.base, 'POST', '/v1/shops/s2/orders', body);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { ...body, name: 'shops/s2/orders/new' });
  });

  test('random Orders in random JSON spellings reach the Go server as the general path would encode them (POST, echoed back)', async () => {
    // int64 as bare numbers past 2^53, proto field names, base64url, escapes, shuffled keys: the
    // compiled request encoder writes the bytes, Go decodes them and sends the Order back.
    const root = loadProtoRoot([path.resolve('idl/bench/v1/orders.proto')], { includeDirs: [path.resolve('idl')] });
    const pj = createProtoJson(root);
    const Order = root.lookupType('ferry.bench.v1.Order');
    const src = { argument: 'body', jsonPath: '$' };
    let sent = 0;
    for (let seed = 1; sent < 40 && seed < 400; seed++) {
      const b = randomBody(root, pj, Order, seed);
      if (b === undefined || /\\u[dD][89a-fA-F]/.test(b.text)) continue; // lone surrogates: not UTF-8, Go refuses them
      assert.ok(pj.bodyEncoder(Order)!(Buffer.from(b.text)) !== undefined, `the compiled encoder takes ${b.text}`);
      const expected = JSON.parse(pj.writer(Order)(pj.encode(Order, pj.fromJson(Order, pj.parseText(Order, b.text, src), src)))) as Record<
        string,
        unknown
      >;
      const r = await http(ferry.base, 'POST', '/v1/shops/s3/orders', b.text);
      assert.equal(r.status, 200, `seed ${seed}: ${r.text} for ${b.text}`);
      assert.deepEqual(r.json, { ...expected, name: 'shops/s3/orders/new' }, `seed ${seed}: Go received other values for ${b.text}`);
      sent++;
    }
    assert.ok(sent >= 30, `sent ${sent} random Orders`);
  });

  test('many calls in flight on one HTTP/2 session all answer, each with its own reply', async () => {
    const names = Array.from({ length: 200 }, (_, i) => `shops/s${i % 7}/orders/o${i}`);
    const replies = await Promise.all(names.map((n) => http(ferry.base, 'GET', `/v1/${n}`)));
    assert.deepEqual(
      replies.map((r) => [r.status, r.json.name]),
      names.map((n) => [200, n]),
    );
  });

  test('a reply larger than the 16 MiB budget is refused with a coded 502, and the next call still works (input: 17 MiB of bytes)', async () => {
    const r = await http(ferry.base, 'GET', '/v1/shops/s1/orders/huge');
    assert.equal(r.status, 502, r.text);
    assert.equal(r.json.code, 'FERRY_UPSTREAM_PROTOCOL_ERROR');
    assert.doesNotMatch(r.text, /127\.0\.0\.1|at .*\.ts/);
    const ok = await http(ferry.base, 'GET', '/v1/shops/s1/orders/o1');
    assert.equal(ok.status, 200, ok.text);
  });
});
