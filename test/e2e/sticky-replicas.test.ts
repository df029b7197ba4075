/**
 * Issue 5, stickiness across Ferry replicas that share a key and nothing else: two (and for key
 * rotation, three) real `ferry serve` child processes, each with its own ZooKeeper watch and its
 * own Dubbo connections, in front of two Apache Dubbo providers (samples/java-provider) that
 * register themselves in a real ZooKeeper. GET /whoami answers with the serving provider's name.
 *
 * - `accounts` has `sticky: { cookie: ferry-affinity }` (signed cookie, key from FERRY_STICKY_KEYS).
 * - `accounts-by-user` has `sticky: { hash: header.x-user-id }` (consistent hashing, no cookie).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startZooKeeper, type ZooKeeperServer } from '../support/zookeeper.js';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { spawnManaged, terminate, type ManagedProcess } from '../support/jvm-process.js';
import { createStickyCookie } from '../../src/upstream/balance/sticky-cookie.js';
import { assignKeys } from '../../src/upstream/balance/consistent-hash.js';

const KEY = 'replica-shared-key-0123456789';
const OTHER_KEY = 'some-other-replica-key-987654';
const NEW_KEY = 'rotated-in-key-abcdefghijklmn';
const COOKIE = 'ferry-affinity';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FERRY_BIN = path.join(ROOT, 'bin/ferry.js');
/**
 * Preloaded into each `ferry serve` child: when this test process goes away (its stdin pipe
 * closes), the child shuts down through its own SIGTERM path, so no replica outlives the test.
 */
const STDIN_WATCHDOG = 'data:text/javascript,process.stdin.on("end",()=>process.kill(process.pid,"SIGTERM"));process.stdin.resume();';

const mapping = (registry: string): string => `
services:
  accounts:
    protocol: dubbo
    interface: com.example.bank.AccountService
    version: 1.0.0
    registry: ${registry}
    timeout: 3s
    pool: { connections: 1 }
    sticky: { cookie: ${COOKIE} }
  accounts-by-user:
    protocol: dubbo
    interface: com.example.bank.AccountService
    version: 1.0.0
    registry: ${registry}
    timeout: 3s
    pool: { connections: 1 }
    sticky: { hash: header.x-user-id }

routes:
  - id: whoami
    http: GET /whoami
    call: accounts.whoami
    idempotent: true
  - id: whoami-by-user
    http: GET /users/whoami
    call: accounts-by-user.whoami
`;

let zk: ZooKeeperServer | undefined;
let dir = '';
let pa: JavaProvider | undefined;
let pb: JavaProvider | undefined;
const replicas: ManagedProcess[] = [];

interface Reply {
  status: number;
  /** Provider name from whoami (200 only). */
  name: string | undefined;
  setCookie: string | null;
  body: string;
}

interface Replica {
  readonly label: string;
  readonly proc: ManagedProcess;
  get(pathname: string, headers?: Record<string, string>): Promise<Reply>;
}

/** Runs `ferry serve --mappings dir --port 0` with `keys` in FERRY_STICKY_KEYS; resolves once it listens. */
async function startReplica(label: string, keys: string | undefined): Promise<Replica> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['FERRY_STICKY_KEYS'];
  // Free ports for everything a replica listens on (the admin port defaults to 9090).
  env['FERRY_ADMIN_PORT'] = '0';
  if (keys !== undefined) env['FERRY_STICKY_KEYS'] = keys;
  const proc = spawnManaged(label, process.execPath, ['--import', STDIN_WATCHDOG, FERRY_BIN, 'serve', '--mappings', dir, '--port', '0'], {
    cwd: ROOT,
    env,
  });
  replicas.push(proc);
  const [line] = await proc.waitForLine(/^\{.*"msg":"ferry listening".*\}$/, 30_000);
  const port = (JSON.parse(line) as { http: number }).http;
  const base = `http://127.0.0.1:${port}`;
  return {
    label,
    proc,
    async get(pathname, headers = {}) {
      const res = await fetch(base + pathname, { headers });
      const body = await res.text();
      let name: string | undefined;
      if (res.status === 200) name = String(JSON.parse(body));
      return { status: res.status, name, setCookie: res.headers.get('set-cookie'), body };
    },
  };
}

