import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Registry } from 'prom-client';
import { startAdminServer } from '../../src/app/admin-server.js';
import type { AdminServer, Readiness } from '../../src/app/admin-server.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import type { FerryMetrics, UpstreamSnapshot } from '../../src/telemetry/metrics.js';
import { OPS_PYTHON } from '../support/ops-python.js';

interface Sample {
  family: string;
  type: string;
  name: string;
  labels: Record<string, string>;
  /** A number, or 'nan' / 'inf' as text for non-finite values (JSON has no NaN). */
  value: number | string;
}

/** Parses Prometheus exposition text with Python's prometheus_client (scripts/setup-ops.sh installs it). */
function parseWithPrometheusClient(text: string): Sample[] {
  const script = [
    'import sys, json, math',
    'from prometheus_client.parser import text_string_to_metric_families',
    'out = []',
    'for fam in text_string_to_metric_families(sys.stdin.read()):',
    '    for s in fam.samples:',
    '        out.append({"family": fam.name, "type": fam.type, "name": s.name, "labels": s.labels, "value": s.value if math.isfinite(s.value) else str(s.value)})',
    'print(json.dumps(out))',
  ].join('\n');
  return JSON.parse(execFileSync(OPS_PYTHON, ['-c', script], { input: text, encoding: 'utf8' })) as Sample[];
}

