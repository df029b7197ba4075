/**
 * Hostile Dubbo replies through Ferry's HTTP front end (test/support/hostile-dubbo.ts, a fake
 * provider written here): each gives its coded answer for that call only, the next call on the same
 * service (and a route of another service) still answers, and no body carries a stack trace or the
 * provider's address.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';
import { HOSTILE_MODES, startHostileDubbo, type HostileDubbo } from '../support/hostile-dubbo.js';

let hostile: HostileDubbo;
let calm: HostileDubbo;
let ferry: TestFerry;

/** One service per mode (an endpoint ejected after one mode's failure must not hide the next mode), each with the mode's route and an `ok` route. */
function mapping(address: string, modes: readonly string[]): string {
  return [
    'services:',
    ...modes.flatMap((m) => [
      `  ${m}:`,
      '    protocol: dubbo',
      `    interface: com.example.${m}.Service`,
      `    endpoints: [${address}]`,
      '    timeout: 2s',
      '    pool: { connections: 1 }',
    ]),
    'routes:',
    ...modes.flatMap((m) => [
      `  - { id: ${m}, http: GET /hostile/${m}, call: ${m}.${m} }`,
      `  - { id: ${m}-ok, http: GET /hostile/${m}/ok, call: ${m}.ok }`,
    ]),
    '',
  ].join('\n');
}

before(async () => {
  hostile = await startHostileDubbo();
  calm = await startHostileDubbo();
  ferry = await startTestFerry({
    withoutSamples: true,
    extra: {
      'hostile.yaml': mapping(hostile.address, HOSTILE_MODES),
      'calm.yaml': mapping(calm.address, ['calm']).replace('call: calm.calm', 'call: calm.ok'),
    },
  });
});
after(async () => {
  await ferry?.close();
  await hostile?.close();
  await calm?.close();
});

/**
 * `keeps`: the connection stays usable, so the service's next call answers 200. Otherwise the
 * connection is closed (the stream cannot be trusted) and the endpoint may be ejected for a while:
 * the next call of that service answers 200 on a new connection or a coded 503.
 */
const EXPECTED: Record<Exclude<(typeof HOSTILE_MODES)[number], 'ok' | 'cycle' | 'wide'>, { status: number; codes: string[]; keeps: boolean }> = {
  attachments: { status: 502, codes: ['FERRY_UPSTREAM_PROTOCOL_ERROR'], keeps: true },
  huge: { status: 502, codes: ['FERRY_UPSTREAM_PROTOCOL_ERROR'], keeps: false },
  endless: { status: 504, codes: ['FERRY_UPSTREAM_TIMEOUT'], keeps: false },
  lying: { status: 502, codes: ['FERRY_UPSTREAM_PROTOCOL_ERROR', 'FERRY_UPSTREAM_CONNECTION_LOST'], keeps: false },
  garbage: { status: 502, codes: ['FERRY_UPSTREAM_PROTOCOL_ERROR', 'FERRY_UPSTREAM_CONNECTION_LOST'], keeps: false },
  drip: { status: 504, codes: ['FERRY_UPSTREAM_TIMEOUT'], keeps: false },
  // Nested 100 000 deep (the budget is 256): refused by depth after reading at most 257 levels; the frame was whole, so the connection serves on.
  deepList: { status: 502, codes: ['FERRY_UPSTREAM_PROTOCOL_ERROR'], keeps: true },
  deepMap: { status: 502, codes: ['FERRY_UPSTREAM_PROTOCOL_ERROR'], keeps: true },
  deepObject: { status: 502, codes: ['FERRY_UPSTREAM_PROTOCOL_ERROR'], keeps: true },
  deepException: { status: 502, codes: ['FERRY_UPSTREAM_PROTOCOL_ERROR'], keeps: true },
  // 2^40 values once references are expanded: the decode work budget (1 000 000 values) refuses it.
  refBomb: { status: 502, codes: ['FERRY_UPSTREAM_PROTOCOL_ERROR'], keeps: true },
  // A JDK value class holding what Java never writes: refused, not shown as a field map; the frame was whole, so the connection stays.
  badUuid: { status: 502, codes: ['FERRY_UPSTREAM_PROTOCOL_ERROR'], keeps: true },
  badLocale: { status: 502, codes: ['FERRY_UPSTREAM_PROTOCOL_ERROR'], keeps: true },
};

test('a normal reply from the fake provider answers 200 (the kit speaks Dubbo)', async () => {
  const r = await http(ferry.base, 'GET', '/hostile/ok/ok');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json, 'ok');
});

for (const [mode, want] of Object.entries(EXPECTED)) {
  test(
    `a hostile reply (input: ${mode}) is a coded ${want.status} for that call only; the service and other routes keep answering`,
    { timeout: 60_000 },
    async () => {
      const r = await http(ferry.base, 'GET', `/hostile/${mode}`);
      assert.equal(r.status, want.status, r.text);
      assert.match(r.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.ok(want.codes.includes(r.json?.code as string), `code ${r.json?.code} for ${mode}: ${r.text}`);
      assert.doesNotMatch(r.text, /\n\s+at |\bat [\w.]+\(/, 'no stack trace');
      assert.ok(!r.text.includes(hostile.address) && !r.text.includes(String(hostile.port)), `no provider address: ${r.text}`);
      // The same service answers its next call (the connection survived or was replaced), and another service too.
      const again = await http(ferry.base, 'GET', `/hostile/${mode}/ok`);
      if (want.keeps) assert.equal(again.status, 200, `after ${mode}: ${again.text}`);
      else assert.ok(again.status === 200 || again.json?.code === 'FERRY_UPSTREAM_UNAVAILABLE', `after ${mode}: ${again.text}`);
      const other = await http(ferry.base, 'GET', '/hostile/calm');
      assert.equal(other.status, 200, `after ${mode}: ${other.text}`);
    },
  );
}

test('a cyclic reply (input: a map referring to itself and to a list that refers back) is answered with null where the cycle closes', async () => {
  const r = await http(ferry.base, 'GET', '/hostile/cycle');
  assert.equal(r.status, 200, r.text);
  // A reference to a value still being converted (an enclosing one) becomes null; the list's own self-reference too.
  assert.deepEqual(r.json, { self: null, list: [null, null] }, r.text);
  const other = await http(ferry.base, 'GET', '/hostile/calm');
  assert.equal(other.status, 200, `after cycle: ${other.text}`);
});

test('every deep-nesting mode reached the fake provider (the 502s above are its replies) and Ferry still answers after them', async () => {
  for (const mode of ['deepList', 'deepMap', 'deepObject', 'deepException', 'refBomb'] as const) {
    assert.ok((hostile.calls[mode] ?? 0) >= 1, `the provider saw no ${mode} call: ${JSON.stringify(hostile.calls)}`);
  }
  const r = await http(ferry.base, 'GET', '/hostile/ok/ok');
  assert.equal(r.status, 200, r.text);
});