let r1: Replica;
let r2: Replica;

before(async () => {
  zk = await startZooKeeper();
  dir = await mkdtemp(path.join(tmpdir(), 'ferry-sticky-'));
  await writeFile(path.join(dir, 'sticky.yaml'), mapping(zk.registryUrl));
  [pa, pb] = await Promise.all([
    startJavaProvider({ name: 'pa', registry: zk.registryUrl }),
    startJavaProvider({ name: 'pb', registry: zk.registryUrl }),
  ]);
  [r1, r2] = await Promise.all([startReplica('ferry-r1', KEY), startReplica('ferry-r2', KEY)]);
  // Each replica discovers both providers on its own.
  for (const r of [r1, r2]) {
    await until(`${r.label} serves from pa and pb`, async () => {
      const names = new Set<string | undefined>();
      for (let i = 0; i < 4; i++) names.add((await r.get('/whoami')).name);
      return names.has('pa') && names.has('pb');
    });
  }
});

after(async () => {
  await Promise.all(replicas.map((p) => terminate(p, 10_000)));
  await Promise.all([pa?.kill().catch(() => {}), pb?.kill().catch(() => {})]);
  await zk?.stop();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `name=value` of a Set-Cookie header, after checking its attributes. */
function cookiePair(setCookie: string | null): string {
  assert.ok(setCookie, 'a cookie was issued');
  assert.match(setCookie, new RegExp(`^${COOKIE}=v1\\.`));
  assert.match(setCookie, /; Path=\//);
  assert.match(setCookie, /; HttpOnly/);
  assert.match(setCookie, /; SameSite=Lax/);
  return setCookie.split(';')[0]!;
}

/** A client's cookie jar for one session: sends its cookie, keeps whatever Ferry sets. */
class Session {
  cookie: string | undefined;
  constructor(cookie?: string) {
    this.cookie = cookie;
  }
  async get(r: Replica): Promise<Reply> {
    const reply = await r.get('/whoami', this.cookie === undefined ? {} : { cookie: this.cookie });
    if (reply.setCookie !== null) this.cookie = cookiePair(reply.setCookie);
    return reply;
  }
}

const addressOf = (name: string | undefined): string => (name === 'pa' ? pa!.address : name === 'pb' ? pb!.address : `unknown:${name}`);
/** The endpoint a cookie names, as a holder of KEY reads it (undefined: not valid under KEY). */
const endpointIn = (pair: string, keys = [KEY]): string | undefined => createStickyCookie({ name: COOKIE, keys, service: 'accounts' }).read(pair);

test('without a signing key a replica refuses to start, saying which setting is missing', async () => {
  const proc = spawnManaged('ferry-nokey', process.execPath, [FERRY_BIN, 'serve', '--mappings', dir, '--port', '0'], {
    cwd: ROOT,
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'FERRY_STICKY_KEYS')), FERRY_ADMIN_PORT: '0' },
  });
  replicas.push(proc);
  // tried: `ferry serve` on the sticky mapping with FERRY_STICKY_KEYS unset
  const message = /sticky\.yaml:\d+:\d+: service "accounts" uses a sticky cookie but no signing key is set .*FERRY_STICKY_KEYS/;
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([
    proc.exited,
    new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), 10_000))),
  ]);
  clearTimeout(timer);
  if (exit === 'still running') {
    const said = proc.stderrTail();
    await terminate(proc, 5000);
    assert.fail(
      `ferry serve printed ${JSON.stringify(said.trim())} but was still running 10 s later ` +
        '(the ZooKeeper client created before the failing bind keeps the process alive)',
    );
  }
  assert.equal(exit.code, 1);
  assert.match(proc.stderrTail(), message);
});

