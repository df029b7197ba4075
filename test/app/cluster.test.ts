/**
 * src/app/cluster.ts with real node:cluster workers (test/app/worker-fixture.ts) on one shared
 * loopback port: both workers serve, a worker killed with SIGKILL is replaced, stop() ends every
 * worker and resolves `done`; and the --workers values that parseWorkers takes and refuses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import cluster from 'node:cluster';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { parseWorkers, startClusterPrimary } from '../../src/app/cluster.js';
import { freePort } from '../support/ports.js';

async function pidsAnswering(port: number, tries: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < tries; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
      seen.add(await res.text());
    } catch {
      // a worker is starting or stopping; try again
    }
  }
  return seen;
}

test('two workers share one port, a SIGKILLed worker is replaced, stop() ends them all', async () => {
  const port = await freePort();
  cluster.setupPrimary({ exec: 'test/app/worker-fixture.ts', execArgv: ['--import', 'tsx'] });
  process.env['FERRY_TEST_PORT'] = String(port);
  const lines: string[] = [];
  const primary = startClusterPrimary({ workers: 2, installSignalHandlers: false, log: (msg) => lines.push(msg) });
  try {
    await new Promise<void>((resolve) => {
      let listening = 0;
      const on = (): void => {
        if (++listening === 2) {
          cluster.off('listening', on);
          resolve();
        }
      };
      cluster.on('listening', on);
    });
    const before = primary.workers().map((w) => String(w.process.pid));
    assert.equal(before.length, 2);
    const answered = await pidsAnswering(port, 40);
    assert.deepEqual([...answered].sort(), [...before].sort(), 'both workers answered requests');

    const victim = primary.workers()[0]!;
    const replaced = new Promise<void>((resolve) => cluster.once('listening', () => resolve()));
    victim.process.kill('SIGKILL');
    await replaced;
    const after = primary.workers().map((w) => String(w.process.pid));
    assert.equal(after.length, 2, 'the primary keeps two workers');
    assert.ok(!after.includes(String(victim.process.pid)), 'the killed worker is gone');
    assert.ok(lines.includes('worker exited; starting another'));
  } finally {
    primary.stop();
    assert.equal(await primary.done, 0);
    delete process.env['FERRY_TEST_PORT'];
  }
  assert.equal(primary.workers().length, 0, 'no worker outlives stop()');
});

test('--workers values: whole numbers 1–256, "auto" or 0 for one per core; anything else is refused', () => {
  assert.equal(parseWorkers(undefined), 1);
  assert.equal(parseWorkers('2'), 2);
  assert.equal(parseWorkers('auto'), availableParallelism());
  assert.equal(parseWorkers('0'), availableParallelism());
  for (const bad of ['-1', '1.5', 'two', '257']) assert.throws(() => parseWorkers(bad), /--workers must be/, `input ${bad}`);
});

test('ferry serve --workers 2: two worker processes answer on one port; SIGTERM stops them all', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ferry-workers-'));
  const [port, admin, nobody] = [await freePort(), await freePort(), await freePort()];
  await writeFile(
    path.join(dir, 'ping.yaml'),
    [
      'services:',
      '  s:',
      '    protocol: dubbo',
      '    interface: com.example.Ping',
      `    endpoints: [127.0.0.1:${nobody}]`,
      'routes:',
      '  - id: ping',
      '    http: GET /ping',
      '    call: s.ping',
      '',
    ].join('\n'),
  );
  const ferry = spawn(
    process.execPath,
    ['bin/ferry.js', 'serve', '--mappings', dir, '--port', String(port), '--admin-port', String(admin), '--no-watch', '--workers', '2'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const exited = once(ferry, 'exit');
  const childrenOf = (pid: number): number[] => {
    let out = '';
    for (const t of readdirSync(`/proc/${pid}/task`)) out += readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8');
    // Workers run the same script; other children (tsx's esbuild service, on Node 24 in the
    // primary too) are not workers.
    return out
      .split(' ')
      .filter(Boolean)
      .map(Number)
      .filter((c) => {
        try {
          return readFileSync(`/proc/${c}/cmdline`, 'utf8').includes('bin/ferry.js');
        } catch {
          return false;
        }
      });
  };
  try {
    let status = 0;
    for (let i = 0; i < 300 && status === 0; i++) {
      try {
        status = (await fetch(`http://127.0.0.1:${port}/nowhere`)).status;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.equal(status, 404, 'GET /nowhere on the shared port is answered by a worker (no route)');
    // Both workers listen before the primary hands them connections; wait until two children exist.
    let workers: number[] = [];
    for (let i = 0; i < 300 && workers.length < 2; i++) {
      workers = childrenOf(ferry.pid!);
      if (workers.length < 2) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(workers.length, 2, 'the primary runs two worker processes');
    ferry.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0);
    for (const w of workers) assert.throws(() => readFileSync(`/proc/${w}/stat`), `worker ${w} has exited`);
  } finally {
    if (ferry.exitCode === null) {
      ferry.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  }
});