function find(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

describe('admin server on loopback: /metrics, /healthz, /readyz, /openapi.json', () => {
  let registry: Registry;
  let metrics: FerryMetrics;
  let admin: AdminServer;
  let base: string;
  let readiness: Readiness = { ready: false, reasons: ['no config loaded yet'] };
  let endpoints: UpstreamSnapshot[] = [];

  before(async () => {
    registry = new Registry();
    metrics = createMetrics(registry);
    admin = await startAdminServer({
      host: '127.0.0.1',
      port: 0,
      registry,
      readiness: () => readiness,
      openapi: () => ({ openapi: '3.1.0', info: { title: 'Ferry', version: 't' }, paths: {} }),
    });
    base = `http://127.0.0.1:${admin.port}`;
  });
  after(async () => {
    await admin.close();
  });

  test('/healthz answers 200 while the process runs', async () => {
    const res = await fetch(`${base}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  test('/readyz is 503 with reasons until the readiness callback says ready', async () => {
    readiness = { ready: false, reasons: ['no config loaded yet'] };
    let res = await fetch(`${base}/readyz`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { status: 'not ready', reasons: ['no config loaded yet'] });
    readiness = { ready: true, reasons: [] };
    res = await fetch(`${base}/readyz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ready', reasons: [] });
  });

  test('/openapi.json serves the document from the callback', async () => {
    const res = await fetch(`${base}/openapi.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(((await res.json()) as { openapi: string }).openapi, '3.1.0');
  });

  test('/metrics: requests, latency buckets, errors by code and upstream gauges, read by prometheus_client', async () => {
    metrics.observeRequest({ route: 'get-account', method: 'GET', status: 200, durationMs: 0.2 });
    metrics.observeRequest({ route: 'get-account', method: 'GET', status: 200, durationMs: 3 });
    metrics.observeRequest({ route: 'get-account', method: 'GET', status: 504, code: 'FERRY_UPSTREAM_TIMEOUT', durationMs: 3000 });
    metrics.observeRequest({ route: undefined, method: 'GET', status: 404, code: 'FERRY_ROUTE_NOT_FOUND', durationMs: 0.05 });
    metrics.observeUpstreamCall('accounts', 'getAccount', 2.5);
    metrics.recordEjection('accounts', '10.0.0.2:20880');
    metrics.recordReload(true);
    metrics.recordReload(false);
    endpoints = [
      { service: 'accounts', endpoint: '10.0.0.1:20880', connections: 2, pending: 7 },
      { service: 'accounts', endpoint: '10.0.0.2:20880', connections: 0, pending: 0, ejected: true },
    ];
    const remove = metrics.addUpstreamSource(() => endpoints);
    // A pool whose snapshot throws must not break the scrape.
    metrics.addUpstreamSource(() => {
      throw new Error('pool closed');
    });

    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const samples = parseWithPrometheusClient(await res.text());

    const ok = find(samples, 'ferry_requests_total', { route: 'get-account', method: 'GET', status: '200', code: 'OK' });
    assert.equal(ok.length, 1);
    assert.equal(ok[0]!.value, 2);
    assert.equal(find(samples, 'ferry_requests_total', { route: '_none', status: '404', code: 'FERRY_ROUTE_NOT_FOUND' })[0]?.value, 1);
    assert.equal(find(samples, 'ferry_errors_total', { route: 'get-account', code: 'FERRY_UPSTREAM_TIMEOUT' })[0]?.value, 1);
    assert.equal(find(samples, 'ferry_errors_total', { code: 'OK' }).length, 0, 'successes are not errors');

    // 0.2 ms lands in the 0.25 ms bucket, 3 ms in 5 ms, 3 s in 5 s; +Inf counts all three.
    const bucket = (le: string) => find(samples, 'ferry_request_duration_seconds_bucket', { route: 'get-account', le })[0]?.value;
    assert.equal(bucket('0.0001'), 0);
    assert.equal(bucket('0.00025'), 1);
    assert.equal(bucket('0.0025'), 1);
    assert.equal(bucket('0.005'), 2);
    assert.equal(bucket('2.5'), 2);
    assert.equal(bucket('5'), 3);
    assert.equal(bucket('+Inf'), 3);
    const sum = Number(find(samples, 'ferry_request_duration_seconds_sum', { route: 'get-account' })[0]!.value);
    assert.ok(Math.abs(sum - 3.0032) < 1e-9);

    assert.equal(find(samples, 'ferry_upstream_connections', { endpoint: '10.0.0.1:20880' })[0]?.value, 2);
    assert.equal(find(samples, 'ferry_upstream_pending_calls', { endpoint: '10.0.0.1:20880' })[0]?.value, 7);
    assert.equal(find(samples, 'ferry_upstream_ejected', { endpoint: '10.0.0.2:20880' })[0]?.value, 1);
    assert.equal(find(samples, 'ferry_upstream_ejected', { endpoint: '10.0.0.1:20880' })[0]?.value, 0);
    assert.equal(find(samples, 'ferry_upstream_ejections_total', { endpoint: '10.0.0.2:20880' })[0]?.value, 1);
    assert.equal(find(samples, 'ferry_upstream_call_duration_seconds_count', { service: 'accounts', method: 'getAccount', code: 'OK' })[0]?.value, 1);
    assert.equal(find(samples, 'ferry_config_reloads_total', { result: 'ok' })[0]?.value, 1);
    assert.equal(find(samples, 'ferry_config_reloads_total', { result: 'error' })[0]?.value, 1);
    assert.ok(find(samples, 'ferry_process_cpu_seconds_total').length === 1, 'process metrics are collected on the passed registry');

    // An endpoint that leaves disappears from the gauges at the next scrape; a removed source too.
    endpoints = [{ service: 'accounts', endpoint: '10.0.0.1:20880', connections: 1, pending: 0 }];
    let again = parseWithPrometheusClient(await (await fetch(`${base}/metrics`)).text());
    assert.equal(find(again, 'ferry_upstream_connections', { endpoint: '10.0.0.2:20880' }).length, 0);
    assert.equal(find(again, 'ferry_upstream_connections', { endpoint: '10.0.0.1:20880' })[0]?.value, 1);
    remove();
    again = parseWithPrometheusClient(await (await fetch(`${base}/metrics`)).text());
    assert.equal(find(again, 'ferry_upstream_connections').length, 0);
  });

  test('a readiness callback that throws (input: Error "zk session lost") gives 503 with the reason', async () => {
    const registry2 = new Registry();
    const admin2 = await startAdminServer({
      port: 0,
      registry: registry2,
      readiness: () => {
        throw new Error('zk session lost');
      },
      openapi: () => ({}),
    });
    try {
      const res = await fetch(`http://127.0.0.1:${admin2.port}/readyz`);
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), { status: 'not ready', reasons: ['readiness check failed: zk session lost'] });
    } finally {
      await admin2.close();
    }
  });

  test('two metric sets on two registries do not collide (no global registry)', () => {
    const a = new Registry();
    const b = new Registry();
    createMetrics(a, { processMetrics: false });
    createMetrics(b, { processMetrics: false });
    assert.ok(a.getSingleMetric('ferry_requests_total') !== undefined);
    assert.ok(b.getSingleMetric('ferry_requests_total') !== undefined);
  });
});
