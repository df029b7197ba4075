/**
 * `canary:` (tag routing), labelled static endpoints and gRPC `metadata:` in mappings: what loads,
 * and each refusal with its file:line:col.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigFiles } from '../../src/config/loader.js';
import { ConfigError } from '../../src/config/errors.js';

const DUBBO = 'services:\n  a:\n    protocol: dubbo\n    interface: com.x.A\n    endpoints: [127.0.0.1:20880]\n';
const GRPC = 'services:\n  g:\n    protocol: grpc\n    proto: p.proto\n    service: x.G\n    endpoints: [127.0.0.1:50061]\n';

function load(text: string) {
  return loadConfigFiles([{ file: 'm.yaml', text }], '.');
}

function problemsOf(text: string): string[] {
  try {
    load(text);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e.message.split('\n');
  }
  assert.fail('the config loaded without an error');
}

test('a service canary loads with its defaults; static endpoints keep their labels', () => {
  const c = load(
    'services:\n  a:\n    protocol: dubbo\n    interface: com.x.A\n' +
      '    endpoints:\n      - 127.0.0.1:20880\n      - { address: 127.0.0.1:20881, labels: { dubbo.tag: gray, zone: z1 } }\n' +
      '    canary:\n      tagFrom: header.x-dubbo-tag\n      split: [{ weight: 9 }, { tag: gray, weight: 1 }]\n      splitOn: claim.sub\n',
  );
  const a = c.services.get('a')!;
  assert.deepEqual(a.endpoints, ['127.0.0.1:20880', '127.0.0.1:20881']);
  assert.deepEqual(a.endpointLabels, { '127.0.0.1:20881': { 'dubbo.tag': 'gray', zone: 'z1' } });
  const { source, ...canary } = a.canary!;
  assert.deepEqual(canary, {
    label: 'dubbo.tag',
    tagFrom: ['header.x-dubbo-tag'],
    force: false,
    split: [
      { tag: undefined, weight: 9 },
      { tag: 'gray', weight: 1 },
    ],
    splitOn: 'claim.sub',
  });
  assert.equal(source.line, 8, 'the canary is placed at its key');
});

test('a route may replace its service canary or turn it off', () => {
  const c = load(
    DUBBO +
      '    canary: { tagFrom: header.x-tag }\n' +
      'routes:\n  - { id: off, http: GET /off, call: a.m, canary: false }\n' +
      '  - { id: own, http: GET /own, call: a.m, canary: { label: version, tagFrom: [cookie.v, query.v], force: true } }\n' +
      '  - { id: inherits, http: GET /inh, call: a.m }\n',
  );
  const byId = new Map(c.routes.map((r) => [r.id, r]));
  assert.equal(byId.get('off')!.canary, false);
  const own = byId.get('own')!.canary;
  assert.ok(own !== false && own !== undefined, 'route "own" has its own canary');
  assert.equal(own.label, 'version');
  assert.deepEqual(own.tagFrom, ['cookie.v', 'query.v']);
  assert.equal(own.force, true);
  assert.equal(byId.get('inherits')!.canary, undefined);
});

test('canary problems the loader finds, each at its place (inputs: nothing names a tag, splitOn without split, a tag twice, all weights 0)', () => {
  assert.match(problemsOf(DUBBO + '    canary: { force: true }\n')[0]!, /^m\.yaml:6:5: "canary" of service "a" needs "tagFrom" .* or "split"/);
  assert.match(
    problemsOf(DUBBO + '    canary:\n      tagFrom: header.t\n      splitOn: claim.sub\n')[0]!,
    /^m\.yaml:8:16: "splitOn" of service "a" hashes .* but "canary" has no "split"/,
  );
  assert.match(
    problemsOf(DUBBO + '    canary:\n      split:\n        - { tag: gray, weight: 1 }\n        - { tag: gray, weight: 2 }\n')[0]!,
    /^m\.yaml:9:11: "split" of service "a" names tag "gray" twice \(entries #1 and #2\)/,
  );
  assert.match(
    problemsOf(DUBBO + '    canary:\n      split: [{ weight: 0 }, { tag: gray, weight: 0 }]\n')[0]!,
    /^m\.yaml:7:14: every "weight" of the split of service "a" is 0/,
  );
  assert.match(
    problemsOf(DUBBO + 'routes:\n  - http: GET /x\n    call: a.m\n    canary: { splitOn: header.u }\n')[0]!,
    /^m\.yaml:9:13: "canary" of route "a.m" needs "tagFrom"/,
  );
});

test('the schema refuses a body source, an unknown canary key, a negative weight and a bad label name', () => {
  const msgs = [
    problemsOf(DUBBO + '    canary: { tagFrom: body.tag }\n')[0]!,
    problemsOf(DUBBO + '    canary: { tagFrom: header.t, colour: red }\n')[0]!,
    problemsOf(DUBBO + '    canary: { split: [{ weight: -1 }] }\n')[0]!,
    problemsOf(DUBBO + '    canary: { label: "a b", tagFrom: header.t }\n')[0]!,
  ];
  for (const m of msgs) assert.match(m, /^m\.yaml:6:\d+: /, m);
  assert.match(msgs[1]!, /unknown key "colour"/);
});

test('gRPC routes take metadata from request sources; dubbo routes, reserved and grpc- names are refused', () => {
  const c = load(GRPC + 'routes:\n  - http: GET /x\n    call: g.M\n    metadata: { x-user: claim.sub, x-trace: header.x-trace }\n');
  const r = c.routes[0]!;
  assert.ok(r.protocol === 'grpc', 'a grpc route');
  assert.deepEqual(r.metadata, { 'x-user': 'claim.sub', 'x-trace': 'header.x-trace' });
  assert.match(
    problemsOf(DUBBO + 'routes:\n  - http: GET /x\n    call: a.m\n    metadata: { x-user: claim.sub }\n')[0]!,
    /^m\.yaml:9:15: "metadata" applies to grpc and triple routes; .*\(use "attachments"\)/,
  );
  assert.match(
    problemsOf(GRPC + 'routes:\n  - http: GET /x\n    call: g.M\n    metadata: { user-agent: claim.sub }\n')[0]!,
    /^m\.yaml:10:\d+: metadata "user-agent" of route "g.M" is a transport header/,
  );
  for (const name of ['grpc-timeout', 'x-bytes-bin', 'X-Upper']) {
    const [m] = problemsOf(GRPC + `routes:\n  - http: GET /x\n    call: g.M\n    metadata: { ${name}: claim.sub }\n`);
    assert.match(m!, /^m\.yaml:10:\d+: /, `metadata name ${name}: ${m}`);
  }
});
