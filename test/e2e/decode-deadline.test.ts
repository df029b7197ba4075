/**
 * The route's deadline honoured while a large legitimate reply is decoded (src/codec/decode-deadline.ts):
 * - Dubbo: the fake provider's `wide` reply (test/support/hostile-dubbo.ts: 249 990 Item objects,
 *   999 967 values, just under the default value budget), on the generic path and on the typed one
 *   (`returns: List<com.example.Item>`);
 * - gRPC: the real grpcio peer (samples/grpc-python/server.py, KitchenSinkService.Echo "wide:N":
 *   N packed int64 ids, serialized by Python's protobuf);
 * - ext_proc: the Dubbo reply again, asked for by Envoy's side of ext_proc (the Go client on
 *   go-control-plane's types, test/support/envoy-client.ts): the same engine path, the same answer.
 * Each reply first answers 200 whole on a route with time to spare (decoding is not cut short when
 * the deadline is far). Then a route whose timeout is a sixth of what that took is called: the
 * answer is the route's timeout answer (504 FERRY_UPSTREAM_TIMEOUT, as a late provider gets) saying
 * that decoding was abandoned after fewer values than the reply holds, counted in the metrics as a
 * timeout; without the deadline inside the decoders the same call answers 200, late.
 *
 * No timing is asserted: the short timeout is derived from the long route's own duration on this
 * machine, and a try whose reply itself arrived after the deadline (a plain upstream timeout, which
 * says nothing either way) is tried again with a longer timeout, never past half that duration.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { RequestOutcome } from '../../src/gateway/engine.js';
import { ensureEnvoyClient, immediateOf, runScenarios } from '../support/envoy-client.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';
import { startGrpcPeer, type GrpcPeer } from '../support/grpc-peer.js';
import { startHostileDubbo, WIDE_ITEMS, type HostileDubbo } from '../support/hostile-dubbo.js';

/** Values of the `wide` Dubbo reply as Ferry's reader counts them. */
const WIDE_VALUES = 7 + 4 * WIDE_ITEMS;
/** Packed ids in the gRPC reply (about 3 MB, under grpc-js's 4 MiB default). */
const GRPC_IDS = 1_000_000;
const TRIES = 5;

let provider: HostileDubbo;
let peer: GrpcPeer | undefined;
let ferry: TestFerry;
const durations = new Map<string, number[]>();

/** Timeouts of the short routes, ms. */
const shortMs: Record<string, number> = { 'generic-short': 60_000, 'typed-short': 60_000, 'grpc-short': 60_000 };

function dubboMapping(address: string): string {
  return [
    'services:',
    '  wide:',
    '    protocol: dubbo',
    '    interface: com.example.Wide',
    `    endpoints: [${address}]`,
    '    timeout: 120s',
    'types:',
    '  com.example.Item: { fields: { id: int, name: String, price: double } }',
    'routes:',
    '  - { id: generic-long, http: GET /wide/generic, call: wide.wide }',
    '  - { id: typed-long, http: GET /wide/typed, call: wide.wide, returns: "List<com.example.Item>" }',
    `  - { id: generic-short, http: GET /wide/generic/short, call: wide.wide, timeout: ${shortMs['generic-short']}ms }`,
    `  - { id: typed-short, http: GET /wide/typed/short, call: wide.wide, timeout: ${shortMs['typed-short']}ms, returns: "List<com.example.Item>" }`,
    '  - { id: calm, http: GET /calm, call: wide.ok }',
    '',
  ].join('\n');
}

function grpcMapping(address: string): string {
  const proto = path.resolve('idl/payments/v1/kitchen_sink.proto');
  return [
    'services:',
    '  kitchen:',
    '    protocol: grpc',
    `    proto: ${proto}`,
    '    service: example.kitchen.v1.KitchenSinkService',
    `    endpoints: [${address}]`,
    '    timeout: 120s',
    'routes:',
    '  - { id: grpc-long, http: POST /grpc/wide, call: kitchen.Echo, body: "*" }',
    `  - { id: grpc-short, http: POST /grpc/wide/short, call: kitchen.Echo, body: "*", timeout: ${shortMs['grpc-short']}ms }`,
    '',
  ].join('\n');
}

