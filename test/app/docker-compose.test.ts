/**
 * docker-compose.yml cannot be run here (no Docker engine), so this checks what can be checked:
 * it parses, names the services the issue asks for, every host path it mounts exists, the files its
 * commands run exist, and the addresses line up with mappings/ and samples/envoy/envoy.yaml.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const REPO = path.resolve('.');
const compose = parse(readFileSync(path.join(REPO, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, any>;
  volumes?: Record<string, unknown>;
};

test('the stack has Ferry, ZooKeeper, the sample providers, Envoy and Jaeger, each with a pinned image tag', () => {
  assert.deepEqual(Object.keys(compose.services).sort(), ['envoy', 'ferry', 'grpc-peer', 'jaeger', 'java-provider', 'zookeeper']);
  for (const [name, svc] of Object.entries(compose.services)) {
    assert.match(String(svc.image), /^[a-z0-9./-]+:[A-Za-z0-9._-]+$/, `${name} names an image with a tag`);
    assert.doesNotMatch(String(svc.image), /:latest$/, `${name} does not float on :latest`);
  }
  assert.match(compose.services['envoy'].image, /^envoyproxy\/envoy:v1\.3\d/);
  assert.match(compose.services['jaeger'].image, /^jaegertracing\/all-in-one:/);
  assert.match(compose.services['zookeeper'].image, /^zookeeper:/);
  assert.match(compose.services['ferry'].image, /^node:24/);
});

test('every bind-mounted host path exists in the repository', () => {
  const named = new Set(Object.keys(compose.volumes ?? {}));
  let binds = 0;
  for (const [name, svc] of Object.entries(compose.services)) {
    for (const v of (svc.volumes ?? []) as string[]) {
      const host = v.split(':')[0]!;
      if (named.has(host)) continue;
      binds++;
      assert.ok(host.startsWith('./'), `${name}: bind mount ${host} is relative to the repository`);
      assert.ok(existsSync(path.join(REPO, host)), `${name}: ${host} exists`);
    }
  }
  assert.ok(binds >= 5);
});

test('the commands run files that exist (paths seen from each container)', () => {
  const ferryCmd = compose.services['ferry'].command.join(' ');
  assert.match(ferryCmd, /npm ci/);
  assert.match(ferryCmd, /npm run ferry -- serve/);
  assert.ok(existsSync(path.join(REPO, 'package-lock.json')), 'npm ci needs package-lock.json');
  const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts['ferry'] ?? '', /src\/app\/cli\.ts/);
  assert.ok(existsSync(path.join(REPO, 'src/app/cli.ts')));

  const java = compose.services['java-provider'];
  assert.equal(java.working_dir, '/src/samples/java-provider');
  assert.ok(existsSync(path.join(REPO, 'samples/java-provider/pom.xml')));
  assert.match(readFileSync(path.join(REPO, 'samples/java-provider/pom.xml'), 'utf8'), /<artifactId>ferry-sample-provider<\/artifactId>/);
  assert.match(java.command.join(' '), /target\/ferry-sample-provider\.jar/);

  const py = compose.services['grpc-peer'];
  assert.ok(existsSync(path.join(REPO, 'samples/grpc-python/server.py')));
  assert.match(py.command.join(' '), /python server\.py --port 50061/);

  const envoy = compose.services['envoy'];
  assert.ok(envoy.volumes.some((v: string) => v.startsWith('./samples/envoy/envoy.yaml:/etc/envoy/envoy.yaml')));
  assert.deepEqual(envoy.command.slice(0, 3), ['envoy', '-c', '/etc/envoy/envoy.yaml']);
});

test('addresses line up: mappings and envoy.yaml use loopback, so those containers share Ferry’s namespace', () => {
  for (const name of ['java-provider', 'grpc-peer', 'envoy']) {
    assert.equal(compose.services[name].network_mode, 'service:ferry', `${name} shares Ferry's network namespace`);
  }
  const mappingsText = ['bank.yaml', 'payments.yaml'].map((f) => readFileSync(path.join(REPO, 'mappings', f), 'utf8')).join('\n');
  const java = compose.services['java-provider'].command.join(' ');
  assert.match(mappingsText, /127\.0\.0\.1:20880/);
  assert.match(java, /--dubbo-port 20880/);
  assert.match(mappingsText, /127\.0\.0\.1:50051/);
  assert.match(java, /--triple-port 50051/);
  assert.match(mappingsText, /127\.0\.0\.1:50061/);
  const envoyYaml = parse(readFileSync(path.join(REPO, 'samples/envoy/envoy.yaml'), 'utf8'));
  const listenerPort = envoyYaml.static_resources.listeners[0].address.socket_address.port_value;
  const extProc = envoyYaml.static_resources.clusters.find((c: any) => c.name === 'ferry_ext_proc');
  const extProcAddr = extProc.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
  assert.equal(extProcAddr.address, '127.0.0.1');
  const ferry = compose.services['ferry'];
  assert.equal(ferry.environment.FERRY_EXT_PROC_PORT, String(extProcAddr.port_value));
  const published = (ferry.ports as string[]).map((p) => p.split('#')[0]!.trim());
  assert.ok(published.includes(`${listenerPort}:${listenerPort}`), 'the Envoy listener is published on the shared namespace');
  assert.ok(published.includes('8080:8080') && published.includes('9090:9090'));
  assert.equal(ferry.environment.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://jaeger:4318');
  assert.ok((compose.services['jaeger'].ports as string[]).some((p) => p.startsWith('4318:4318')));
  assert.match(compose.services['java-provider'].command.join(' '), /zookeeper:\/\/zookeeper:2181/);
});
