/**
 * `ferry import --reflection` and run-time `reflection:` against a hostile reflection server
 * (test/support/hostile-reflection.ts, over a real loopback HTTP/2 socket): a server that hangs, one
 * that answers garbage, an error_response, a descriptor importing a file the server does not have,
 * a never-ending stream of responses, and more descriptor files (and bytes) than the budget. Each
 * is a coded error (FERRY_SIGNATURE_SOURCE_INVALID) naming what went wrong, within the timeout, and
 * nothing is written. A server with only grpc.reflection.v1alpha is imported through the fallback.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { runReflectionImport } from '../../src/app/import-reflection.js';
import { startFerry, validateMappings } from '../../src/app/main.js';
import { SignatureSourceError } from '../../src/errors/index.js';
import { startHostileReflection, type HostileReflection, type HostileReflectionMode } from '../support/hostile-reflection.js';
import { http } from '../support/ferry.js';

let dir: string;
const servers: HostileReflection[] = [];

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ferry-reflection-hostile-'));
});

after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

async function hostile(mode: HostileReflectionMode, opts: { hugeFiles?: number } = {}): Promise<HostileReflection> {
  const s = await startHostileReflection(mode, opts);
  servers.push(s);
  return s;
}

/** Imports from `server` into a fresh folder; resolves with the error and what the folder holds after. */
async function importFails(server: HostileReflection, budgets: { timeoutMs?: number; maxBytes?: number; maxFiles?: number } = {}) {
  const out = await mkdtemp(path.join(dir, 'out-'));
  const started = Date.now();
  const err = await runReflectionImport({ address: server.address, out: path.join(out, 'svc.yaml'), budgets }).then(
    () => assert.fail('the import should have failed'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof SignatureSourceError, `a SignatureSourceError, got ${String(err)}`);
  assert.equal(err.code, 'FERRY_SIGNATURE_SOURCE_INVALID');
  return { message: err.message, files: await readdir(out), ms: Date.now() - started };
}

test('a reflection server that accepts the stream and never answers: a coded error within the timeout, nothing written', async () => {
  const s = await hostile('hang');
  const r = await importFails(s, { timeoutMs: 400 });
  assert.match(r.message, /did not answer within 400 ms/);
  assert.ok(r.ms < 5000, `gave up within the timeout (took ${r.ms} ms)`);
  assert.deepEqual(r.files, [], 'no file (nor a temporary one) is left');
  assert.ok(s.streams.length >= 1, 'the stream was opened');
});

test('the command line: ferry import --reflection against a hanging server exits 1 with one line, within --timeout-ms', async () => {
  const s = await hostile('hang');
  const out = await mkdtemp(path.join(dir, 'cli-'));
  const started = Date.now();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/app/cli.ts', 'import', '--reflection', s.address, '--out', path.join(out, 'x.yaml'), '--timeout-ms', '300'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 1, `exit 1 (stderr: ${stderr})`);
  assert.match(stderr, /^ferry: .*did not answer within 300 ms\n$/);
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  assert.deepEqual(await readdir(out), [], 'nothing written');
  assert.ok(Date.now() - started < 30_000, 'the command returned');
});

test('garbage instead of a ServerReflectionResponse is refused, naming it', async () => {
  const r = await importFails(await hostile('garbage'), { timeoutMs: 5000 });
  assert.match(r.message, /not valid protobuf/);
  assert.deepEqual(r.files, []);
});

test('an error_response is reported with its code and message', async () => {
  const r = await importFails(await hostile('error'), { timeoutMs: 5000 });
  assert.match(r.message, /refused to list services \(NOT_FOUND: no such thing here\)/);
  assert.deepEqual(r.files, []);
});

test('a descriptor importing a file the server does not have names both files', async () => {
  const r = await importFails(await hostile('unknown-dependency'), { timeoutMs: 5000 });
  assert.match(r.message, /h\.proto imports missing\.proto, which the reflection service does not have \(NOT_FOUND: file missing\.proto not found\)/);
  assert.deepEqual(r.files, []);
});

test('a never-ending stream of responses is cut at the first one nobody asked for', async () => {
  const s = await hostile('flood');
  const r = await importFails(s, { timeoutMs: 5000 });
  assert.match(r.message, /more responses than it was asked for \(1\)/);
  assert.deepEqual(r.files, []);
});

test('more descriptor files than the file budget (input: 10 000 files in one answer)', async () => {
  const r = await importFails(await hostile('huge', { hugeFiles: 10_000 }), { timeoutMs: 10_000 });
  assert.match(r.message, /more than 512 descriptor files \(the budget\)/);
  assert.deepEqual(r.files, []);
});

test('more descriptor bytes than the byte budget (input: 3 000 files, budget 64 KiB)', async () => {
  const r = await importFails(await hostile('huge', { hugeFiles: 3000 }), { timeoutMs: 10_000, maxBytes: 64 * 1024 });
  assert.match(r.message, /larger than the 65536-byte budget|more than 65536 bytes of descriptors/);
  assert.deepEqual(r.files, []);
});

test('a server with only grpc.reflection.v1alpha is imported through the fallback, and the mapping validates', async () => {
  const s = await hostile('v1alpha-only');
  const out = await mkdtemp(path.join(dir, 'alpha-'));
  const r = await runReflectionImport({ address: s.address, out: path.join(out, 'h.yaml'), budgets: { timeoutMs: 5000 } });
  assert.equal(r.version, 'v1alpha');
  assert.ok(
    s.streams.some((p) => p === '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo'),
    'v1 was tried first',
  );
  assert.ok(
    s.streams.some((p) => p === '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo'),
    'then v1alpha',
  );
  assert.deepEqual((await readdir(out)).sort(), ['h.binpb', 'h.yaml']);
  const text = await readFile(path.join(out, 'h.yaml'), 'utf8');
  assert.match(text, /descriptorSet: h\.binpb/);
  assert.match(text, /http: POST \/h\.S\/Get/);
  const { engine } = await validateMappings(out);
  assert.deepEqual(
    engine.routes.map((x) => `${x.method} ${x.path}`),
    ['POST /h.S/Get'],
  );
});

test('run time: a reflection: service whose server hangs answers 503 FERRY_GRPC_SCHEMA_UNAVAILABLE and /readyz says why', async () => {
  const s = await hostile('hang');
  const mappings = await mkdtemp(path.join(dir, 'serve-'));
  await writeFile(
    path.join(mappings, 'h.yaml'),
    [
      'services:',
      '  h:',
      '    protocol: grpc',
      '    service: h.S',
      '    reflection: { timeout: 300ms }',
      `    endpoints: [${s.address}]`,
      'routes:',
      '  - id: h-get',
      '    http: POST /h/get',
      '    call: h.Get',
      '    body: "*"',
      '',
    ].join('\n'),
  );
  const started = Date.now();
  const ferry = await startFerry({ mappingsDir: mappings, port: 0, adminPort: 0, watch: false });
  try {
    assert.ok(Date.now() - started < 10_000, `start-up waited at most about the reflection timeout (${Date.now() - started} ms)`);
    const base = `http://127.0.0.1:${ferry.httpPort}`;
    const r = await http(base, 'POST', '/h/get', { text: 'x' });
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.code, 'FERRY_GRPC_SCHEMA_UNAVAILABLE');
    assert.doesNotMatch(r.text, /127\.0\.0\.1/, 'no internal address in the answer');
    const ready = await http(`http://127.0.0.1:${ferry.adminPort}`, 'GET', '/readyz');
    assert.match(ready.text, /service h: no schema from its reflection service yet/);
  } finally {
    await ferry.close();
  }
});