before(async () => {
  provider = await startHostileDubbo({ attachments: 1 });
  ferry = await startTestFerry({
    withoutSamples: true,
    // Full problem details, so that the test reads why the route timed out.
    problemDetail: 'full',
    extProcPort: 0,
    onOutcome: (o: RequestOutcome) => {
      if (o.routeId !== undefined) durations.set(o.routeId, [...(durations.get(o.routeId) ?? []), o.durationMs]);
    },
    extra: { 'wide.yaml': dubboMapping(provider.address) },
  });
});
after(async () => {
  await ferry?.close();
  await provider?.close();
  await peer?.stop();
});

/** What the tests read of an answer, over HTTP or in an ext_proc ImmediateResponse. */
interface Answer {
  readonly status: number;
  readonly text: string;
  readonly json: { code?: string; detail?: string } | undefined;
}

/** The fastest whole call of `routeId` so far, ms. */
const fastest = (routeId: string): number => Math.min(...(durations.get(routeId) ?? [60]));

/**
 * Calls route `short` (path `urlPath`) until an answer says decoding was abandoned; every answer must
 * be the route's timeout answer. Its timeout starts at a sixth of the long route's fastest call and
 * grows after a try whose reply came after the deadline, up to half of it.
 */
async function untilAbandoned(short: string, long: string, call: () => Promise<Answer>, remap: () => Promise<void>): Promise<Answer> {
  const seen: string[] = [];
  const whole = fastest(long);
  shortMs[short] = Math.max(10, Math.floor(whole / 6));
  for (let i = 0; i < TRIES; i++) {
    await remap();
    const r = await call();
    const what: string = `${short} with a ${shortMs[short]} ms timeout (the whole call took ${whole.toFixed(0)} ms)`;
    assert.equal(r.status, 504, `${what}: ${r.text.slice(0, 300)}`);
    assert.equal(r.json?.code, 'FERRY_UPSTREAM_TIMEOUT', r.text.slice(0, 300));
    const detail = String(r.json?.detail);
    if (/decoding abandoned/.test(detail)) return r;
    seen.push(`${what}: ${detail}`);
    shortMs[short] = Math.min(Math.floor(whole / 2), Math.floor(shortMs[short] * 1.5));
  }
  return assert.fail(`${short}: no try got its reply before the deadline: ${seen.join(' | ')}`);
}

const abandonedAfter = (r: Answer): number => Number(/abandoned after (\d+) values/.exec(String(r.json?.detail))?.[1] ?? NaN);

async function metric(pattern: RegExp): Promise<number> {
  const text = await ferry.metrics.registry.metrics();
  return Number(pattern.exec(text)?.[1] ?? 0);
}

test(
  'the wide Dubbo reply (input: 249 990 Items, 999 967 values) answers 200 whole on routes with time to spare, generic and typed',
  { timeout: 600_000 },
  async () => {
    for (const route of ['generic', 'typed']) {
      // Twice: the first call also builds the reply in the fake provider and opens the connection.
      for (let i = 0; i < 2; i++) {
        const r = await http(ferry.base, 'GET', `/wide/${route}`);
        assert.equal(r.status, 200, `${route}: ${r.text.slice(0, 300)}`);
        const items = r.json as unknown as Array<{ id: number; name: string; price: number }>;
        assert.equal(items.length, WIDE_ITEMS, route);
        assert.deepEqual(items[WIDE_ITEMS - 1], { id: WIDE_ITEMS - 1, name: `item-${WIDE_ITEMS - 1}`, price: WIDE_ITEMS - 1 + 0.25 }, route);
      }
    }
  },
);

