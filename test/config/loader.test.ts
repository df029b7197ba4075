import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigDir, loadConfigFiles, parseDuration } from '../../src/config/loader.js';
import { ConfigError } from '../../src/config/errors.js';

const SERVICE = 'services:\n  a:\n    protocol: dubbo\n    interface: com.x.A\n    endpoints: [127.0.0.1:20880]\n';

function problemsOf(text: string, extra: { file: string; text: string }[] = []): string[] {
  try {
    loadConfigFiles([{ file: 'm.yaml', text }, ...extra], '.');
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e.message.split('\n');
  }
  assert.fail('the config loaded without an error');
}

test('the shipped sample mappings load', async () => {
  const c = await loadConfigDir('mappings');
  assert.ok(c.routes.length >= 10);
  const transfer = c.routes.find((r) => r.id === 'create-transfer');
  assert.ok(transfer?.protocol === 'dubbo');
  assert.equal(transfer.method, 'POST');
  assert.equal(transfer.args[1]?.type, 'com.example.bank.Transfer');
  assert.equal(transfer.errors['com.example.bank.InsufficientFundsException'], 422);
  assert.equal(c.services.get('accounts')?.timeoutMs, 3000);
  assert.ok(Object.isFrozen(c.routes));
});

test('an unknown key names file, line, column and the allowed keys', () => {
  const [msg] = problemsOf(SERVICE + '    tiemout: 3s\n');
  assert.match(msg!, /^m\.yaml:6:5: unknown key "tiemout" in service "a" \(expected one of: .*timeout/);
});

test('a bad source, a bad duration and a bad http line each get a sentence', () => {
  assert.match(problemsOf(SERVICE + 'routes:\n  - http: GET /x\n    call: a.b\n    args: [{ from: pth.id, type: long }]\n')[0]!, /^m\.yaml:9:20: .*not a request source/);
  assert.match(problemsOf(SERVICE + '    timeout: soon\n')[0]!, /^m\.yaml:6:14: "timeout" of service "a" must be a duration/);
  assert.match(problemsOf(SERVICE + 'routes:\n  - http: FETCH /x\n    call: a.b\n')[0]!, /^m\.yaml:7:11: "http" of route #1 must be a method and a path template/);
});

test('a call naming no service, and a path argument the template lacks', () => {
  assert.match(problemsOf(SERVICE + 'routes:\n  - http: GET /x\n    call: b.c\n')[0]!, /^m\.yaml:8:11: route "b\.c" calls service "b", which no mapping file declares \(declared: a\)/);
  assert.match(problemsOf(SERVICE + 'routes:\n  - http: GET /x/{id}\n    call: a.c\n    args: [{ from: path.idd, type: long }]\n')[0]!, /^m\.yaml:9:20: .*reads path\.idd, but the path \/x\/\{id\} has no \{idd\}/);
});

test('duplicate routes across files are reported at the second one', () => {
  const second = { file: 'n.yaml', text: 'routes:\n  - id: other\n    http: GET /x/{key}\n    call: a.d\n' };
  const msgs = problemsOf(SERVICE + 'routes:\n  - http: GET /x/{id}\n    call: a.c\n', [second]);
  assert.match(msgs[0]!, /^n\.yaml:3:11: route "other" repeats GET \/x\/\{key\}, already served by route "a\.c" \(m\.yaml:7\)/);
});

test('protocol-specific keys in the wrong place, and missing required keys', () => {
  assert.match(problemsOf('services:\n  g:\n    protocol: grpc\n    endpoints: [h:1]\n')[0]!, /service "g" uses protocol grpc and needs "proto"/);
  assert.match(problemsOf('services:\n  a:\n    protocol: dubbo\n    endpoints: [h:1]\n')[0]!, /needs "interface"/);
  assert.match(problemsOf('services:\n  a:\n    protocol: dubbo\n    interface: X\n')[0]!, /needs "endpoints" .* or "registry"/);
  assert.match(problemsOf('types:\n  com.x.T: {}\n')[0]!, /type "com\.x\.T" needs exactly one of "fields" .* or "enum"/);
});

test('YAML syntax errors and duplicate keys are positioned', () => {
  assert.match(problemsOf('services: [\n')[0]!, /^m\.yaml:\d+:\d+: YAML syntax: /);
  assert.match(problemsOf('services: {}\nservices: {}\n')[0]!, /^m\.yaml:2:1: YAML syntax: .*unique/i);
});

test('durations', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('3s'), 3000);
  assert.equal(parseDuration('1.5m'), 90000);
  assert.equal(parseDuration(250), 250);
});
