/**
 * The admin console's JSON API over real sockets, through the composition root: what it answers for
 * the shipped mappings, that it never shows mapping secrets, the admin token, the validate endpoint
 * (the same function as `ferry validate`, with a bounded body) and the reload log. No provider runs:
 * the endpoints point at a closed port, which is all these answers need.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { validateMappings } from '../../src/app/main.js';
import { ConfigError } from '../../src/config/errors.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';
import { startFerryProcess } from '../support/ferry-process.js';

const SERVICE_TOKEN = 'dubbo-token-SECRET-31415926';
const API_KEY_HASH = createHash('sha256').update('the-api-key-SECRET').digest('hex');
const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
const SECRETS = [
  'services:',
  '  vault:',
  '    protocol: dubbo',
  '    interface: com.example.bank.AccountService',
  '    version: 1.0.0',
  '    endpoints: [127.0.0.1:1]',
  `    token: ${SERVICE_TOKEN}`,
  '    sticky: { hash: header.x-user }',
  'routes:',
  '  - id: vault-ping',
  '    http: GET /vault/ping',
  '    call: vault.ping',
  `    policies: { api-key: { keys: [{ name: batch, sha256: ${API_KEY_HASH} }] } }`,
  '',
].join('\n');

const API = ['/admin/api/routes', '/admin/api/upstreams', '/admin/api/config', '/admin/api/metrics'];

describe('admin API, open on loopback', () => {
  let ferry: TestFerry;
  let admin: string;

  before(async () => {
    ferry = await startTestFerry({ dubboAddress: '127.0.0.1:1', adminPort: 0, extra: { 'secrets.yaml': SECRETS } });
    admin = `http://127.0.0.1:${ferry.adminPort}`;
  });
  after(async () => {
    await ferry?.close();
  });

  test('routes: method, path, upstream method, declared types and the file:line:col each was written at', async () => {
    const { routes } = (await http(admin, 'GET', '/admin/api/routes')).json;
    const get = routes.find((r: any) => r.id === 'get-account');
    assert.equal(get.method, 'GET');
    assert.equal(get.path, '/accounts/{id}');
    assert.equal(get.target, 'com.example.bank.AccountService');
    assert.equal(get.rpcMethod, 'getAccount');
    assert.deepEqual(get.args, [{ type: 'long', from: 'path.id', required: true }]);
    assert.equal(get.returns, 'com.example.bank.Account');
    // The line is the one the route's `- id:` is on in the file.
    const lines = (await readFile(path.join(ferry.dir, 'bank.yaml'), 'utf8')).split('\n');
    assert.match(lines[get.source.line - 1]!, /- id: get-account/, `bank.yaml line ${get.source.line} holds the route`);
    assert.equal(get.source.at, `${get.source.file}:${get.source.line}:${get.source.col}`);
    const ping = routes.find((r: any) => r.id === 'payments-ping');
    assert.equal(ping.protocol, 'grpc');
    assert.match(ping.returns, /^example\.payments\.v1\.\w+$/, `the gRPC route names its response message: ${ping.returns}`);
    assert.match(ping.args[0].type, /^example\.payments\.v1\.\w+$/, 'and its request message');
    assert.deepEqual(routes.find((r: any) => r.id === 'vault-ping').policies, ['api-key'], 'policies by name only');
  });

  test('upstreams: every service with its endpoints, weight, labels, connections, pending calls and state', async () => {
    const { services } = (await http(admin, 'GET', '/admin/api/upstreams')).json;
    const accounts = services.find((s: any) => s.service === 'accounts');
    assert.equal(accounts.protocol, 'dubbo');
    assert.equal(accounts.endpoints.length, 1);
    // A connection attempt to the closed port may be under way at this moment: `connections` is only a count.
    const { connections, ...rest } = accounts.endpoints[0];
    assert.equal(typeof connections, 'number');
    assert.deepEqual(rest, {
      id: '127.0.0.1:1',
      cluster: 'default',
      priority: 0,
      weight: 100,
      labels: {},
      pending: 0,
      ejected: false,
      available: false,
    });
    assert.deepEqual(accounts.registries, []);
    // A sticky service's endpoints carry their share of its sticky calls (none made yet); others carry none (above).
    const vault = services.find((s: any) => s.service === 'vault');
    assert.match(vault.sticky, /^hash on /);
    assert.equal(vault.endpoints[0].stickyShare, 0, JSON.stringify(vault.endpoints[0]));
  });

  test('no answer holds a mapping secret (inputs: a service token, an api-key policy hash)', async () => {
    for (const url of [...API, '/openapi.json']) {
      const text = (await http(admin, 'GET', url)).text;
      assert.ok(!text.includes(SERVICE_TOKEN), `${url} does not show the service token`);
      assert.ok(!text.includes(API_KEY_HASH), `${url} does not show the api-key hash`);
    }
  });

  test('metrics: per-route requests and errors by FERRY code from the metrics registry, and a rate over the window', async () => {
    await http(admin, 'GET', '/admin/api/metrics');
    for (let i = 0; i < 3; i++) assert.equal((await http(ferry.base, 'GET', '/accounts/abc')).status, 400, 'input: a non-numeric id');
    const m = (await http(admin, 'GET', '/admin/api/metrics')).json;
    const r = m.routes.find((x: any) => x.route === 'get-account');
    assert.equal(r.requests, 3);
    assert.deepEqual(r.errors, { FERRY_BAD_ARGUMENT: 3 });
    assert.deepEqual(r.windowErrors, { FERRY_BAD_ARGUMENT: 3 });
    assert.ok(typeof m.windowSeconds === 'number' && r.rate > 0, `a rate over a window: ${JSON.stringify(m)}`);
    assert.ok(r.p50Ms > 0 && r.p50Ms <= r.p99Ms, `percentiles in order: ${JSON.stringify(r)}`);
  });

  test('validate answers what `ferry validate` says of the same file, at pasted.yaml:line:col (input: a Dubbo service without interface)', async () => {
    const text = 'services:\n  x:\n    protocol: dubbo\n    endpoints: [127.0.0.1:1]\n';
    const r = await http(admin, 'POST', '/admin/api/validate', text, { 'content-type': 'application/yaml' });
    assert.equal(r.status, 200);
    assert.equal(r.json.ok, false);
    const dir = await mkdtemp(path.join(tmpdir(), 'ferry-validate-same-'));
    try {
      await writeFile(path.join(dir, 'pasted.yaml'), text);
      const err = await validateMappings(dir).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof ConfigError, 'ferry validate refuses the file too');
      assert.deepEqual(
        r.json.problems.map((p: any) => [p.line, p.col, p.message]),
        err.problems.map((p) => [p.line, p.col, p.message]),
      );
      assert.ok(
        r.json.problems.every((p: any) => p.file === 'pasted.yaml'),
        'problems name the pasted file, not a temporary path',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const ok = await http(admin, 'POST', '/admin/api/validate', { text: await readFile('mappings/bank.yaml', 'utf8') });
    assert.deepEqual(ok.json, { ok: true, services: 1, types: 4, routes: 12, derived: 0 });
  });

  test('validate refuses a body over the mapping-file budget with FERRY_BODY_TOO_LARGE (input: 1 MiB + 1 byte)', async () => {
    const r = await http(admin, 'POST', '/admin/api/validate', 'a'.repeat(1024 * 1024 + 1), { 'content-type': 'text/plain' });
    assert.equal(r.status, 413);
    assert.equal(r.headers.get('content-type'), 'application/problem+json');
    assert.equal(r.json.code, 'FERRY_BODY_TOO_LARGE');
  });

  test('validate refuses an empty body and does not load plugins (inputs: "", a file naming a plugin module)', async () => {
    const empty = await http(admin, 'POST', '/admin/api/validate', '', { 'content-type': 'text/plain' });
    assert.equal(empty.status, 400);
    assert.equal(empty.json.code, 'FERRY_MISSING_ARGUMENT');
    const plugin = await http(admin, 'POST', '/admin/api/validate', 'plugins:\n  evil: { file: /tmp/evil.mjs }\n', {
      'content-type': 'application/yaml',
    });
    assert.equal(plugin.json.ok, false);
    assert.match(plugin.json.problems[0].message, /plugins are not loaded/);
  });

  test('config: the mapping files, and each reload with its time and result; a refused one with file:line:col', async () => {
    const before = (await http(admin, 'GET', '/admin/api/config')).json;
    assert.deepEqual(
      before.files.map((f: any) => path.basename(f.file)),
      ['bank.yaml', 'lab.yaml', 'payments.yaml', 'secrets.yaml'],
    );
    assert.equal(before.lastRefused, null);
    // Input: a route calling a service nobody declares.
    await ferry.writeMapping('broken.yaml', 'routes:\n  - id: broken\n    http: GET /broken\n    call: nowhere.nothing\n');
    await assert.rejects(ferry.reload(), ConfigError);
    const refused = (await http(admin, 'GET', '/admin/api/config')).json;
    assert.equal(refused.reloads[0].ok, false);
    const p = refused.lastRefused.problems[0];
    assert.equal(path.basename(p.file), 'broken.yaml');
    assert.ok(p.line >= 2 && p.col >= 1, `a place in the file: ${JSON.stringify(p)}`);
    await rm(path.join(ferry.dir, 'broken.yaml'));
    await ferry.reload();
    const applied = (await http(admin, 'GET', '/admin/api/config')).json;
    assert.equal(applied.reloads[0].ok, true);
    assert.ok(applied.reloads[0].routes > 60, 'the applied reload says how many routes serve');
    assert.equal(applied.reloads.length, 2);
    assert.notEqual(applied.lastRefused, null, 'the last refused reload is still shown');
  });
});

describe('admin API with --admin-token', () => {
  let ferry: TestFerry;
  let admin: string;

  before(async () => {
    ferry = await startTestFerry({ dubboAddress: '127.0.0.1:1', adminPort: 0, adminToken: ADMIN_TOKEN });
    admin = `http://127.0.0.1:${ferry.adminPort}`;
  });
  after(async () => {
    await ferry?.close();
  });

  test('state, /metrics and try-it need the bearer token: 401 problem+json without it or with another (inputs: none, a wrong token, Basic)', async () => {
    for (const url of [...API, '/metrics', '/openapi.json', '/console/try/accounts/1']) {
      for (const authorization of [undefined, 'Bearer not-the-token-at-all', `Basic ${ADMIN_TOKEN}`]) {
        const r = await http(admin, 'GET', url, undefined, authorization !== undefined ? { authorization } : {});
        assert.equal(r.status, 401, `${url} with ${authorization ?? 'no header'}`);
        assert.equal(r.headers.get('content-type'), 'application/problem+json');
        assert.equal(r.json.code, 'FERRY_UNAUTHENTICATED');
        assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="ferry-admin"');
      }
    }
    for (const url of API) assert.equal((await http(admin, 'GET', url, undefined, { authorization: `Bearer ${ADMIN_TOKEN}` })).status, 200, url);
    const validate = await http(admin, 'POST', '/admin/api/validate', 'services: {}\n', { 'content-type': 'text/plain' });
    assert.equal(validate.status, 401, 'validate needs the token too');
  });

  test('probes and the console page stay open; try-it takes the token in its own header and reaches the HTTP port', async () => {
    assert.equal((await http(admin, 'GET', '/healthz')).status, 200);
    assert.equal((await http(admin, 'GET', '/console/')).status, 200);
    // Through to the HTTP port: a bad id is answered by the engine (400), which proves the call got there.
    const r = await http(admin, 'GET', '/console/try/accounts/abc', undefined, { 'x-ferry-admin-authorization': `Bearer ${ADMIN_TOKEN}` });
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 'FERRY_BAD_ARGUMENT');
    assert.equal(r.json.route, 'get-account');
  });
});

describe('ferry serve: the admin token from a file, and a warning when admin is exposed without one', () => {
  test('FERRY_ADMIN_TOKEN_FILE (its trailing newline dropped) guards the API of the real command line', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ferry-admin-token-'));
    const file = path.join(dir, 'token');
    await writeFile(file, `${ADMIN_TOKEN}\n`);
    const ferry = await startFerryProcess({ dubboAddress: '127.0.0.1:1' }, [], { FERRY_ADMIN_TOKEN_FILE: file });
    try {
      const admin = `http://127.0.0.1:${ferry.adminPort}`;
      assert.equal((await http(admin, 'GET', '/admin/api/routes')).status, 401);
      assert.equal((await http(admin, 'GET', '/admin/api/routes', undefined, { authorization: `Bearer ${ADMIN_TOKEN}` })).status, 200);
      assert.ok(!ferry.logs.some((l) => String(l['msg']).includes('without a token')), 'no warning with a token');
    } finally {
      await ferry.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('an admin port beyond loopback without a token is logged as a warning (input: --admin-host 0.0.0.0)', async () => {
    const ferry = await startFerryProcess({ dubboAddress: '127.0.0.1:1' }, ['--admin-host', '0.0.0.0']);
    try {
      const warning = ferry.logs.find((l) => String(l['msg']).includes('admin port listens beyond loopback without a token'));
      assert.equal(warning?.['level'], 'warn', `the warning is logged: ${JSON.stringify(ferry.logs)}`);
    } finally {
      await ferry.stop();
    }
  });
});