test(
  'the same Dubbo reply on a route with a short timeout: the route timeout answer, decoding abandoned early, counted as a timeout',
  { timeout: 600_000 },
  async () => {
    const remap = async (): Promise<void> => {
      await ferry.writeMapping('wide.yaml', dubboMapping(provider.address));
      await ferry.reload();
    };
    for (const route of ['generic', 'typed']) {
      const r = await untilAbandoned(`${route}-short`, `${route}-long`, () => http(ferry.base, 'GET', `/wide/${route}/short`), remap);
      const decoded = abandonedAfter(r);
      assert.ok(decoded > 0 && decoded < WIDE_VALUES, `${route}: abandoned after ${decoded} of ${WIDE_VALUES} values: ${String(r.json?.detail)}`);
      assert.ok(
        (await metric(
          new RegExp(`ferry_requests_total\\{route="${route}-short",method="GET",status="504",code="FERRY_UPSTREAM_TIMEOUT"\\} (\\d+)`),
        )) >= 1,
        `${route}-short counted as a 504 timeout`,
      );
    }
    assert.ok(
      (await metric(/ferry_upstream_call_duration_seconds_count\{service="wide",method="wide",code="FERRY_UPSTREAM_TIMEOUT"\} (\d+)/)) >= 2,
      'the upstream calls whose decoding was abandoned are counted as timeouts',
    );
    const calm = await http(ferry.base, 'GET', '/calm');
    assert.equal(calm.status, 200, `another route answers after: ${calm.text}`);
  },
);

test(
  "the same Dubbo reply asked for through ext_proc (Envoy's client) on the short route: the same timeout answer, decoding abandoned",
  { timeout: 600_000 },
  async () => {
    await ensureEnvoyClient();
    const remap = async (): Promise<void> => {
      await ferry.writeMapping('wide.yaml', dubboMapping(provider.address));
      await ferry.reload();
    };
    const viaEnvoy = async (): Promise<Answer> => {
      const [res] = await runScenarios(ferry.extProcPort!, [
        {
          name: 'wide',
          headers: [
            [':method', 'GET'],
            [':path', '/wide/generic/short'],
            [':authority', 'wide.example'],
            [':scheme', 'http'],
          ],
          messageTimeoutMs: 120_000,
        },
      ]);
      const ir = immediateOf(res!);
      let json: Answer['json'];
      try {
        json = JSON.parse(ir.body) as Answer['json'];
      } catch {
        json = undefined;
      }
      return { status: ir.status, text: ir.body, json };
    };
    const r = await untilAbandoned('generic-short', 'generic-long', viaEnvoy, remap);
    const decoded = abandonedAfter(r);
    assert.ok(decoded > 0 && decoded < WIDE_VALUES, `abandoned after ${decoded} of ${WIDE_VALUES} values: ${String(r.json?.detail)}`);
  },
);

test(
  'the wide gRPC reply (input: Echo "wide:1000000" from grpcio, 1 000 000 packed ids) answers 200 whole with time to spare',
  { timeout: 600_000 },
  async () => {
    peer = await startGrpcPeer();
    await ferry.writeMapping('grpc.yaml', grpcMapping(peer.address));
    await ferry.reload();
    for (let i = 0; i < 2; i++) {
      const r = await http(ferry.base, 'POST', '/grpc/wide', { text: `wide:${GRPC_IDS}` });
      assert.equal(r.status, 200, r.text.slice(0, 300));
      const ids = (r.json as { ids: string[] }).ids;
      assert.equal(ids.length, GRPC_IDS);
      assert.equal(ids[GRPC_IDS - 1], String(GRPC_IDS - 1));
    }
  },
);

test(
  'the same gRPC reply on a route with a short timeout: the route timeout answer, decoding abandoned early, counted as a timeout',
  { timeout: 600_000 },
  async () => {
    const r = await untilAbandoned(
      'grpc-short',
      'grpc-long',
      () => http(ferry.base, 'POST', '/grpc/wide/short', { text: `wide:${GRPC_IDS}` }),
      async () => {
        await ferry.writeMapping('grpc.yaml', grpcMapping(peer!.address));
        await ferry.reload();
      },
    );
    const decoded = abandonedAfter(r);
    assert.ok(decoded > 0 && decoded < GRPC_IDS, `abandoned after ${decoded} of ${GRPC_IDS} values: ${String(r.json?.detail)}`);
    assert.ok(
      (await metric(/ferry_upstream_call_duration_seconds_count\{service="kitchen",method="Echo",code="FERRY_UPSTREAM_TIMEOUT"\} (\d+)/)) >= 1,
      'the gRPC call whose decoding was abandoned is counted as a timeout',
    );
    const small = await http(ferry.base, 'POST', '/grpc/wide/short', { text: 'plain' });
    assert.equal(small.status, 200, `a small reply on the same route answers: ${small.text}`);
  },
);
