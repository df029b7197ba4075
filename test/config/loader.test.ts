import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigDir, loadConfigFiles, parseDuration } from '../../src/config/loader.js';
import { ConfigError } from '../../src/config/errors.js';
import { FerryError } from '../../src/errors/index.js';

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
  assert.match(
    problemsOf(SERVICE + 'routes:\n  - http: GET /x\n    call: a.b\n    args: [{ from: pth.id, type: long }]\n')[0]!,
    /^m\.yaml:9:20: .*not a request source/,
  );
  assert.match(problemsOf(SERVICE + '    timeout: soon\n')[0]!, /^m\.yaml:6:14: "timeout" of service "a" must be a duration/);
  assert.match(
    problemsOf(SERVICE + 'routes:\n  - http: FETCH /x\n    call: a.b\n')[0]!,
    /^m\.yaml:7:11: "http" of route #1 must be a method and a path template/,
  );
});

test('a call naming no service, and a path argument the template lacks', () => {
  assert.match(
    problemsOf(SERVICE + 'routes:\n  - http: GET /x\n    call: b.c\n')[0]!,
    /^m\.yaml:8:11: route "b\.c" calls service "b", which no mapping file declares \(declared: a\)/,
  );
  assert.match(
    problemsOf(SERVICE + 'routes:\n  - http: GET /x/{id}\n    call: a.c\n    args: [{ from: path.idd, type: long }]\n')[0]!,
    /^m\.yaml:9:20: .*reads path\.idd, but the path \/x\/\{id\} has no \{idd\}/,
  );
});

test('duplicate routes across files are reported at the second one', () => {
  const second = { file: 'n.yaml', text: 'routes:\n  - id: other\n    http: GET /x/{key}\n    call: a.d\n' };
  const msgs = problemsOf(SERVICE + 'routes:\n  - http: GET /x/{id}\n    call: a.c\n', [second]);
  assert.match(msgs[0]!, /^n\.yaml:3:11: route "other" repeats GET \/x\/\{key\}, already served by route "a\.c" \(m\.yaml:7\)/);
});

