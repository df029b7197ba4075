/**
 * Envoy's per-message timer against slow routes, with the Go client playing Envoy's ext_proc filter
 * (message_timeout, max_message_timeout and override_message_timeout as go-control-plane defines
 * them) and the Apache Dubbo sample provider's slow(ms) behind Ferry. Also the dynamic metadata
 * Ferry's answers carry, as the client reads it off the wire.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFerry, type RunningFerry } from '../../src/app/main.js';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { ensureEnvoyClient, immediateOf, runScenarios, type Scenario, type ScenarioResult } from '../support/envoy-client.js';

let provider: JavaProvider;
/** Told Envoy's timers: message_timeout 200 ms, overrides up to 5 s. */
let allowed: RunningFerry;
/** Told message_timeout 200 ms with overrides disabled (max_message_timeout 0, Envoy's default). */
let disabled: RunningFerry;
/** Told nothing: Envoy's timer is left alone (the behaviour before timers were known). */
let untold: RunningFerry;

before(async () => {
  await ensureEnvoyClient();
  provider = await startJavaProvider();
  const dir = mkdtempSync(join(tmpdir(), 'ferry-envoy-timers-'));
  writeFileSync(
    join(dir, 'slow.yaml'),
    [
      'services:',
      '  accounts:',
      '    protocol: dubbo',
      '    interface: com.example.bank.AccountService',
      '    version: 1.0.0',
      `    endpoints: [${provider.address}]`,
      '    timeout: 2s',
      'routes:',
      '  - id: slow',
      '    http: GET /slow/{ms}',
      '    call: accounts.slow',
      '    args:',
      '      - { from: path.ms, type: int }',
      '',
    ].join('\n'),
  );
  const start = (extProc?: Parameters<typeof startFerry>[0]['extProc']) =>
    startFerry({ mappingsDir: dir, port: 0, extProcPort: 0, ...(extProc !== undefined ? { extProc } : {}) });
  allowed = await start({ envoyTimers: { messageTimeoutMs: 200, maxMessageTimeoutMs: 5000 } });
  disabled = await start({ envoyTimers: { messageTimeoutMs: 200, maxMessageTimeoutMs: 0 } });
  untold = await start();
});

after(async () => {
  await Promise.all([allowed?.close(), disabled?.close(), untold?.close()]);
  await provider?.stop();
});

/** GET /slow/600 as Envoy with message_timeout 200 ms and the given max_message_timeout. */
async function slowCall(ferry: RunningFerry, maxMessageTimeoutMs: number): Promise<ScenarioResult> {
  const scenario: Scenario = {
    name: 'slow',
    headers: [
      [':method', 'GET'],
      [':path', '/slow/600'],
      [':authority', 'bank.example'],
      [':scheme', 'http'],
    ],
    messageTimeoutMs: 200,
    maxMessageTimeoutMs,
  };
  const [r] = await runScenarios(ferry.extProcPort!, [scenario]);
  assert.ok(r, 'one result');
  return r;
}

test("a 600 ms call behind Envoy's default 200 ms timer: Ferry asks for the route's 2 s (+ margin) and answers, not a 504", async () => {
  const r = await slowCall(allowed, 5000);
  assert.equal(r.error, undefined, JSON.stringify(r));
  assert.deepEqual(r.overrides, [{ ms: 2050, honoured: true }]);
  assert.equal(r.outcome, 'immediate');
  const ir = immediateOf(r);
  assert.equal(ir.status, 200);
  assert.equal(JSON.parse(ir.body), 'slept 600');
  assert.equal(r.streamEnd, 'ok');
});

test('overrides capped by max_message_timeout: the route gets what Envoy allows, and Ferry answers 504 in time when that is too short', async () => {
  // Ferry believes up to 5 s, this Envoy honours 400 ms: Envoy ignores the 2050 ms ask and gives up at 200 ms.
  const refused = await slowCall(allowed, 400);
  assert.deepEqual(refused.overrides, [{ ms: 2050, honoured: false }]);
  assert.match(refused.error ?? '', /message_timeout expired/, 'a Ferry told the wrong max cannot be helped: say it as it is');
  // Told the truth (overrides disabled): no ask, and a 504 problem naming the route inside Envoy's 200 ms.
  const r = await slowCall(disabled, 0);
  assert.equal(r.error, undefined, r.error);
  assert.equal(r.overrides, undefined);
  const ir = immediateOf(r);
  assert.equal(ir.status, 504);
  assert.equal(ir.details, 'FERRY_UPSTREAM_TIMEOUT');
  assert.equal(JSON.parse(ir.body).code, 'FERRY_UPSTREAM_TIMEOUT');
});

test("without Envoy's timers Ferry cannot help: Envoy gives up at 200 ms (the failure the settings fix)", async () => {
  const r = await slowCall(untold, 5000);
  assert.equal(r.overrides, undefined);
  assert.match(r.error ?? '', /message_timeout expired/);
});

test('answers carry dynamic metadata in the ext_proc namespace: route id, code, service and the endpoint that answered, as Envoy reads it', async () => {
  const ok = await slowCall(allowed, 5000);
  const meta = ok.responses.find((m) => m.immediate_response !== undefined)?.dynamic_metadata;
  assert.deepEqual(meta, { 'envoy.filters.http.ext_proc': { code: 'ferry_ok', route_id: 'slow', service: 'accounts', endpoint: provider.address } });
  const timedOut = await slowCall(disabled, 0);
  const failed = timedOut.responses.find((m) => m.immediate_response !== undefined)?.dynamic_metadata;
  assert.equal(failed?.['envoy.filters.http.ext_proc']?.['code'], 'FERRY_UPSTREAM_TIMEOUT');
});
