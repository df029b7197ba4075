import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { createMetrics, servingClusters, type UpstreamSnapshot } from '../../src/telemetry/metrics.js';

const snap = (service: string, endpoint: string, cluster: string, priority: number, available: boolean): UpstreamSnapshot => ({
  service,
  endpoint,
  connections: available ? 1 : 0,
  pending: 0,
  cluster,
  priority,
  available,
});

test('servingClusters: the best priority with an available endpoint, per service; none when nothing is available', () => {
  const s = servingClusters([
    snap('a', 'h:1', 'dc1', 0, false),
    snap('a', 'h:2', 'dc2', 1, true),
    snap('a', 'h:3', 'dc3', 2, true),
    snap('b', 'h:4', 'dc1', 0, true),
    snap('c', 'h:5', 'dc1', 0, false),
  ]);
  assert.deepEqual([...s].sort(), [
    ['a', 'dc2'],
    ['b', 'dc1'],
  ]);
});

test('the scrape shows endpoints per cluster and state, and which cluster serves', async () => {
  const registry = new Registry();
  const metrics = createMetrics(registry, { processMetrics: false });
  metrics.addUpstreamSource(() => [snap('a', 'h:1', 'dc1', 0, false), snap('a', 'h:2', 'dc2', 1, true), snap('a', 'h:3', 'dc2', 1, true)]);
  const text = await registry.metrics();
  assert.match(text, /ferry_upstream_cluster_endpoints\{service="a",cluster="dc1",state="unavailable"\} 1/);
  assert.match(text, /ferry_upstream_cluster_endpoints\{service="a",cluster="dc2",state="available"\} 2/);
  assert.match(text, /ferry_upstream_cluster_serving\{service="a",cluster="dc2"\} 1/);
  assert.match(text, /ferry_upstream_cluster_serving\{service="a",cluster="dc1"\} 0/);
});
