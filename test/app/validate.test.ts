/**
 * `ferry validate` (validateMappings): problems found only when routes are bound (protos, methods,
 * derived routes) are reported like the loader's, with file:line:col of the key at fault.
 * Offline: nothing is called, the protos are the repository's own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../src/config/errors.js';
import { validateMappings } from '../../src/app/main.js';

const PROTO = path.resolve('idl/payments/v1/payments.proto');

async function problemsOf(yaml: string): Promise<string[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ferry-validate-'));
  try {
    await writeFile(path.join(dir, 'm.yaml'), yaml);
    await validateMappings(dir);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    assert.equal(e.code, 'FERRY_CONFIG_INVALID');
    // Paths are shown relative to the working directory; keep the file name.
    return e.problems.map((p) => `${path.basename(p.file)}:${p.line}:${p.col}: ${p.message}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  assert.fail('the mappings validated');
}

const grpc = (service: string) =>
  `services:\n  pay:\n    protocol: grpc\n    proto: ${PROTO}\n    service: ${service}\n    endpoints: [127.0.0.1:1]\n`;

test('a proto service the .proto does not declare is reported at "service:"', async () => {
  assert.deepEqual(await problemsOf(grpc('example.payments.v1.Nope')), [`m.yaml:5:14: proto ${PROTO} declares no service example.payments.v1.Nope`]);
});

test('a .proto that cannot be loaded is reported at "proto:", naming the service', async () => {
  const msgs = await problemsOf(grpc('x.Y').replace(PROTO, path.resolve('idl/does-not-exist.proto')));
  assert.equal(msgs.length, 1);
  assert.match(msgs[0]!, /^m\.yaml:4:12: service "pay": cannot load proto .*does-not-exist\.proto/);
});

test('a route naming a method the proto service lacks is reported at "call:"', async () => {
  const yaml = grpc('example.payments.v1.Payments') + 'routes:\n  - id: nope\n    http: GET /v1/nope\n    call: pay.Nope\n';
  assert.deepEqual(await problemsOf(yaml), ['m.yaml:10:11: route nope: example.payments.v1.Payments has no method Nope']);
});

test('the shipped mappings validate, with routes derived from google.api.http', async () => {
  const { config, engine } = await validateMappings('mappings');
  assert.ok(engine.routes.length > config.routes.length);
  const derived = engine.routes.find((r) => r.id === 'payments.GetPayment');
  assert.ok(derived?.protocol === 'grpc' && derived.fromProto);
  assert.deepEqual(
    derived.template.variables.map((v) => v.name),
    ['name'],
  );
});

test('proto problems of several services are reported together', async () => {
  const two =
    grpc('example.payments.v1.Nope') +
    `  pay2:\n    protocol: triple\n    proto: ${PROTO}\n    service: example.payments.v1.Nope2\n    endpoints: [127.0.0.1:1]\n`;
  assert.deepEqual(await problemsOf(two), [
    `m.yaml:5:14: proto ${PROTO} declares no service example.payments.v1.Nope`,
    `m.yaml:10:14: proto ${PROTO} declares no service example.payments.v1.Nope2`,
  ]);
});