test('the same session reaches the same provider through either replica', async () => {
  const byProvider = new Map<string, Session>();
  // New sessions spread over both providers; keep one session pinned to each.
  for (let i = 0; i < 8 && byProvider.size < 2; i++) {
    const s = new Session();
    const first = await s.get(i % 2 === 0 ? r1 : r2);
    assert.equal(first.status, 200, first.body);
    assert.equal(endpointIn(s.cookie!), addressOf(first.name), 'the cookie names the provider that served');
    if (!byProvider.has(first.name!)) byProvider.set(first.name!, s);
  }
  assert.deepEqual([...byProvider.keys()].sort(), ['pa', 'pb']);
  for (const [name, s] of byProvider) {
    const cookieBefore = s.cookie;
    const seen: string[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await s.get(i % 2 === 0 ? r2 : r1);
      assert.equal(r.status, 200, r.body);
      assert.equal(r.setCookie, null, 'a valid cookie is not re-issued');
      seen.push(r.name!);
    }
    assert.deepEqual(seen, Array(12).fill(name), `session pinned to ${name}`);
    assert.equal(s.cookie, cookieBefore);
  }
});

test('a forged, foreign, expired or garbled cookie does not steer traffic and gets a fresh cookie', async () => {
  const pbId = pb!.address;
  const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64url');
  // A genuine cookie naming pa, to tamper with.
  let genuineForPa = '';
  for (let i = 0; i < 6 && genuineForPa === ''; i++) {
    const r = await r1.get('/whoami');
    if (r.name === 'pa') genuineForPa = cookiePair(r.setCookie);
  }
  assert.notEqual(genuineForPa, '');
  const [, paValue] = genuineForPa.split('=') as [string, string];
  const paParts = paValue.split('.');

  const forged: Array<[string, string]> = [
    ['signed with another key, naming pb', createStickyCookie({ name: COOKIE, keys: [OTHER_KEY], service: 'accounts' }).issue(pbId)],
    [
      'genuine cookie for pa with its endpoint id swapped for pb (signature kept)',
      `${COOKIE}=${[paParts[0], b64(pbId), paParts[2], paParts[3]].join('.')}`,
    ],
    [
      'signed with the real key but for another service, naming pb',
      createStickyCookie({ name: COOKIE, keys: [KEY], service: 'payments' }).issue(pbId),
    ],
    [
      'signed with the real key, naming pb, expired an hour ago',
      createStickyCookie({ name: COOKIE, keys: [KEY], service: 'accounts', maxAgeSeconds: 60, now: () => Date.now() - 3_600_000 }).issue(pbId),
    ],
    ['unsigned (three parts), naming pb', `${COOKIE}=v1.${b64(pbId)}.0`],
    ['garbage signature, naming pb', `${COOKIE}=v1.${b64(pbId)}.0.${'A'.repeat(43)}`],
    ['garbage', `${COOKIE}=garbage`],
  ].map(([what, setCookie]) => [what!, setCookie!.split(';')[0]!]);

  for (const [what, cookie] of forged) {
    assert.equal(endpointIn(cookie), undefined, `${what}: not valid under the shared key`);
    const names: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await (i % 2 === 0 ? r1 : r2).get('/whoami', { cookie });
      assert.equal(r.status, 200, `GET /whoami with a cookie ${what}: ${r.body}`);
      names.push(r.name!);
      // Ignored, so a fresh, valid cookie naming the provider that actually served is issued.
      const fresh = cookiePair(r.setCookie);
      assert.equal(endpointIn(fresh), addressOf(r.name), `${what}: the fresh cookie names the serving provider`);
    }
    assert.ok(names.includes('pa'), `a cookie ${what} steered every call to pb: ${names.join(',')}`);
  }
});

