import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClusterSource, joinClusters } from '../../../src/upstream/discovery/clusters.js';
import type { Endpoint, EndpointSource } from '../../../src/upstream/discovery/types.js';

const ep = (id: string, extra: Partial<Endpoint> = {}): Endpoint => {
  const [host, port] = id.split(':');
  return {
    id,
    host: host!,
    port: Number(port),
    protocol: 'dubbo',
    weight: 100,
    warmupStartMs: undefined,
    labels: {},
    cluster: 'default',
    priority: 0,
    ...extra,
  };
};

/** A source whose list the test sets (what a registry source does on a change). */
function settable(initial: Endpoint[]): EndpointSource & { set(list: Endpoint[]): void; closed: boolean } {
  let list: readonly Endpoint[] = initial;
  const listeners = new Set<(l: readonly Endpoint[]) => void>();
  return {
    closed: false,
    current: () => list,
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    set(next) {
      list = next;
      for (const l of listeners) l(list);
    },
    async close() {
      this.closed = true;
    },
  };
}

test('joinClusters tags each endpoint with its cluster and priority; one host:port in two clusters goes to the best priority', () => {
  const joined = joinClusters([
    { cluster: 'dc2', priority: 1, endpoints: [ep('10.0.0.2:20880'), ep('10.0.0.9:20880')] },
    { cluster: 'dc1', priority: 0, endpoints: [ep('10.0.0.1:20880'), ep('10.0.0.9:20880')] },
  ]);
  assert.deepEqual(
    joined.map((e) => `${e.id} ${e.cluster} ${e.priority}`),
    ['10.0.0.1:20880 dc1 0', '10.0.0.2:20880 dc2 1', '10.0.0.9:20880 dc1 0'],
  );
  assert.ok(joined.every((e) => Object.isFrozen(e)));
  // equal priorities: the order given decides
  const tie = joinClusters([
    { cluster: 'a', priority: 0, endpoints: [ep('h:1')] },
    { cluster: 'b', priority: 0, endpoints: [ep('h:1')] },
  ]);
  assert.equal(tie[0]!.cluster, 'a');
  assert.deepEqual(joinClusters([]), []);
});

test('a cluster source follows each part, keeps the other parts when one empties, reports per cluster, and closes them all', async () => {
  const dc1 = settable([ep('10.0.0.1:1')]);
  const dc2 = settable([ep('10.0.0.2:1')]);
  const source = createClusterSource([
    { cluster: 'dc1', priority: 0, source: dc1 },
    { cluster: 'dc2', priority: 3, source: dc2 },
  ]);
  const seen: string[][] = [];
  source.subscribe((l) => seen.push(l.map((e) => `${e.id}@${e.cluster}/${e.priority}`)));
  assert.deepEqual(
    source.current().map((e) => e.cluster),
    ['dc1', 'dc2'],
  );
  dc1.set([]);
  assert.deepEqual(seen.at(-1), ['10.0.0.2:1@dc2/3']);
  dc1.set([ep('10.0.0.3:1')]);
  assert.deepEqual(seen.at(-1), ['10.0.0.2:1@dc2/3', '10.0.0.3:1@dc1/0']);
  assert.deepEqual(
    source.clusters().map((c) => `${c.cluster}:${c.endpoints}:${c.connected}`),
    ['dc1:1:true', 'dc2:1:true'],
  );
  assert.equal(await source.ready(10), true);
  await source.close();
  assert.ok(dc1.closed && dc2.closed);
  dc2.set([]);
  assert.equal(seen.length, 2, 'no list after close');
});
