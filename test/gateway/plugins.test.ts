/**
 * The plugin hook API in the engine, with a stand-in binder (no socket is crossed here; the
 * policies' e2e tests go through real peers): plugins loaded from files, options checked by each
 * plugin's own schema with file:line problems, hook order, a throwing and a hanging plugin
 * contained to their request, and a changed plugin file picked up by the next load.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfigDir } from '../../src/config/loader.js';
import { ConfigError } from '../../src/config/errors.js';
import { createEngine } from '../../src/gateway/engine.js';
import { loadPlugins } from '../../src/gateway/plugins.js';
import { builtinPlugins } from '../../src/gateway/policies/index.js';
import type { ProtocolBinders } from '../../src/gateway/engine.js';
import type { GatewayRequest } from '../../src/exchange/index.js';
import type { DubboRoute, DubboService } from '../../src/config/types.js';

const SAMPLES = path.resolve('samples/plugins');

/** Answers every route with what the engine handed it (route id, params, claims). */
const binders: ProtocolBinders = {
  dubbo: {
    bind: (route: DubboRoute, _s: DubboService) => ({
      needsBody: false,
      handle: async (_req, params, ctx) => {
        if (route.id === 'fails') {
          const { FerryError } = await import('../../src/errors/index.js');
          throw new FerryError('FERRY_UPSTREAM_UNAVAILABLE', 'no provider');
        }
        return {
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ route: route.id, params, claims: ctx.claims ?? null }),
        };
      },
    }),
  },
};

function req(method: string, p: string, headers: Record<string, string> = {}): GatewayRequest {
  return { method, path: p, rawQuery: '', headers, body: undefined, remoteAddress: '192.0.2.7' };
}

