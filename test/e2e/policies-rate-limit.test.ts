/**
 * Cluster-wide rate limits: three `ferry serve` processes share one bucket through Debian's
 * redis-server, in front of the Java bank provider. The accepted count across all replicas stays
 * within the limit (the GCRA script runs atomically on Redis's clock, so the stated error is zero
 * beyond the refill during the run). Then Redis hangs (SIGSTOP) and dies (SIGKILL): the fail-closed
 * route answers 503 and the fail-open route lets requests through, and neither waits.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { startFerryProcess, type FerryProcess } from '../support/ferry-process.js';
import { freePort } from '../support/ports.js';
import { http } from '../support/ferry.js';

const LIMIT = 30; // per minute, burst 30: the run is short, so the refill adds at most a request or two
let provider: JavaProvider;
let redis: ChildProcess;
const replicas: FerryProcess[] = [];

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const guard = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 20_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('Ready to accept connections')) {
        clearTimeout(guard);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
  });
  return child;
}

before(async () => {
  const redisPort = await freePort();
  redis = await startRedis(redisPort);
  provider = await startJavaProvider({ name: 'bank-limits' });
  const store = `redis: "redis://127.0.0.1:${redisPort}", redisTimeout: 200ms`;
  const extra = {
    'limits.yaml': [
      'routes:',
      '  - id: limited-closed',
      '    http: GET /limited/closed',
      '    call: accounts.ping',
      `    policies: { rate-limit: { limit: ${LIMIT}, window: 1m, key: header.x-client, ${store}, redisDown: closed } }`,
      '  - id: limited-open',
      '    http: GET /limited/open',
      '    call: accounts.ping',
      `    policies: { rate-limit: { limit: 100000, window: 1s, key: header.x-client, ${store}, redisDown: open } }`,
      '',
    ].join('\n'),
  };
  for (let i = 0; i < 3; i++) replicas.push(await startFerryProcess({ dubboAddress: provider.address, extra }));
});

after(async () => {
  for (const r of replicas) await r.stop();
  redis?.kill('SIGKILL');
  await provider?.stop();
});

/**
 * A replica can report ready before its Redis client has connected, and until then its fail-closed
 * route answers 503 (no request waits for Redis). The limit is measured from when all three answer.
 */
async function untilEachReplicaReachesRedis(): Promise<void> {
  for (const [i, r] of replicas.entries()) {
    const from = performance.now();
    let last = 0;
    for (const until = performance.now() + 10_000; performance.now() < until; await new Promise((w) => setTimeout(w, 50))) {
      last = (await http(r.base, 'GET', '/limited/closed', undefined, { 'x-client': `warm-${i}` })).status;
      if (last === 200) break;
    }
    assert.equal(last, 200, `replica ${i} did not reach Redis within 10 s of being ready (last status ${last})`);
    console.log(`replica ${i} answered through Redis after ${(performance.now() - from).toFixed(0)} ms`);
  }
}

test('3 replicas × 4 clients share one limit through Redis', async () => {
  await untilEachReplicaReachesRedis();
  const started = performance.now();
  const statuses: number[] = [];
  let limitedHeaders: Headers | undefined;
  await Promise.all(
    replicas.flatMap((r) =>
      Array.from({ length: 4 }, async () => {
        for (let i = 0; i < 15; i++) {
          const res = await http(r.base, 'GET', '/limited/closed', undefined, { 'x-client': 'tenant-a' });
          statuses.push(res.status);
          if (res.status === 429) limitedHeaders ??= res.headers;
        }
      }),
    ),
  );
  const elapsedS = (performance.now() - started) / 1000;
  const accepted = statuses.filter((s) => s === 200).length;
  const refused = statuses.filter((s) => s === 429).length;
  assert.equal(accepted + refused, 180, `only 200 and 429 expected, got ${JSON.stringify(statuses.filter((s) => s !== 200 && s !== 429))}`);
  // Three separate local buckets would accept 90 at once; a shared one accepts the burst plus the refill.
  const bound = LIMIT + Math.ceil((LIMIT * elapsedS) / 60);
  console.log(`accepted ${accepted} of 180 in ${elapsedS.toFixed(1)} s (bound ${bound})`);
  assert.ok(accepted >= LIMIT && accepted <= bound, `accepted ${accepted}, expected ${LIMIT}..${bound} over ${elapsedS.toFixed(1)} s`);
  assert.ok(limitedHeaders !== undefined);
  assert.equal(limitedHeaders.get('ratelimit-policy'), `"default";q=${LIMIT};w=60`);
  assert.match(limitedHeaders.get('ratelimit') ?? '', /^"default";r=0;t=\d+$/);
  assert.ok(Number(limitedHeaders.get('retry-after')) >= 1);
  // Another key has a bucket of its own.
  assert.equal((await http(replicas[0]!.base, 'GET', '/limited/closed', undefined, { 'x-client': 'tenant-b' })).status, 200);
});

async function assertStoreDownBehaviour(when: string): Promise<void> {
  for (const r of replicas) {
    const closed = await http(r.base, 'GET', '/limited/closed', undefined, { 'x-client': 'tenant-c' });
    assert.equal(closed.status, 503, `${when}: ${closed.text}`);
    assert.equal(closed.json.code, 'FERRY_POLICY_UNAVAILABLE');
    const open = await http(r.base, 'GET', '/limited/open', undefined, { 'x-client': 'tenant-c' });
    assert.equal(open.status, 200, `${when}: ${open.text}`);
  }
}

test('Redis hung, then killed: fail-closed answers 503, fail-open lets through, no request hangs', async () => {
  for (const r of replicas) assert.equal((await http(r.base, 'GET', '/limited/open', undefined, { 'x-client': 'tenant-c' })).status, 200);
  redis.kill('SIGSTOP'); // connections stay open but nothing answers: the command timeout decides
  try {
    await assertStoreDownBehaviour('redis stopped');
  } finally {
    redis.kill('SIGCONT');
  }
  redis.kill('SIGKILL');
  await new Promise((resolve) => redis.once('exit', resolve));
  await assertStoreDownBehaviour('redis killed');
});
