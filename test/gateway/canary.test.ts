/**
 * Which tag a request asks for: the first tagFrom source present, else the split (hashed on
 * splitOn's value, or drawn at random), and the Dubbo attachments that carry it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryConfig } from '../../src/config/types.js';
import { FerryError } from '../../src/errors/index.js';
import type { GatewayRequest } from '../../src/exchange/index.js';
import { addTagAttachments, canaryOf, compileCanary, MAX_TAG_LENGTH } from '../../src/gateway/canary.js';
import { RequestView } from '../../src/mapping/request-view.js';

const at = { file: 'm.yaml', line: 1, col: 1 };
const config = (over: Partial<CanaryConfig>): CanaryConfig => ({ label: 'dubbo.tag', tagFrom: [], force: false, source: at, ...over });
const view = (headers: Record<string, string> = {}, claims?: Record<string, unknown>, rawQuery = ''): RequestView => {
  const req: GatewayRequest = { method: 'GET', path: '/x', rawQuery, headers, body: undefined };
  return new RequestView(req, {}, 'fast', claims);
};

test('the first tagFrom source present names the tag (inputs: header, then cookie, then claim)', () => {
  const plan = compileCanary(config({ tagFrom: ['header.x-tag', 'cookie.tag', 'claim.tag'] }))!;
  assert.deepEqual(plan.select(view({ 'x-tag': 'gray', cookie: 'tag=blue' }, { tag: 'red' })), { label: 'dubbo.tag', tag: 'gray', force: false });
  assert.equal(plan.select(view({ 'x-tag': '', cookie: 'tag=blue' }, { tag: 'red' })).tag, 'blue', 'an empty header counts as absent');
  assert.equal(plan.select(view({}, { tag: 'red' })).tag, 'red');
  assert.equal(plan.select(view({}, { tag: 7 })).tag, '7', 'a numeric claim is its text');
  assert.equal(plan.select(view()).tag, undefined, 'nothing names a tag and there is no split: untagged');
});

test('a tag that is too long or not printable ASCII is 400 FERRY_BAD_ARGUMENT naming the source (inputs: 129 chars, a space)', () => {
  const plan = compileCanary(config({ tagFrom: ['header.x-tag'] }))!;
  for (const bad of ['g'.repeat(MAX_TAG_LENGTH + 1), 'gr ay', 'gräy']) {
    assert.throws(
      () => plan.select(view({ 'x-tag': bad })),
      (e) =>
        e instanceof FerryError && e.code === 'FERRY_BAD_ARGUMENT' && e.status === 400 && /header\.x-tag/.test(e.message) && !e.message.includes(bad),
      `tag ${JSON.stringify(bad.slice(0, 20))}`,
    );
  }
  assert.equal(plan.select(view({ 'x-tag': 'g'.repeat(MAX_TAG_LENGTH) })).tag, 'g'.repeat(MAX_TAG_LENGTH));
});

test('requests naming no tag are split by weight: random draws, or the same side per splitOn value', () => {
  let next = 0;
  const draws = [0.05, 0.5, 0.95, 0.89, 0.9];
  const random = () => draws[next++ % draws.length]!;
  const split = [
    { tag: undefined, weight: 90 },
    { tag: 'gray', weight: 10 },
  ];
  const plan = compileCanary(config({ tagFrom: ['header.x-tag'], split }), random)!;
  assert.deepEqual(
    draws.map(() => plan.select(view()).tag),
    [undefined, undefined, 'gray', undefined, 'gray'],
  );
  assert.equal(plan.select(view({ 'x-tag': 'blue' })).tag, 'blue', 'a named tag wins over the split');

  const hashed = compileCanary(config({ split, splitOn: 'claim.sub' }), () => assert.fail('a request with a splitOn value draws no random number'))!;
  let gray = 0;
  for (let i = 0; i < 2000; i++) {
    const first = hashed.select(view({}, { sub: `user-${i}` })).tag;
    assert.equal(hashed.select(view({}, { sub: `user-${i}` })).tag, first, `user-${i} stays on one side`);
    if (first === 'gray') gray++;
  }
  // Binomial(2000, 0.1): sd 13.4; 5 sd either side.
  assert.ok(gray > 133 && gray < 267, `${gray} of 2000 users on gray`);
});

test('the Dubbo attachments: dubbo.tag for a tagged request, dubbo.force.tag when forced, nothing without a tag', () => {
  const a: Record<string, string> = { tenant: 't1' };
  addTagAttachments(a, { label: 'dubbo.tag', tag: 'gray', force: false });
  assert.deepEqual(a, { tenant: 't1', 'dubbo.tag': 'gray' });
  const f: Record<string, string> = {};
  addTagAttachments(f, { label: 'version', tag: 'v2', force: true });
  assert.deepEqual(f, { 'dubbo.tag': 'v2', 'dubbo.force.tag': 'true' });
  const none: Record<string, string> = {};
  addTagAttachments(none, { label: 'dubbo.tag', tag: undefined, force: true });
  assert.deepEqual(none, {});
});

test('a route canary replaces its service one; false turns it off; no canary anywhere compiles to nothing', () => {
  const svc = config({ tagFrom: ['header.a'] });
  const own = config({ tagFrom: ['header.b'] });
  const route = (canary?: CanaryConfig | false) => ({ canary }) as unknown as Parameters<typeof canaryOf>[0];
  const service = { canary: svc } as unknown as Parameters<typeof canaryOf>[1];
  assert.equal(canaryOf(route(undefined), service), svc);
  assert.equal(canaryOf(route(own), service), own);
  assert.equal(canaryOf(route(false), service), undefined);
  assert.equal(compileCanary(undefined), undefined);
});
