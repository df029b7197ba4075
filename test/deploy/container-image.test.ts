/**
 * deploy/docker/Dockerfile cannot be built here (no container engine on these machines), so this
 * checks what can be checked: the base images are a Node LTS line, the runtime stage runs as a
 * numeric non-root user, and the runtime stage's files alone serve — the paths it copies from the
 * build stage are laid out in a temporary folder (node_modules linked, not copied) and its
 * ENTRYPOINT + CMD run from there, with the chart's arguments, against the sample mappings.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePorts } from '../support/ports.js';

const ROOT = path.resolve('.');
const dockerfile = readFileSync(path.join(ROOT, 'deploy/docker/Dockerfile'), 'utf8');
const lines = dockerfile
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const lastFrom = lines.map((l, i) => (l.startsWith('FROM ') ? i : -1)).filter((i) => i >= 0);
const runtime = lines.slice(lastFrom.at(-1));
const jsonArray = (instruction: string): string[] => {
  const line = runtime.find((l) => l.startsWith(`${instruction} `));
  assert.ok(line, `the runtime stage has ${instruction}`);
  return JSON.parse(line.slice(instruction.length + 1)) as string[];
};

describe('container image recipe deploy/docker/Dockerfile', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  /** The runtime stage's COPY --from=build paths, laid out as the image would hold them. */
  async function imageLayout(): Promise<string> {
    const app = await mkdtemp(path.join(tmpdir(), 'ferry-image-'));
    dirs.push(app);
    const copies = runtime.filter((l) => l.startsWith('COPY '));
    assert.ok(copies.length >= 3, 'the runtime stage copies its files');
    for (const line of copies) {
      const m = /^COPY --from=build \/src\/(\S+) \.\/(\S+)$/.exec(line);
      assert.ok(m, `every runtime COPY takes a path of the build stage: ${line}`);
      const [, from, to] = m;
      // node_modules is linked: the image's is pruned to production packages, which is a subset.
      if (from === 'node_modules') await symlink(path.join(ROOT, 'node_modules'), path.join(app, to!));
      else await cp(path.join(ROOT, from!), path.join(app, to!), { recursive: true });
    }
    return app;
  }

  test('both stages use a Node LTS base image with a pinned major; the runtime user is numeric and not root', () => {
    const froms = lines.filter((l) => l.startsWith('FROM '));
    assert.equal(froms.length, 2, 'a build stage and a runtime stage');
    for (const f of froms) assert.match(f, /^FROM node:(22|24)-[a-z]+-slim( AS \w+)?$/);
    const user = runtime.find((l) => l.startsWith('USER '));
    assert.match(user ?? '', /^USER [1-9]\d*:[1-9]\d*$/);
    assert.deepEqual(jsonArray('ENTRYPOINT'), ['node', 'dist/app/cli.js']);
  });

  test('the runtime stage alone lists the routes of the sample mappings (proto-derived ones included)', async () => {
    const app = await imageLayout();
    const config = await mkdtemp(path.join(tmpdir(), 'ferry-image-config-'));
    dirs.push(config);
    await cp(path.join(ROOT, 'mappings'), path.join(config, 'mappings'), { recursive: true });
    await cp(path.join(ROOT, 'idl'), path.join(config, 'idl'), { recursive: true });
    const [node, ...entry] = jsonArray('ENTRYPOINT');
    const r = spawnSync(node === 'node' ? process.execPath : node!, [...entry, 'routes', path.join(config, 'mappings')], {
      cwd: app,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /GET\s+\/accounts\/\{id\}\s+→ dubbo com\.example\.bank\.AccountService\.getAccount/);
    assert.match(r.stdout, /GET\s+\/v1\/ping\s+→ grpc example\.payments\.v1\.Payments\.Ping/);
  });

  test('the runtime stage serves with the image CMD (HTTP, admin and ext_proc ports; /healthz, /openapi.json)', async () => {
    const app = await imageLayout();
    const config = await mkdtemp(path.join(tmpdir(), 'ferry-image-config-'));
    dirs.push(config);
    await cp(path.join(ROOT, 'mappings'), path.join(config, 'mappings'), { recursive: true });
    await cp(path.join(ROOT, 'idl'), path.join(config, 'idl'), { recursive: true });
    const [node, ...entry] = jsonArray('ENTRYPOINT');
    const cmd = jsonArray('CMD').map((a) => (a === '/etc/ferry/mappings' ? path.join(config, 'mappings') : a === '0.0.0.0' ? '127.0.0.1' : a));
    const [http, admin, extProc] = await freePorts(3);
    const child = spawn(
      node === 'node' ? process.execPath : node!,
      [...entry, ...cmd, '--port', String(http), '--admin-port', String(admin), '--ext-proc-port', String(extProc), '--no-watch'],
      {
        cwd: app,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NODE_ENV: 'production', TMPDIR: config, FERRY_DRAIN_TIMEOUT_MS: '3000' },
      },
    );
    children.push(child);
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 60_000;
    let health: Response | undefined;
    while (Date.now() < deadline && child.exitCode === null) {
      health = await fetch(`http://127.0.0.1:${admin}/healthz`).catch(() => undefined);
      if (health?.ok) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(health?.status, 200, `ferry from the image layout did not come up: ${output}`);
    const openapi = (await (await fetch(`http://127.0.0.1:${admin}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    assert.ok(openapi.paths['/accounts/{id}'] && openapi.paths['/v1/ping'], 'both sample mapping files are served');
    await new Promise<void>((resolve, reject) => {
      const s = connect(extProc!, '127.0.0.1', () => {
        s.destroy();
        resolve();
      }).on('error', reject);
    });
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    assert.equal(code, 0, `SIGTERM drains and exits 0: ${output}`);
    assert.match(output, /"drainTimeoutMs":3000/, 'the drain timeout the chart sets (FERRY_DRAIN_TIMEOUT_MS) is the one used');
  });

  test('a drain timeout that is not a positive integer is refused at start (input: FERRY_DRAIN_TIMEOUT_MS=soon)', async () => {
    const app = await imageLayout();
    const [node, ...entry] = jsonArray('ENTRYPOINT');
    const r = spawnSync(
      node === 'node' ? process.execPath : node!,
      [...entry, 'serve', '--mappings', path.join(ROOT, 'mappings'), '--port', '0', '--admin-port', '0'],
      {
        cwd: app,
        encoding: 'utf8',
        env: { ...process.env, FERRY_DRAIN_TIMEOUT_MS: 'soon' },
      },
    );
    assert.notEqual(r.status, 0);
    assert.match(r.stderr + r.stdout, /FERRY_DRAIN_TIMEOUT_MS must be a positive integer, got "soon"/);
  });
});
