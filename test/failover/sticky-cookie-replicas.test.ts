/**
 * Signed-cookie stickiness across two replica processes that share a key and nothing else, in front
 * of two real Apache Dubbo providers. The replicas are test/failover/sticky-replica.ts (client +
 * cookie layer behind a bare HTTP server), because `ferry serve` does not wire stickiness yet.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';

const KEY = 'replica-shared-key-0123456789';
const OTHER_KEY = 'some-other-replica-key-987654';

let pa: JavaProvider;
let pb: JavaProvider;
const children: ChildProcess[] = [];

interface Replica {
  port: number;
  get(cookie?: string): Promise<{ name: string; endpoint: string; setCookie: string | null }>;
}

async function startReplica(key: string): Promise<Replica> {
  const script = fileURLToPath(new URL('./sticky-replica.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, `${pa.address},${pb.address}`], {
    env: { ...process.env, FERRY_STICKY_KEYS: key },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('replica did not start')), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /REPLICA READY (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => reject(new Error(`replica exited with ${code}`)));
  });
  return {
    port,
    async get(cookie) {
      const res = await fetch(`http://127.0.0.1:${port}/whoami`, cookie ? { headers: { cookie } } : {});
      assert.equal(res.status, 200, await res.clone().text());
      const body = (await res.json()) as { name: string; endpoint: string };
      return { ...body, setCookie: res.headers.get('set-cookie') };
    },
  };
}

const cookiePair = (setCookie: string | null): string => {
  assert.ok(setCookie, 'a cookie was issued');
  return setCookie.split(';')[0]!;
};

let r1: Replica;
let r2: Replica;
let foreign: Replica;

before(async () => {
  [pa, pb] = await Promise.all([startJavaProvider({ name: 'pa' }), startJavaProvider({ name: 'pb' })]);
  [r1, r2, foreign] = await Promise.all([startReplica(KEY), startReplica(KEY), startReplica(OTHER_KEY)]);
});

after(async () => {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.stdin?.end();
        }),
    ),
  );
  await Promise.all([pa?.kill().catch(() => {}), pb?.kill().catch(() => {})]);
});

test('the same session reaches the same provider through either replica', async () => {
  const first = await r1.get();
  const cookie = cookiePair(first.setCookie);
  const seen: string[] = [];
  for (let i = 0; i < 10; i++) {
    const r = await (i % 2 === 0 ? r2 : r1).get(cookie);
    seen.push(r.name);
    assert.equal(r.setCookie, null, 'a valid cookie is not re-issued');
  }
  assert.deepEqual(seen, Array(10).fill(first.name));
  // without the cookie, round-robin spreads calls over both providers
  const free = new Set<string>();
  for (let i = 0; i < 4; i++) free.add((await r2.get()).name);
  assert.deepEqual([...free].sort(), ['pa', 'pb']);
});

test('a forged or foreign cookie does not steer traffic', async () => {
  // A cookie from a replica with another key, naming pb: well-formed, wrongly signed.
  let foreignCookie = '';
  for (let i = 0; i < 4 && foreignCookie === ''; i++) {
    const r = await foreign.get();
    if (r.name === 'pb') foreignCookie = cookiePair(r.setCookie);
  }
  assert.notEqual(foreignCookie, '');
  // A cookie from our replicas naming pa, with its endpoint id swapped for pb's (signature kept).
  let genuineForPa = '';
  for (let i = 0; i < 4 && genuineForPa === ''; i++) {
    const r = await r1.get();
    if (r.name === 'pa') genuineForPa = cookiePair(r.setCookie);
  }
  const [name, value] = genuineForPa.split('=') as [string, string];
  const parts = value.split('.');
  parts[1] = Buffer.from(pb.address).toString('base64url');
  const tampered = `${name}=${parts.join('.')}`;

  for (const [what, cookie] of [
    ['foreign-key cookie naming pb', foreignCookie],
    ['tampered cookie naming pb', tampered],
  ] as const) {
    const names: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await (i % 2 === 0 ? r1 : r2).get(cookie);
      names.push(r.name);
      assert.ok(r.setCookie !== null, `${what}: ignored, so a new cookie is issued`);
    }
    assert.ok(names.includes('pa'), `${what} steered every call to pb: ${names.join(',')}`);
  }
});

test('when the cookie\'s provider is gone, another is chosen and the cookie re-issued', async () => {
  let cookieForPb = '';
  for (let i = 0; i < 4 && cookieForPb === ''; i++) {
    const r = await r1.get();
    if (r.name === 'pb') cookieForPb = cookiePair(r.setCookie);
  }
  assert.notEqual(cookieForPb, '');
  await pb.kill();
  // The replicas notice the dead connection; calls then go to pa with a fresh cookie.
  let moved: Awaited<ReturnType<Replica['get']>> | undefined;
  const end = Date.now() + 15_000;
  while (moved === undefined && Date.now() < end) {
    try {
      const r = await r2.get(cookieForPb);
      if (r.name === 'pa') moved = r;
    } catch {
      // a call in flight when pb died may fail; the next one goes elsewhere
    }
  }
  assert.ok(moved, 'the session moved to pa');
  const fresh = cookiePair(moved.setCookie);
  for (const r of [r1, r2]) {
    const again = await r.get(fresh);
    assert.equal(again.name, 'pa');
    assert.equal(again.setCookie, null);
  }
});
