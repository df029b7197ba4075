/**
 * A policy turned off for one front end (issue 14, item 6: "a policy can be turned off for ext_proc
 * where Envoy does the job"): `frontends: [http]` in its options. The same requests go through
 * Ferry's HTTP port and its ext_proc port (driven by the Go client built on Envoy's own types), in
 * front of the Apache Dubbo sample provider.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';
import { ensureEnvoyClient, immediateOf, runScenarios, type ScenarioResult } from '../support/envoy-client.js';

const KEY = 'frontends-test-key-0123456789';
const apiKey = (frontends?: string) =>
  `{ api-key: { keys: [{ name: batch, sha256: ${createHash('sha256').update(KEY).digest('hex')} }]${frontends === undefined ? '' : `, frontends: ${frontends}`} } }`;

let provider: JavaProvider;
let ferry: TestFerry;

before(async () => {
  await ensureEnvoyClient();
  provider = await startJavaProvider({ name: 'frontends' });
  ferry = await startTestFerry({
    dubboAddress: provider.address,
    extProcPort: 0,
    extra: {
      'frontends.yaml': [
        'routes:',
        '  - { id: both, http: GET /fe/both, call: accounts.whoami, policies: ' + apiKey() + ' }',
        '  - { id: http-only, http: GET /fe/http-only, call: accounts.whoami, policies: ' + apiKey('[http]') + ' }',
        '  - { id: extproc-only, http: GET /fe/extproc-only, call: accounts.whoami, policies: ' + apiKey('[ext-proc]') + ' }',
        '',
      ].join('\n'),
    },
  });
});

after(async () => {
  await ferry?.close();
  await provider?.stop();
});

async function viaExtProc(paths: string[], headers: Array<[string, string]> = []): Promise<ScenarioResult[]> {
  return runScenarios(
    ferry.extProcPort!,
    paths.map((path) => ({
      name: path,
      headers: [[':method', 'GET'], [':path', path], [':authority', '127.0.0.1'], [':scheme', 'http'], ...headers] as Array<[string, string]>,
    })),
  );
}

test('without a key: the policy answers 401 only on the front ends it is on (input: no x-api-key)', async () => {
  const paths = ['/fe/both', '/fe/http-only', '/fe/extproc-only'];
  const viaHttp = await Promise.all(paths.map((p) => http(ferry.base, 'GET', p)));
  const viaEnvoy = (await viaExtProc(paths)).map((r) => {
    assert.equal(r.error, undefined, r.error);
    const ir = immediateOf(r);
    return { status: ir.status, body: ir.body };
  });
  assert.deepEqual(
    viaHttp.map((r) => r.status),
    [401, 401, 200],
    `HTTP: ${viaHttp.map((r) => r.text).join(' | ')}`,
  );
  assert.deepEqual(
    viaEnvoy.map((r) => r.status),
    [401, 200, 401],
    `ext_proc: ${viaEnvoy.map((r) => r.body).join(' | ')}`,
  );
  assert.equal(viaHttp[2]!.json, 'frontends', 'the route without its policy reached the provider');
  assert.equal(JSON.parse(viaEnvoy[1]!.body), 'frontends');
  assert.equal(JSON.parse(viaEnvoy[0]!.body).code, 'FERRY_UNAUTHENTICATED');
});

test('with the key, every route answers on both front ends', async () => {
  const paths = ['/fe/both', '/fe/http-only', '/fe/extproc-only'];
  const viaHttp = await Promise.all(paths.map((p) => http(ferry.base, 'GET', p, undefined, { 'x-api-key': KEY })));
  assert.deepEqual(
    viaHttp.map((r) => r.status),
    [200, 200, 200],
  );
  const viaEnvoy = await viaExtProc(paths, [['x-api-key', KEY]]);
  assert.deepEqual(
    viaEnvoy.map((r) => immediateOf(r).status),
    [200, 200, 200],
  );
});
