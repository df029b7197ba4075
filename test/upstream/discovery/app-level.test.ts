/**
 * The registry-independent part of application-level discovery: instances in, endpoints out,
 * with MetadataInfo loaded by an in-memory function (the ZooKeeper and MetadataService paths are
 * tested against real peers in test/e2e/discovery-app-level.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAppLevelEndpoints } from '../../../src/upstream/discovery/app-level.js';
import { createMetadataInfoStore, type FetchMetadataInfo } from '../../../src/upstream/discovery/metadata-store.js';
import { metadataInfoFromObject, serviceInstanceFromMetadata, type ServiceInstance } from '../../../src/upstream/discovery/service-instance.js';

const IFACE = 'com.example.bank.AccountService';

function instance(app: string, port: number, revision: string | undefined, extra: Record<string, string> = {}): ServiceInstance {
  const meta: Record<string, string> = { ...extra, 'dubbo.endpoints': JSON.stringify([{ port, protocol: 'dubbo' }]) };
  if (revision !== undefined) meta['dubbo.metadata.revision'] = revision;
  return serviceInstanceFromMetadata(app, '10.0.0.1', port, meta, `/services/${app}/10.0.0.1:${port}`);
}

/** Revision → what it exports: `v1` AccountService 1.0.0 weight 100, `v2` weight 50, `other` TypeLabService only. */
const exports: Record<string, Array<{ name: string; version?: string; weight?: string }>> = {
  v1: [{ name: IFACE, version: '1.0.0', weight: '100' }],
  v2: [{ name: IFACE, version: '1.0.0', weight: '50' }],
  other: [{ name: 'com.example.lab.TypeLabService' }],
};

function loader(broken: Set<string> = new Set(), asked: string[] = []): FetchMetadataInfo {
  return async (inst, revision) => {
    asked.push(`${inst.app}/${revision}`);
    if (broken.has(revision) || exports[revision] === undefined) throw new Error(`revision ${revision} unavailable`);
    const services: Record<string, unknown> = {};
    for (const s of exports[revision]) {
      services[`${s.name}:${s.version ?? ''}:dubbo`] = {
        name: s.name,
        protocol: 'dubbo',
        ...(s.version ? { version: s.version } : {}),
        params: { interface: s.name, ...(s.version ? { version: s.version } : {}), ...(s.weight ? { weight: s.weight } : {}) },
      };
    }
    return metadataInfoFromObject({ app: inst.app, revision, services }, { app: inst.app, revision }, 'test');
  };
}

test('instances of several applications become the endpoints of the selected service, one fetch per revision', async () => {
  const asked: string[] = [];
  const errors: Error[] = [];
  const al = createAppLevelEndpoints({
    selector: { interface: IFACE, version: '1.0.0' },
    store: createMetadataInfoStore({ load: loader(new Set(), asked) }),
    onError: (e) => errors.push(e),
  });
  const published: string[][] = [];
  al.subscribe((eps) => published.push(eps.map((e) => e.id)));
  al.setInstances('bank', [instance('bank', 20880, 'v1'), instance('bank', 20881, 'v1'), instance('bank', 20882, 'v1')]);
  al.setInstances('lab', [instance('lab', 20990, 'other')]);
  await al.idle();
  assert.deepEqual(
    al.current().map((e) => e.id),
    ['10.0.0.1:20880', '10.0.0.1:20881', '10.0.0.1:20882'],
  );
  assert.deepEqual(asked.sort(), ['bank/v1', 'lab/other']);
  assert.deepEqual(errors, []);
  assert.deepEqual(published.at(-1), ['10.0.0.1:20880', '10.0.0.1:20881', '10.0.0.1:20882']);

  // One instance leaves, one joins: no new fetch, the list follows.
  al.setInstances('bank', [instance('bank', 20881, 'v1'), instance('bank', 20883, 'v1')]);
  assert.deepEqual(
    al.current().map((e) => e.id),
    ['10.0.0.1:20881', '10.0.0.1:20883'],
  );
  assert.equal(asked.length, 2);
  al.removeApp('bank');
  assert.deepEqual(al.current(), []);
  al.close();
});

test('an instance without a revision is skipped and reported once; the others are not held up', async () => {
  const errors: Error[] = [];
  const al = createAppLevelEndpoints({
    selector: { interface: IFACE, version: '1.0.0' },
    store: createMetadataInfoStore({ load: loader() }),
    onError: (e) => errors.push(e),
  });
  const good = instance('bank', 20880, 'v1');
  al.setInstances('bank', [good, instance('bank', 20881, undefined)]);
  await al.idle();
  al.setInstances('bank', [good, instance('bank', 20881, undefined)]);
  assert.deepEqual(
    al.current().map((e) => e.id),
    ['10.0.0.1:20880'],
  );
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.message, /instance \/services\/bank\/10\.0\.0\.1:20881 of application bank has no metadata revision/);
  al.close();
});

