import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RegistryError } from '../../../src/errors/index.js';
import { createMetadataInfoStore } from '../../../src/upstream/discovery/metadata-store.js';
import { serviceInstanceFromMetadata, type MetadataInfo, type ServiceInstance } from '../../../src/upstream/discovery/service-instance.js';

function instance(app: string, port: number, revision: string): ServiceInstance {
  return serviceInstanceFromMetadata(app, '10.0.0.1', port, { 'dubbo.metadata.revision': revision }, `/services/${app}/10.0.0.1:${port}`);
}

function info(app: string, revision: string, approxBytes = 100): MetadataInfo {
  return { app, revision, services: [], approxBytes };
}

test('one fetch per (app, revision) however many callers and instances share it', async () => {
  const asked: string[] = [];
  const store = createMetadataInfoStore({
    load: async (inst, revision) => {
      asked.push(`${inst.id} ${revision}`);
      await new Promise((r) => setTimeout(r, 10));
      return info(inst.app, revision);
    },
  });
  const insts = [instance('a', 1, 'r1'), instance('a', 2, 'r1'), instance('a', 3, 'r1')];
  const results = await Promise.all(Array.from({ length: 20 }, () => store.get('a', 'r1', insts)));
  assert.equal(asked.length, 1);
  assert.ok(results.every((r) => r.kind === 'found' && r === results[0]));
  assert.equal(store.peek('a', 'r1')?.revision, 'r1');
  assert.equal((await store.get('a', 'r1', insts)).kind, 'found');
  assert.equal(asked.length, 1, 'cached');
  await store.get('b', 'r1', [instance('b', 1, 'r1')]);
  assert.equal(asked.length, 2, 'another application with the same revision string is another entry');
});

test('a failing instance is passed over for the next one with that revision, up to three', async () => {
  const asked: number[] = [];
  const store = createMetadataInfoStore({
    load: async (inst, revision) => {
      asked.push(inst.port);
      if (inst.port !== 3) throw new RegistryError(`port ${inst.port} says no`);
      return info(inst.app, revision);
    },
  });
  const r = await store.get('a', 'r', [instance('a', 1, 'r'), instance('a', 2, 'r'), instance('a', 3, 'r'), instance('a', 4, 'r')]);
  assert.equal(r.kind, 'found');
  assert.deepEqual(asked.sort(), [1, 2, 3]);
});

test('a revision that cannot be read is not asked again before its back-off, which doubles (2 s, 4 s, ...)', async () => {
  let now = 1_000_000;
  let calls = 0;
  const store = createMetadataInfoStore({
    now: () => now,
    load: async () => {
      calls++;
      throw new Error('connection refused');
    },
  });
  const insts = [instance('a', 1, 'r')];
  const first = await store.get('a', 'r', insts);
  assert.equal(first.kind, 'failed');
  if (first.kind !== 'failed') return;
  assert.equal(first.error.code, 'FERRY_REGISTRY_ERROR');
  assert.match(first.error.message, /MetadataInfo of application a revision r could not be read .*\/services\/a\/10\.0\.0\.1:1: connection refused/);
  assert.equal(first.retryAt, now + 2000);
  assert.equal((await store.get('a', 'r', insts)).kind, 'failed');
  assert.equal(calls, 1, 'within the back-off: no new attempt');
  now += 2000;
  const second = await store.get('a', 'r', insts);
  assert.equal(calls, 2);
  assert.equal(second.kind === 'failed' && second.retryAt, now + 4000);
  assert.equal(store.stats().failures, 1);
});

test('an attempt that hangs is cut at the timeout and counts as a failure', async () => {
  const store = createMetadataInfoStore({ timeoutMs: 30, load: () => new Promise<MetadataInfo>(() => {}) });
  const r = await store.get('a', 'r', [instance('a', 1, 'r')]);
  assert.equal(r.kind, 'failed');
  assert.match(r.kind === 'failed' ? r.error.message : '', /did not answer within 30 ms/);
});

test('the cache is bounded by entries and by bytes, least recently used first; an entry over the byte budget is returned, not kept', async () => {
  const store = createMetadataInfoStore({
    maxEntries: 3,
    maxBytes: 1000,
    load: async (inst, revision) => info(inst.app, revision, revision === 'huge' ? 5000 : revision === 'big' ? 600 : 100),
  });
  for (const r of ['r1', 'r2', 'r3']) await store.get('a', r, [instance('a', 1, r)]);
  store.peek('a', 'r1'); // r2 is now the least recently used
  await store.get('a', 'r4', [instance('a', 1, 'r4')]);
  assert.deepEqual(
    ['r1', 'r2', 'r3', 'r4'].map((r) => store.peek('a', r) !== undefined),
    [true, false, true, true],
  );
  await store.get('a', 'big', [instance('a', 1, 'big')]);
  assert.ok(store.stats().bytes <= 1000, `bytes ${store.stats().bytes}`);
  assert.ok(store.peek('a', 'big') !== undefined);
  const huge = await store.get('a', 'huge', [instance('a', 1, 'huge')]);
  assert.equal(huge.kind, 'found');
  assert.equal(store.peek('a', 'huge'), undefined);
  assert.ok(store.stats().entries <= 3);
});

test('fetches run at most maxConcurrent at once', async () => {
  let running = 0;
  let most = 0;
  const store = createMetadataInfoStore({
    maxConcurrent: 2,
    load: async (inst, revision) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      return info(inst.app, revision);
    },
  });
  await Promise.all(Array.from({ length: 8 }, (_, i) => store.get('a', `r${i}`, [instance('a', 1, `r${i}`)])));
  assert.equal(most, 2);
});
