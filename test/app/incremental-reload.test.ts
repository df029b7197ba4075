/**
 * Incremental reload (loadConfigDir with `previous`, buildEngine with `previous`): files whose bytes
 * did not change are neither parsed nor compiled again, and a Dubbo route keeps its bound handler
 * when nothing it was compiled from changed: its route and service, the content of every declared
 * type it resolves, the config's enum classes. Each test compares the incremental result with a
 * load of the same folder from scratch, and reads what was redone from loadStats / bindStats.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfigDir, loadStats } from '../../src/config/loader.js';
import type { FerryConfig } from '../../src/config/types.js';
import { buildEngine, type BuiltEngine } from '../../src/app/main.js';
import { bindStats } from '../../src/gateway/engine.js';
import { mappingSet, serviceFile, serviceFileName, sharedTypes } from '../support/mapping-set.js';

const ENDPOINT = '127.0.0.1:20880';
const FILES = 12;
const ROUTES = 10;
const noClients = {
  clientFor: () => {
    throw new Error('these tests call no upstream');
  },
};

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ferry-incremental-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fresh folder holding `files`. */
async function folder(name: string, files: Record<string, string>): Promise<string> {
  const d = path.join(dir, name);
  await rm(d, { recursive: true, force: true });
  await mkdir(d);
  for (const [file, text] of Object.entries(files)) await writeFile(path.join(d, file), text);
  return d;
}

/** Loads and binds `d` incrementally from `previous`, and from scratch; asserts both give the same config. */
async function reload(d: string, previous: BuiltEngine): Promise<BuiltEngine> {
  const config = await loadConfigDir(d, { previous: previous.config });
  const built = buildEngine(config, { ...noClients, previous: previous.engine });
  const scratch = await loadConfigDir(d);
  assert.deepEqual(config, scratch, 'the incremental config equals the one loaded from scratch');
  assert.deepEqual(
    built.engine.routes.map((r) => r.id),
    buildEngine(scratch, noClients).engine.routes.map((r) => r.id),
    'the same routes in the same order',
  );
  return built;
}

async function first(d: string): Promise<BuiltEngine> {
  return buildEngine(await loadConfigDir(d), noClients);
}

function work(built: BuiltEngine): Record<string, number> {
  const l = loadStats(built.config)!;
  const b = bindStats(built.engine)!;
  return { filesParsed: l.filesParsed, routesCompiled: l.routesCompiled, routesReused: l.routesReused, bound: b.bound, reused: b.reused };
}

test(`one of ${FILES} service files edited (its route paths changed): only that file is parsed, and only its ${ROUTES} routes are compiled and bound`, async () => {
  const d = await folder('one-edited', mappingSet(FILES, ROUTES, ENDPOINT));
  const v1 = await first(d);
  assert.equal(loadStats(v1.config)?.filesParsed, FILES + 1, 'the first load parses every file');
  await writeFile(path.join(d, serviceFileName(3)), serviceFile(3, ROUTES, ENDPOINT, 'x'));
  const v2 = await reload(d, v1);
  assert.deepEqual(work(v2), {
    filesParsed: 1,
    routesCompiled: ROUTES,
    routesReused: (FILES - 1) * ROUTES,
    bound: ROUTES,
    reused: (FILES - 1) * ROUTES,
  });
  assert.ok(
    v2.engine.match('GET', '/svc3x/r0/7') !== undefined && v2.engine.match('GET', '/svc3/r0/7') === undefined,
    'the edited routes serve their new paths only',
  );
  const other = v2.config.routes.find((r) => r.id === 'svc4-get-0');
  assert.equal(
    other,
    v1.config.routes.find((r) => r.id === 'svc4-get-0'),
    'a route of an unchanged file is the same compiled object',
  );
  // Nothing changed since: nothing is redone.
  const v3 = await reload(d, v2);
  assert.deepEqual(work(v3), { filesParsed: 0, routesCompiled: 0, routesReused: FILES * ROUTES, bound: 0, reused: FILES * ROUTES });
});

test('a field added to the shared type the GET routes return rebinds those routes only (POST routes take another type); an enum change rebinds every route that reaches it', async () => {
  const d = await folder('shared-type', mappingSet(FILES, ROUTES, ENDPOINT));
  const v1 = await first(d);
  await writeFile(path.join(d, 'types.yaml'), sharedTypes('nickname'));
  const v2 = await reload(d, v1);
  const gets = FILES * Math.ceil(ROUTES / 2);
  assert.deepEqual(work(v2), { filesParsed: 1, routesCompiled: 0, routesReused: FILES * ROUTES, bound: gets, reused: FILES * ROUTES - gets });
  // Currency (an enum) is reached from Money (POST bodies) and from Account (GET replies): every route.
  await writeFile(path.join(d, 'types.yaml'), sharedTypes('nickname').replace('enum: [CNY, USD, EUR]', 'enum: [CNY, USD, EUR, JPY]'));
  const v3 = await reload(d, v2);
  assert.equal(work(v3).bound, FILES * ROUTES, 'every route reaches Currency');
  assert.equal(work(v3).reused, 0, 'none is kept');
});