test('protocol-specific keys in the wrong place, and missing required keys', () => {
  assert.match(problemsOf('services:\n  g:\n    protocol: grpc\n    endpoints: [h:1]\n')[0]!, /service "g" uses protocol grpc and needs "service"/);
  assert.match(
    problemsOf('services:\n  g:\n    protocol: grpc\n    service: x.S\n    endpoints: [h:1]\n')[0]!,
    /^m\.yaml:2:3: service "g" needs its schema: "proto" \(a \.proto file\), "descriptorSet" .* or "reflection"/,
  );
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

const GRPC = 'services:\n  g:\n    protocol: grpc\n    proto: p.proto\n    service: example.v1.Svc\n';

test('a key of another protocol is named as such, at the key (schema branches on protocol)', () => {
  assert.deepEqual(problemsOf(SERVICE + '    proto: p.proto\n'), [
    'm.yaml:6:5: "proto" applies to grpc and triple services, not to dubbo service "a"',
  ]);
  assert.deepEqual(problemsOf(GRPC + '    endpoints: [h:1]\n    generic: true\n'), [
    'm.yaml:7:5: "generic" applies to dubbo services, not to grpc service "g"',
  ]);
  assert.deepEqual(problemsOf(SERVICE + '    forwardHeaders: [x-a]\n'), [
    'm.yaml:6:5: "forwardHeaders" applies to grpc and triple services, not to dubbo service "a"',
  ]);
  assert.match(
    problemsOf(GRPC.replace('grpc', 'triple') + '    endpoints: [h:1]\n    tiemout: 3s\n')[0]!,
    /^m\.yaml:7:5: unknown key "tiemout" in service "g" \(expected one of: protocol, proto, service, interface, .*retries/,
  );
});

test('route keys of the other protocol are refused at the key', () => {
  assert.deepEqual(problemsOf(GRPC + '    endpoints: [h:1]\nroutes:\n  - http: GET /x\n    call: g.M\n    longs: string\n'), [
    'm.yaml:10:12: "longs" applies to dubbo routes; route "g.M" calls a grpc service',
  ]);
  assert.deepEqual(problemsOf(SERVICE + 'routes:\n  - http: GET /x\n    call: a.m\n    emitDefaults: true\n'), [
    'm.yaml:9:19: "emitDefaults" applies to grpc and triple routes; route "a.m" calls a dubbo service (use "args")',
  ]);
});

test('gRPC and Triple services take registry, balance, sticky, pool, version, group, interface and retries', () => {
  const text =
    GRPC +
    '    registry: zookeeper://127.0.0.1:2181\n    balance: consistent-hash\n    sticky: { cookie: FERRY_G }\n    pool: { connections: 3 }\n' +
    '    version: 1.0.0\n    group: blue\n    retries: 0\n' +
    '  t:\n    protocol: triple\n    proto: p.proto\n    service: example.v1.Tri\n    interface: com.example.Tri\n    endpoints: [h:1]\n';
  const c = loadConfigFiles([{ file: 'm.yaml', text }], '.');
  const g = c.services.get('g');
  assert.ok(g?.protocol === 'grpc');
  assert.equal(g.registry, 'zookeeper://127.0.0.1:2181');
  assert.deepEqual(g.endpoints, []);
  assert.equal(g.balance, 'consistent-hash');
  assert.deepEqual(g.sticky, { cookie: 'FERRY_G' });
  assert.equal(g.connectionsPerEndpoint, 3);
  assert.deepEqual([g.version, g.group, g.retries], ['1.0.0', 'blue', 0]);
  assert.equal(g.interface, 'example.v1.Svc', 'providers register under the proto service name by default');
  assert.deepEqual(g.keySources['proto'], { file: 'm.yaml', line: 4, col: 12 });
  const t = c.services.get('t');
  assert.ok(t?.protocol === 'triple');
  assert.equal(t.interface, 'com.example.Tri');
  assert.equal(t.connectionsPerEndpoint, 1);
  assert.equal(t.retries, 1, 'retries default to 1');
});

test('retries: 0..10 on services and routes; a route says its own, else its service', () => {
  const text = SERVICE + '    retries: 3\nroutes:\n  - http: GET /x\n    call: a.x\n  - http: GET /y\n    call: a.y\n    retries: 0\n';
  const c = loadConfigFiles([{ file: 'm.yaml', text }], '.');
  assert.deepEqual(
    c.routes.map((r) => [r.id, r.retries]),
    [
      ['a.x', 3],
      ['a.y', 0],
    ],
  );
  assert.deepEqual(problemsOf(SERVICE + '    retries: 11\n'), ['m.yaml:6:14: "retries" of service "a" must be at most 10']);
  assert.deepEqual(problemsOf(SERVICE + 'routes:\n  - http: GET /x\n    call: a.x\n    retries: -1\n'), [
    'm.yaml:9:14: "retries" of route #1 must be at least 0',
  ]);
  assert.deepEqual(problemsOf(SERVICE + 'routes:\n  - http: GET /x\n    call: a.x\n    retries: 1.5\n'), [
    'm.yaml:9:14: "retries" of route #1 must be a whole number',
  ]);
});

test('path templates are parsed by the router at load time; a bad one is a sentence at its place', () => {
  const c = loadConfigFiles([{ file: 'm.yaml', text: SERVICE + 'routes:\n  - http: GET /v1/{name=accounts/*}/items:search\n    call: a.s\n' }], '.');
  const t = c.routes[0]!.template;
  assert.deepEqual([t.text, t.verb, t.variables.map((v) => v.name)], ['/v1/{name=accounts/*}/items:search', 'search', ['name']]);
  assert.deepEqual(problemsOf(SERVICE + 'routes:\n  - http: GET /x/{id}/{id}\n    call: a.c\n'), [
    'm.yaml:7:11: the path template "/x/{id}/{id}" of route "a.c" binds variable "id" twice',
  ]);
  assert.deepEqual(problemsOf(SERVICE + 'routes:\n  - http: GET /x/**/y\n    call: a.c\n'), [
    'm.yaml:7:11: the path template "/x/**/y" of route "a.c" may use "**" only as its last segment',
  ]);
});

test('two routes whose templates match the same paths are duplicates, whatever their variable names', () => {
  const msgs = problemsOf(SERVICE + 'routes:\n  - http: GET /x/*\n    call: a.c\n  - http: GET /x/{id}\n    call: a.d\n');
  assert.deepEqual(msgs, ['m.yaml:9:11: route "a.d" repeats GET /x/{id}, already served by route "a.c" (m.yaml:7)']);
});

test('a ConfigError is a FerryError (FERRY_CONFIG_INVALID) placed at its first problem', () => {
  try {
    loadConfigFiles([{ file: 'm.yaml', text: SERVICE + '    tiemout: 3s\n' }], '.');
    assert.fail('loaded');
  } catch (e) {
    assert.ok(e instanceof ConfigError && e instanceof FerryError);
    assert.equal(e.code, 'FERRY_CONFIG_INVALID');
    assert.deepEqual([e.file, e.line, e.col], ['m.yaml', 6, 5]);
  }
});

test('an endpoint port beyond 65535 is refused at the endpoint', () => {
  assert.deepEqual(problemsOf('services:\n  a:\n    protocol: dubbo\n    interface: X\n    endpoints: [h:1, h:99999]\n'), [
    'm.yaml:5:22: endpoint "h:99999" of service "a" has port 99999; a port is 1 to 65535',
  ]);
});

test('a mappings folder that cannot be read is a ConfigError naming it', async () => {
  await assert.rejects(
    loadConfigDir('does-not-exist'),
    (e: unknown) => e instanceof ConfigError && /^does-not-exist:1:1: cannot be read: ENOENT/.test(e.message),
  );
});

const CLUSTERED =
  'services:\n  a:\n    protocol: dubbo\n    interface: com.x.A\n    registries:\n' +
  '      - { cluster: dc1, registry: "zookeeper://127.0.0.1:2181" }\n' +
  '      - { cluster: dc2, registry: "nacos://127.0.0.1:8848", priority: 7 }\n';

test('registries: clusters with priorities (default: the position), and whether a timeout was written', () => {
  const c = loadConfigFiles([{ file: 'm.yaml', text: CLUSTERED }], '.');
  const a = c.services.get('a')!;
  assert.deepEqual(a.registries, [
    { cluster: 'dc1', registry: 'zookeeper://127.0.0.1:2181', priority: 0 },
    { cluster: 'dc2', registry: 'nacos://127.0.0.1:8848', priority: 7 },
  ]);
  assert.equal(a.registry, undefined);
  assert.equal(a.timeoutSet, false);
  assert.equal(a.timeoutMs, 3000);
  const timed = loadConfigFiles([{ file: 'm.yaml', text: SERVICE + '    timeout: 3s\n' }], '.').services.get('a')!;
  assert.equal(timed.timeoutSet, true);
});

test('registries: a cluster named twice, a registry listed twice, registries beside registry, and bad entries are each placed', () => {
  // the second dc1 (line 7) is the problem
  const twice = problemsOf(CLUSTERED.replace('cluster: dc2', 'cluster: dc1'));
  assert.match(twice[0]!, /^m\.yaml:7:\d+: cluster "dc1" of service "a" is named twice \(entries #1 and #2\)/);
  const sameUrl = problemsOf(CLUSTERED.replace('nacos://127.0.0.1:8848', 'zookeeper://127.0.0.1:2181'));
  assert.match(sameUrl[0]!, /^m\.yaml:7:\d+: registry "zookeeper:\/\/127\.0\.0\.1:2181" of service "a" is listed twice/);
  const both = problemsOf(CLUSTERED + '    registry: zookeeper://127.0.0.1:2182\n');
  assert.match(both[0]!, /^m\.yaml:5:5: service "a" has both "registry" and "registries"; choose one/);
  // a cluster name with a space, a priority over 100, an entry without a registry
  assert.match(problemsOf(CLUSTERED.replace('cluster: dc1', 'cluster: "dc 1"'))[0]!, /^m\.yaml:6:\d+: .*letters, digits/);
  assert.match(problemsOf(CLUSTERED.replace('priority: 7', 'priority: 101'))[0]!, /^m\.yaml:7:\d+: .*priority/);
  assert.match(problemsOf(CLUSTERED.replace(', registry: "nacos://127.0.0.1:8848"', ''))[0]!, /^m\.yaml:7:\d+: .*registry/);
});