async function folder(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ferry-plugins-'));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

const SERVICE = ['services:', '  svc:', '    protocol: dubbo', '    interface: com.example.Svc', '    endpoints: [127.0.0.1:1]'].join('\n');

async function engineFor(dir: string, failures: string[] = []) {
  const config = await loadConfigDir(dir);
  const plugins = await loadPlugins(config, builtinPlugins());
  return createEngine({ config, binders, plugins, onPluginFailure: (p, r, reason) => failures.push(`${p} ${r} ${reason}`) });
}

test('the sample plugins load from their files and run per route, in order', async () => {
  const dir = await folder({
    'm.yaml': [
      SERVICE,
      'plugins:',
      `  request-id: { file: ${path.join(SAMPLES, 'request-id.mjs')} }`,
      `  tenant-guard: { file: ${path.join(SAMPLES, 'tenant-guard.ts')} }`,
      'policies:',
      '  request-id: {}',
      'routes:',
      '  - { id: open, http: GET /open, call: svc.open }',
      '  - id: guarded',
      '    http: GET /guarded/{id}',
      '    call: svc.guarded',
      '    policies: { tenant-guard: { tenants: [acme] } }',
      '  - id: no-id',
      '    http: GET /no-id',
      '    call: svc.x',
      '    policies: { request-id: false }',
    ].join('\n'),
  });
  try {
    const engine = await engineFor(dir);
    const open = await engine.handle(req('GET', '/open', { 'x-request-id': 'abc-1' }));
    assert.equal(open.status, 200);
    assert.equal(open.headers['x-request-id'], 'abc-1');
    const generated = await engine.handle(req('GET', '/open', { 'x-request-id': 'bad value with spaces' }));
    assert.match(String(generated.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    const ok = await engine.handle(req('GET', '/guarded/7', { 'x-tenant': 'acme' }));
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['x-served-tenant'], 'acme');
    assert.ok(ok.headers['x-request-id'], 'the global policy runs on the route too');
    const refused = await engine.handle(req('GET', '/guarded/7', { 'x-tenant': 'other' }));
    assert.equal(refused.status, 403);
    assert.equal(JSON.parse(String(refused.body)).code, 'FERRY_FORBIDDEN');
    assert.ok(refused.headers['x-request-id'], 'headers set by earlier policies go on problem replies');
    const off = await engine.handle(req('GET', '/no-id'));
    assert.equal(off.headers['x-request-id'], undefined, 'request-id: false turns the global policy off');
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('a throwing and a hanging plugin fail their request only, with 500 codes, and are counted', async () => {
  const dir = await folder({
    'throws.mjs': 'export default { create: () => ({ onRequest() { throw new Error("boom at 10.1.2.3"); } }) };',
    'hangs.mjs': 'export default { budgetMs: 50, create: () => ({ onRequest: () => new Promise(() => {}) }) };',
    'm.yaml': [
      SERVICE,
      'plugins: { throws: { file: throws.mjs }, hangs: { file: hangs.mjs } }',
      'routes:',
      '  - { id: t, http: GET /t, call: svc.t, policies: { throws: {} } }',
      '  - { id: h, http: GET /h, call: svc.h, policies: { hangs: {} } }',
      '  - { id: fine, http: GET /fine, call: svc.fine }',
    ].join('\n'),
  });
  try {
    const failures: string[] = [];
    const engine = await engineFor(dir, failures);
    const [t, h, fine] = await Promise.all([engine.handle(req('GET', '/t')), engine.handle(req('GET', '/h')), engine.handle(req('GET', '/fine'))]);
    assert.equal(t.status, 500);
    const tDoc = JSON.parse(String(t.body));
    assert.equal(tDoc.code, 'FERRY_PLUGIN_FAILED');
    assert.ok(!String(t.body).includes('10.1.2.3'), 'the plugin message (an internal address) is not told to the client');
    assert.equal(h.status, 500);
    assert.equal(JSON.parse(String(h.body)).code, 'FERRY_PLUGIN_TIMEOUT');
    assert.equal(fine.status, 200);
    assert.deepEqual(failures.sort(), ['hangs h timeout', 'throws t threw']);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('options that break a plugin schema are config problems at the line that names the policy', async () => {
  const dir = await folder({
    'm.yaml': [
      SERVICE,
      'routes:',
      '  - id: r',
      '    http: GET /r',
      '    call: svc.r',
      '    policies:',
      '      rate-limit: { limit: 0, window: 1s, colour: blue }',
      '      nosuch: {}',
    ].join('\n'),
  });
  try {
    await assert.rejects(engineFor(dir), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const text = err.message;
      assert.match(text, /m\.yaml:11:7: .*policy "rate-limit": options has an unknown key "colour"/);
      assert.match(text, /m\.yaml:11:7: .*options\.limit must be >= 1/);
      assert.match(text, /m\.yaml:12:7: .*policy "nosuch": no built-in policy or declared plugin has this name/);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('a plugin file that is not a plugin is a problem at its declaration; a changed file loads anew', async () => {
  const dir = await folder({
    'p.mjs': 'export default { nothing: true };',
    'm.yaml': [SERVICE, 'plugins:', '  p: { file: p.mjs }', 'routes:', '  - { id: r, http: GET /r, call: svc.r, policies: { p: {} } }'].join('\n'),
  });
  try {
    await assert.rejects(engineFor(dir), /m\.yaml:7:3: plugin "p": .*no default export with a create/);
    await new Promise((resolve) => setTimeout(resolve, 20)); // a new mtime
    await writeFile(path.join(dir, 'p.mjs'), 'export default { create: () => ({ onRequest(ctx) { ctx.responseHeaders["x-v"] = "2"; } }) };');
    const engine = await engineFor(dir);
    assert.equal((await engine.handle(req('GET', '/r'))).headers['x-v'], '2');
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('onError may answer instead of the problem; afterUpstream does not run on failures', async () => {
  const dir = await folder({
    'fallback.mjs': [
      'export default { create: () => ({',
      '  onError(ctx, err) { return { status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ fallback: err.code }) }; },',
      '  afterUpstream() { throw new Error("must not run"); },',
      '}) };',
    ].join('\n'),
    'm.yaml': [
      SERVICE,
      'plugins: { fallback: { file: fallback.mjs } }',
      'routes:',
      '  - { id: fails, http: GET /f, call: svc.f, policies: { fallback: {} } }',
    ].join('\n'),
  });
  try {
    const engine = await engineFor(dir);
    const r = await engine.handle(req('GET', '/f'));
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(String(r.body)), { fallback: 'FERRY_UPSTREAM_UNAVAILABLE' });
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('rate-limit: a bucket per key; 429 with Retry-After and the IETF RateLimit headers', async () => {
  const dir = await folder({
    'm.yaml': [
      SERVICE,
      'routes:',
      '  - { id: r, http: GET /r, call: svc.r, policies: { rate-limit: { limit: 3, window: 1h, key: header.x-client } } }',
    ].join('\n'),
  });
  try {
    const engine = await engineFor(dir);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await engine.handle(req('GET', '/r', { 'x-client': 'a' }))).status);
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    const limited = await engine.handle(req('GET', '/r', { 'x-client': 'a' }));
    assert.equal(JSON.parse(String(limited.body)).code, 'FERRY_RATE_LIMITED');
    assert.equal(limited.headers['ratelimit-policy'], '"default";q=3;w=3600');
    assert.match(String(limited.headers['ratelimit']), /^"default";r=0;t=\d+$/);
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    const other = await engine.handle(req('GET', '/r', { 'x-client': 'b' }));
    assert.equal(other.status, 200, 'another key has its own bucket');
    assert.equal(other.headers['ratelimit'], '"default";r=2;t=1200');
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('cors: the preflight is answered for the route it asks about; replies carry the allow-origin', async () => {
  const dir = await folder({
    'm.yaml': [
      SERVICE,
      'policies:',
      '  cors: { origins: [https://app.example], headers: [content-type], methods: [GET, POST], maxAge: 1m }',
      'routes:',
      '  - { id: r, http: "POST /r/{id}", call: svc.r, policies: { jwt: { jwks: "http://127.0.0.1:1/jwks" } } }',
    ].join('\n'),
  });
  try {
    const engine = await engineFor(dir);
    const pre = await engine.handle(
      req('OPTIONS', '/r/1', {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'Content-Type',
      }),
    );
    assert.equal(pre.status, 204, String(pre.body));
    assert.equal(pre.headers['access-control-allow-origin'], 'https://app.example');
    assert.equal(pre.headers['access-control-allow-methods'], 'GET, POST');
    assert.equal(pre.headers['access-control-allow-headers'], 'content-type');
    assert.equal(pre.headers['access-control-max-age'], '60');
    const badOrigin = await engine.handle(req('OPTIONS', '/r/1', { origin: 'https://evil.example', 'access-control-request-method': 'POST' }));
    assert.equal(badOrigin.status, 403);
    assert.equal(badOrigin.headers['access-control-allow-origin'], undefined);
    const badHeader = await engine.handle(
      req('OPTIONS', '/r/1', {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-secret',
      }),
    );
    assert.equal(badHeader.status, 403);
    // The actual request: the jwt policy refuses it, and the reply still carries the CORS header so the script can read the 401.
    const actual = await engine.handle(req('POST', '/r/1', { origin: 'https://app.example' }));
    assert.equal(actual.status, 401);
    assert.equal(actual.headers['access-control-allow-origin'], 'https://app.example');
    assert.equal(actual.headers['vary'], 'Origin');
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('frontends: a policy runs only on the front ends it names; the plugin never sees the key; a bad value is a file:line problem', async () => {
  const seen: unknown[] = [];
  const dir = await folder({
    'p.mjs': `export default { optionsSchema: { type: 'object', additionalProperties: false, properties: { note: { type: 'string' } } },
      create(options) { return { onRequest(ctx) { ctx.responseHeaders['x-ran'] = options.note ?? 'yes'; } }; } };`,
    'm.yaml': [
      SERVICE,
      'plugins:',
      '  marker: { file: p.mjs }',
      'routes:',
      '  - { id: http-only, http: GET /h, call: svc.m, policies: { marker: { note: h, frontends: [http] } } }',
      '  - { id: extproc-only, http: GET /e, call: svc.m, policies: { marker: { frontends: [ext-proc] } } }',
      '  - { id: both, http: GET /b, call: svc.m, policies: { marker: { frontends: [http, ext-proc] } } }',
    ].join('\n'),
  });
  try {
    const engine = await engineFor(dir);
    const ran = async (p: string, frontend?: 'http' | 'ext-proc') =>
      (await engine.handle({ ...req('GET', p), ...(frontend !== undefined ? { frontend } : {}) })).headers['x-ran'];
    assert.equal(await ran('/h', 'http'), 'h', 'options reach the plugin without `frontends` (its schema forbids other keys)');
    assert.equal(await ran('/h'), 'h', 'no front end named: http');
    assert.equal(await ran('/h', 'ext-proc'), undefined);
    assert.equal(await ran('/e', 'http'), undefined);
    assert.equal(await ran('/e', 'ext-proc'), 'yes');
    assert.equal(await ran('/b', 'ext-proc'), 'yes');
    assert.equal(await ran('/b', 'http'), 'yes');
    seen.push('ok');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const bad = await folder({ 'm.yaml': [SERVICE, 'policies:', '  cors: { origins: ["*"], frontends: [envoy] }'].join('\n') });
  try {
    await assert.rejects(
      loadConfigDir(bad),
      (e) => e instanceof ConfigError && /m\.yaml:7:\d+: "policies\.cors\.frontends\.0" must be one of: "http", "ext-proc"/.test(e.message),
      'input: frontends: [envoy]',
    );
  } finally {
    await rm(bad, { recursive: true, force: true });
  }
  assert.deepEqual(seen, ['ok']);
});
