/**
 * The README's first command, `npm start` (scripts/start.sh), run as a newcomer runs it: it brings
 * up the sample provider, the Python gRPC sample and Ferry with mappings/, says "ready", serves a
 * sample route, and on SIGTERM stops everything it started. Its first run also leaves the
 * provider's class-data archive for the next start. The samples listen on their fixed ports
 * (20880, 50051, 50061), as mappings/ expects; Ferry's own ports are free ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../support/ports.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const archive = join(root, 'samples', 'java-provider', 'dist', 'ferry-sample-provider.jsa');

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

test('npm start: ready, serves GET /accounts/2 from the Java provider, stops everything on SIGTERM, leaves the class archive', async () => {
  for (const port of [20880, 50051, 50061]) {
    assert.equal(await listening(port), false, `port ${port} must be free for the samples npm start brings up`);
  }
  // Without an archive, the first run's provider writes one on exit.
  rmSync(archive, { force: true });
  const [port, admin] = await freePorts(2);
  const child = spawn('bash', ['scripts/start.sh'], {
    cwd: root,
    env: { ...process.env, FERRY_PORT: String(port), FERRY_ADMIN_PORT: String(admin) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 180_000;
    while (!/==> ready: http:\/\/127\.0\.0\.1:\d+/.test(out) && child.exitCode === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(out, /==> ready: http:\/\/127\.0\.0\.1:\d+/, `npm start did not say ready within 180 s; it printed:\n${out.slice(-3000)}`);

    const r = await fetch(`http://127.0.0.1:${port}/accounts/2`);
    const body = (await r.json()) as Record<string, unknown>;
    assert.equal(r.status, 200, JSON.stringify(body));
    assert.deepEqual([body.id, body.owner, body.balance], [2, 'owner-2', '2000.50'], `GET /accounts/2 answered ${JSON.stringify(body)}`);
    const ready = await fetch(`http://127.0.0.1:${admin}/readyz`);
    assert.equal(ready.status, 200, 'the admin port is the one FERRY_ADMIN_PORT named');
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
  }
  const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))]);
  if (code === 'hung') process.kill(-child.pid!, 'SIGKILL');
  assert.equal(code, 143, `npm start did not stop on SIGTERM within 30 s (exit ${String(code)}):\n${out.slice(-2000)}`);
  for (const p of [20880, 50051, 50061, port!, admin!]) {
    assert.equal(await listening(p), false, `port ${p} is still served after npm start stopped`);
  }
  assert.ok(existsSync(archive), 'the first run left the provider class archive');
  assert.ok(statSync(archive).size > 1_000_000, `the archive is ${statSync(archive).size} bytes`);
});