test('a service whose retries change in its own file recompiles the routes of another file that call it (they inherit retries), and rebinds them', async () => {
  const service = (retries: number): string =>
    `services:\n  shared:\n    protocol: dubbo\n    interface: com.example.Shared\n    endpoints: [${ENDPOINT}]\n    retries: ${retries}\n`;
  const routes = 'routes:\n' + [0, 1, 2].map((i) => `  - { id: s-${i}, http: GET /s/${i}, call: shared.get }\n`).join('');
  const d = await folder('cross-file-service', { 'a-service.yaml': service(1), 'b-routes.yaml': routes, ...mappingSet(2, 4, ENDPOINT) });
  const v1 = await first(d);
  await writeFile(path.join(d, 'a-service.yaml'), service(3));
  const v2 = await reload(d, v1);
  assert.deepEqual(work(v2), { filesParsed: 2, routesCompiled: 3, routesReused: 8, bound: 3, reused: 8 });
  assert.deepEqual(
    v2.config.routes.filter((r) => r.serviceName === 'shared').map((r) => r.retries),
    [3, 3, 3],
    'the routes took the new retries',
  );
});

test('a route id that an edited file now repeats from an unchanged file is refused with the message a load from scratch gives; the next good reload still reuses the old config', async () => {
  const d = await folder('duplicate', mappingSet(4, 4, ENDPOINT));
  const v1 = await first(d);
  const clash = serviceFile(0, 4, ENDPOINT, 'x').replace('id: svc0-get-0', 'id: svc2-get-0');
  await writeFile(path.join(d, serviceFileName(0)), clash);
  const incremental = await loadConfigDir(d, { previous: v1.config }).catch((e: unknown) => e);
  const scratch = await loadConfigDir(d).catch((e: unknown) => e);
  assert.ok(incremental instanceof ConfigError && scratch instanceof ConfigError, 'both refuse the folder');
  assert.deepEqual(incremental.problems, scratch.problems, 'with the same problems');
  assert.match(incremental.message, /route id "svc2-get-0" is used twice/);
  // The refused load left the old config's reuse intact.
  await writeFile(path.join(d, serviceFileName(0)), serviceFile(0, 4, ENDPOINT, 'x'));
  const v2 = await reload(d, v1);
  assert.deepEqual(work(v2), { filesParsed: 1, routesCompiled: 4, routesReused: 12, bound: 4, reused: 12 });
});

test('a file with a YAML error among unchanged ones is refused naming it; the previous config is untouched', async () => {
  const d = await folder('broken', mappingSet(4, 4, ENDPOINT));
  const v1 = await first(d);
  await writeFile(path.join(d, serviceFileName(1)), 'services: [\n');
  await assert.rejects(loadConfigDir(d, { previous: v1.config }), (e: unknown) => e instanceof ConfigError && /svc-001\.yaml/.test(e.message));
  assert.equal(v1.config.routes.length, 16, 'the old config still holds its routes');
});

test('a service reading its token from the environment (input: token: { env: X }) is compiled again at every reload, so a changed variable is taken', async () => {
  const svc = `services:\n  secret:\n    protocol: dubbo\n    interface: com.example.Secret\n    endpoints: [${ENDPOINT}]\n    token: { env: FERRY_TEST_INCREMENTAL_TOKEN }\nroutes:\n  - { id: secret-get, http: GET /secret, call: secret.get }\n`;
  process.env['FERRY_TEST_INCREMENTAL_TOKEN'] = 'first';
  try {
    const d = await folder('env-token', { 'secret.yaml': svc, ...mappingSet(2, 2, ENDPOINT) });
    const v1 = await first(d);
    process.env['FERRY_TEST_INCREMENTAL_TOKEN'] = 'second';
    const v2 = await reload(d, v1);
    const token = (c: FerryConfig): unknown => (c.services.get('secret') as { token?: string }).token;
    assert.equal(token(v1.config), 'first');
    assert.equal(token(v2.config), 'second', 'the new value is read');
    assert.deepEqual(work(v2), { filesParsed: 1, routesCompiled: 1, routesReused: 4, bound: 1, reused: 4 });
  } finally {
    delete process.env['FERRY_TEST_INCREMENTAL_TOKEN'];
  }
});