test('after key rotation a replica still honours cookies signed with the old key', async () => {
  const r3 = await startReplica('ferry-r3-rotated', `${NEW_KEY},${KEY}`);
  try {
    await until('r3 discovered both providers', async () => {
      const names = new Set<string | undefined>();
      for (let i = 0; i < 4; i++) names.add((await r3.get('/whoami')).name);
      return names.has('pa') && names.has('pb');
    });
    for (const name of ['pa', 'pb']) {
      const s = new Session();
      for (let i = 0; i < 8 && (s.cookie === undefined || endpointIn(s.cookie) !== addressOf(name)); i++) {
        s.cookie = undefined;
        await s.get(r1);
      }
      assert.equal(endpointIn(s.cookie!), addressOf(name), `got an old-key session on ${name}`);
      for (let i = 0; i < 4; i++) {
        const r = await s.get(r3);
        assert.equal(r.name, name, 'the rotated replica honours the old key');
        assert.equal(r.setCookie, null);
      }
    }
    // A cookie r3 issues is signed with the new key: r3 honours it, a replica that has only the old key does not.
    const fresh = cookiePair((await r3.get('/whoami')).setCookie);
    assert.equal(endpointIn(fresh), undefined, 'signed with the new key, not the old');
    const target = endpointIn(fresh, [NEW_KEY]);
    for (let i = 0; i < 4; i++) {
      const r = await r3.get('/whoami', { cookie: fresh });
      assert.equal(addressOf(r.name), target);
      assert.equal(r.setCookie, null);
    }
    const oldOnly = await r1.get('/whoami', { cookie: fresh });
    assert.ok(oldOnly.setCookie !== null, 'a replica with only the old key ignores a new-key cookie and issues its own');
    assert.equal(endpointIn(cookiePair(oldOnly.setCookie)), addressOf(oldOnly.name));
  } finally {
    await terminate(r3.proc, 10_000);
  }
});

test('hash stickiness: the same user id reaches the same provider through both replicas', async () => {
  const users = Array.from({ length: 200 }, (_, i) => `user-${i}`);
  const predicted = assignKeys(
    'maglev',
    [pa!, pb!].map((p) => ({ id: p.address, weight: 100 })),
    users,
  );
  const counts: Record<string, number> = {};
  for (let i = 0; i < users.length; i++) {
    const headers = { 'x-user-id': users[i]! };
    const answers: string[] = [];
    for (const r of [r1, r2, r1, r2]) {
      const reply = await r.get('/users/whoami', headers);
      assert.equal(reply.status, 200, reply.body);
      assert.equal(reply.setCookie, null, 'hash stickiness sets no cookie');
      answers.push(reply.name!);
    }
    assert.deepEqual(answers, Array(4).fill(answers[0]), `x-user-id ${users[i]} went to ${answers.join(',')}`);
    assert.equal(addressOf(answers[0]), predicted[i], `x-user-id ${users[i]} lands where the Maglev table puts it`);
    counts[answers[0]!] = (counts[answers[0]!] ?? 0) + 1;
  }
  console.log(`200 user ids over 2 providers (hash on x-user-id, both replicas agree): ${JSON.stringify(counts)}`);
  assert.ok((counts['pa'] ?? 0) > 0 && (counts['pb'] ?? 0) > 0);
  // Without the header the call still works (least-pending fallback).
  const none = await r1.get('/users/whoami');
  assert.equal(none.status, 200, none.body);
});

test("when the cookie's provider is killed, the session moves and the re-issued cookie is honoured by both replicas", async () => {
  // One session pinned to pb through r1.
  let s = new Session();
  for (let i = 0; i < 8; i++) {
    s = new Session();
    if ((await s.get(r1)).name === 'pb') break;
  }
  assert.equal(endpointIn(s.cookie!), pb!.address);
  const oldCookie = s.cookie!;

  await pb!.kill();
  // First call after the kill, through r2: the route is idempotent, so even a call that reached the
  // dead connection is re-sent to pa; either way the reply comes from pa with a new cookie.
  const moved = await s.get(r2);
  assert.equal(moved.status, 200, `GET /whoami with pb's cookie right after pb was killed: ${moved.body}`);
  assert.equal(moved.name, 'pa');
  assert.notEqual(s.cookie, oldCookie, 'the cookie was re-issued');
  assert.equal(endpointIn(s.cookie!), pa!.address);
  // The old cookie through r1 (which has seen nothing of this session's move) also lands on pa.
  const viaR1 = await r1.get('/whoami', { cookie: oldCookie });
  assert.equal(viaR1.status, 200, viaR1.body);
  assert.equal(viaR1.name, 'pa');
  assert.equal(endpointIn(cookiePair(viaR1.setCookie)), pa!.address);
  // The re-issued cookie is honoured by both replicas, with nothing re-issued.
  for (let i = 0; i < 8; i++) {
    const r = await s.get(i % 2 === 0 ? r1 : r2);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.name, 'pa');
    assert.equal(r.setCookie, null);
  }
});