test('a revision whose MetadataInfo cannot be read: new instances are skipped, moved ones keep their previous revision; reported once; retried', async () => {
  const broken = new Set(['v2']);
  const asked: string[] = [];
  const errors: Error[] = [];
  const al = createAppLevelEndpoints({
    selector: { interface: IFACE, version: '1.0.0' },
    store: createMetadataInfoStore({ load: loader(broken, asked), retryMinMs: 50, retryMaxMs: 50 }),
    onError: (e) => errors.push(e),
  });
  al.setInstances('bank', [instance('bank', 20880, 'v1'), instance('bank', 20881, 'v1')]);
  await al.idle();
  // 20881 is redeployed with revision v2 (unreadable), 20882 joins with v2.
  al.setInstances('bank', [instance('bank', 20880, 'v1'), instance('bank', 20881, 'v2'), instance('bank', 20882, 'v2')]);
  await al.idle();
  al.setInstances('bank', [instance('bank', 20880, 'v1'), instance('bank', 20881, 'v2'), instance('bank', 20882, 'v2')]);
  await al.idle();
  assert.deepEqual(
    al.current().map((e) => `${e.id} w${e.weight}`),
    ['10.0.0.1:20880 w100', '10.0.0.1:20881 w100'],
  );
  const messages = errors.map((e) => e.message);
  assert.equal(messages.filter((m) => /revision v2 could not be read/.test(m)).length, 1, messages.join('\n'));
  assert.equal(
    messages.filter((m) => /10\.0\.0\.1:20881 moved to revision v2, whose MetadataInfo cannot be read; kept with revision v1/.test(m)).length,
    1,
    messages.join('\n'),
  );

  // The provider fixes itself; the retry timer picks it up without any registry event.
  broken.clear();
  const deadline = Date.now() + 5000;
  while (al.current().length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(
    al.current().map((e) => `${e.id} w${e.weight}`),
    ['10.0.0.1:20880 w100', '10.0.0.1:20881 w50', '10.0.0.1:20882 w50'],
  );
  al.close();
});

test('a retry timer that fires before Date.now() reaches the retry time is armed again, not lost (input: every timer 5 ms early)', async (t) => {
  // Node's timers run on a monotonic clock and may fire a millisecond before Date.now() says they are
  // due; CI once saw a revision never retried because of it. Here every timer of 5 ms or more fires 5 ms early.
  const realSetTimeout = globalThis.setTimeout;
  t.mock.method(globalThis, 'setTimeout', ((fn: () => void, ms?: number, ...rest: unknown[]) =>
    realSetTimeout(fn, ms !== undefined && ms >= 5 ? ms - 5 : ms, ...rest)) as typeof setTimeout);
  const broken = new Set(['v1']);
  const al = createAppLevelEndpoints({
    selector: { interface: IFACE, version: '1.0.0' },
    store: createMetadataInfoStore({ load: loader(broken), retryMinMs: 40, retryMaxMs: 40 }),
    onError: () => {},
  });
  al.setInstances('bank', [instance('bank', 20880, 'v1')]);
  await al.idle();
  assert.deepEqual(al.current(), [], 'v1 is broken: no endpoint yet');
  broken.clear();
  const deadline = Date.now() + 3000;
  while (al.current().length === 0 && Date.now() < deadline) await new Promise((r) => realSetTimeout(r, 10));
  assert.deepEqual(
    al.current().map((e) => e.id),
    ['10.0.0.1:20880'],
    'the revision was retried once it could be read',
  );
  al.close();
});

test('budgets: instances per application and revisions per application', async () => {
  const errors: Error[] = [];
  const al = createAppLevelEndpoints({
    selector: { interface: IFACE, version: '1.0.0' },
    store: createMetadataInfoStore({ load: loader() }),
    maxInstancesPerApp: 2,
    maxRevisionsPerApp: 1,
    onError: (e) => errors.push(e),
  });
  al.setInstances('bank', [instance('bank', 1, 'v1'), instance('bank', 2, 'v2'), instance('bank', 3, 'v1')]);
  await al.idle();
  assert.deepEqual(
    al.current().map((e) => e.id),
    ['10.0.0.1:1'],
  );
  assert.ok(errors.some((e) => /application bank has 3 instances; only the first 2 are used/.test(e.message)));
  assert.ok(errors.some((e) => /application bank uses more than 1 metadata revisions at once/.test(e.message)));
  al.close();
});
