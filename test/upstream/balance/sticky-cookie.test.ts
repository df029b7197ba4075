import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStickyCookie, hashKeyFrom, parseStickyKeys } from '../../../src/upstream/balance/sticky-cookie.js';
import { FerryError } from '../../../src/errors/index.js';
import type { GatewayRequest } from '../../../src/exchange/index.js';

const K1 = 'k1-0123456789abcdef-secret';
const K2 = 'k2-fedcba9876543210-secret';

/** The `name=value` part of a Set-Cookie value, as a browser would send it back. */
const sendBack = (setCookie: string) => setCookie.split(';')[0]!;

test('issue → read round trip; attributes HttpOnly, SameSite=Lax, Path=/, Max-Age', () => {
  const c = createStickyCookie({ name: 'ferry-affinity', keys: [K1], service: 'accounts', maxAgeSeconds: 600 });
  const set = c.issue('10.0.0.7:20880');
  assert.match(set, /^ferry-affinity=v1\.[A-Za-z0-9_-]+\.\d+\.[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=600$/);
  assert.equal(c.read(sendBack(set)), '10.0.0.7:20880');
  assert.equal(c.read(`other=1; ${sendBack(set)}; more=2`), '10.0.0.7:20880');
  assert.equal(c.read(['a=b', sendBack(set)]), '10.0.0.7:20880');
  assert.equal(c.readFrom({ cookie: sendBack(set) }), '10.0.0.7:20880');
  assert.equal(c.read(undefined), undefined);
  assert.equal(c.readFrom({}), undefined);
  const session = createStickyCookie({ name: 's', keys: [K1], service: 'accounts', secure: true });
  assert.match(session.issue('[::1]:1'), /; HttpOnly; SameSite=Lax; Secure$/);
  assert.equal(session.read(sendBack(session.issue('[::1]:1'))), '[::1]:1');
});

test('two replicas sharing a key honour each other; a replica with another key does not', () => {
  const a = createStickyCookie({ name: 'aff', keys: [K1], service: 'accounts' });
  const b = createStickyCookie({ name: 'aff', keys: [K1], service: 'accounts' });
  const other = createStickyCookie({ name: 'aff', keys: [K2], service: 'accounts' });
  const cookie = sendBack(a.issue('10.0.0.1:20880'));
  assert.equal(b.read(cookie), '10.0.0.1:20880');
  assert.equal(other.read(cookie), undefined);
});

test('rotation: the first key signs, every key verifies; a dropped key stops verifying', () => {
  const old = createStickyCookie({ name: 'aff', keys: [K1], service: 'accounts' });
  const rotated = createStickyCookie({ name: 'aff', keys: [K2, K1], service: 'accounts' });
  const afterRotation = createStickyCookie({ name: 'aff', keys: [K2], service: 'accounts' });
  const oldCookie = sendBack(old.issue('h:1'));
  assert.equal(rotated.read(oldCookie), 'h:1');
  const newCookie = sendBack(rotated.issue('h:2'));
  assert.equal(afterRotation.read(newCookie), 'h:2');
  assert.equal(old.read(newCookie), undefined);
  assert.equal(afterRotation.read(oldCookie), undefined);
});

test('tampered, foreign-service, expired and garbled cookies are ignored', () => {
  let now = 1_700_000_000_000;
  const c = createStickyCookie({ name: 'aff', keys: [K1], service: 'accounts', maxAgeSeconds: 60, now: () => now });
  const value = sendBack(c.issue('10.0.0.1:20880')).slice('aff='.length);
  const [v, id, exp, sig] = value.split('.') as [string, string, string, string];
  const forgedId = Buffer.from('10.0.0.2:20880').toString('base64url');
  const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
  const tries: Array<[string, string]> = [
    ['endpoint id swapped, signature kept', `${v}.${forgedId}.${exp}.${sig}`],
    ['signature altered', `${v}.${id}.${exp}.${flip(sig)}`],
    ['expiry extended', `${v}.${id}.${Number(exp) + 3600}.${sig}`],
    ['expiry removed (0)', `${v}.${id}.0.${sig}`],
    ['unknown version', `v2.${id}.${exp}.${sig}`],
    ['missing part', `${v}.${id}.${sig}`],
    ['plain endpoint id', '10.0.0.2:20880'],
    ['empty', ''],
    ['signature too short', `${v}.${id}.${exp}.${sig.slice(0, 20)}`],
    ['non-base64 id', `${v}.%%%.${exp}.${sig}`],
  ];
  for (const [what, forged] of tries) assert.equal(c.read(`aff=${forged}`), undefined, what);
  // another service's cookie, same key and name
  const payments = createStickyCookie({ name: 'aff', keys: [K1], service: 'payments', maxAgeSeconds: 60, now: () => now });
  assert.equal(payments.read(`aff=${value}`), undefined, 'foreign service');
  // a forged first cookie does not hide a valid second one
  assert.equal(c.read(`aff=${v}.${forgedId}.${exp}.${sig}; aff=${value}`), '10.0.0.1:20880');
  // expiry is enforced from the signed value, not just by the browser
  assert.equal(c.read(`aff=${value}`), '10.0.0.1:20880');
  now += 61_000;
  assert.equal(c.read(`aff=${value}`), undefined, 'expired');
});

test('bad options fail at load time', () => {
  // inputs tried: no key, a short key, a bad cookie name, a zero max-age
  const bad: Array<[string, () => unknown]> = [
    ['no key', () => createStickyCookie({ name: 'aff', keys: [], service: 's' })],
    ['short key', () => createStickyCookie({ name: 'aff', keys: ['short'], service: 's' })],
    ['bad name', () => createStickyCookie({ name: 'a ff;', keys: [K1], service: 's' })],
    ['max-age 0', () => createStickyCookie({ name: 'aff', keys: [K1], service: 's', maxAgeSeconds: 0 })],
  ];
  for (const [what, f] of bad) {
    assert.throws(f, (e: unknown) => e instanceof FerryError && e.code === 'FERRY_CONFIG_INVALID', what);
  }
});

test('FERRY_STICKY_KEYS parsing', () => {
  assert.deepEqual(parseStickyKeys(` ${K2} ,${K1},,`), [K2, K1]);
  assert.deepEqual(parseStickyKeys(undefined), []);
  assert.deepEqual(parseStickyKeys(''), []);
});

const req = (headers: Record<string, string | string[]>, rawQuery = ''): GatewayRequest => ({
  method: 'GET',
  path: '/x',
  rawQuery,
  headers,
  body: undefined,
});

test('hashKeyFrom: header, query and cookie sources', () => {
  assert.equal(hashKeyFrom('header.X-User-Id')(req({ 'x-user-id': 'u1' })), 'u1');
  assert.equal(hashKeyFrom('header.x-user-id')(req({ 'x-user-id': ['u2', 'u3'] })), 'u2');
  assert.equal(hashKeyFrom('header.x-user-id')(req({})), undefined);
  assert.equal(hashKeyFrom('header.x-user-id')(req({ 'x-user-id': '' })), undefined);
  assert.equal(hashKeyFrom('query.user')(req({}, 'a=1&user=u%204&user=u5')), 'u 4');
  assert.equal(hashKeyFrom('query.user')(req({}, 'a=1')), undefined);
  assert.equal(hashKeyFrom('query.user')(req({})), undefined);
  assert.equal(hashKeyFrom('cookie.sid')(req({ cookie: 'a=1; sid=abc' })), 'abc');
  assert.equal(hashKeyFrom('cookie.sid')(req({ cookie: 'a=1' })), undefined);
});

test('hashKeyFrom rejects unknown sources at load time', () => {
  // inputs tried: a path source, a body source, a bare kind, no dot
  for (const s of ['path.id', 'body.user', 'header.', 'header']) {
    assert.throws(
      () => hashKeyFrom(s),
      (e: unknown) => e instanceof FerryError && e.code === 'FERRY_CONFIG_INVALID',
      s,
    );
  }
});

test('createStickiness: cookie policy re-issues only when the call went elsewhere; hash policy gives the key', async () => {
  const { createStickiness } = await import('../../../src/upstream/balance/sticky-cookie.js');
  const { balanceKindFor } = await import('../../../src/upstream/balance/create-balancer.js');
  assert.equal(createStickiness({ service: 's' }), undefined);
  const policy = createStickiness({ service: 'accounts', cookie: 'aff', keys: [K1] })!;
  assert.equal(policy.hint(req({})), undefined);
  const first = policy.replyHeaders(undefined, 'h:1')!['set-cookie']!;
  const hint = policy.hint(req({ cookie: sendBack(first) }));
  assert.deepEqual(hint, { preferredId: 'h:1' });
  assert.equal(policy.replyHeaders(hint, 'h:1'), undefined, 'honoured: nothing to re-issue');
  const moved = policy.replyHeaders(hint, 'h:2')!['set-cookie']!;
  assert.equal(createStickyCookie({ name: 'aff', keys: [K1], service: 'accounts' }).read(sendBack(moved)), 'h:2');
  // a forged cookie gives no preference
  assert.equal(policy.hint(req({ cookie: 'aff=v1.aDox.0.' + 'A'.repeat(43) })), undefined);

  const hash = createStickiness({ service: 'accounts', hashOn: 'header.x-user-id' })!;
  assert.deepEqual(hash.hint(req({ 'x-user-id': 'u7' })), { hashKey: 'u7' });
  assert.equal(hash.replyHeaders({}, 'h:1'), undefined);
  // cookie stickiness without a key is a load error
  assert.throws(() => createStickiness({ service: 'accounts', cookie: 'aff', keys: [] }), FerryError);

  assert.equal(balanceKindFor({ balance: 'round-robin', sticky: { hashOn: 'header.x' } }), 'consistent-hash');
  assert.equal(balanceKindFor({ balance: 'round-robin', sticky: { cookie: 'aff' } }), 'round-robin');
  assert.equal(balanceKindFor({ balance: 'least-pending' }), 'least-pending');
});
