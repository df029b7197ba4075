/**
 * `ferry import` and `validate --against` end to end against the Apache Dubbo sample provider,
 * registered in a real ZooKeeper that doubles as its metadata report: the mapping imported from the
 * API jar Maven built answers through HTTP exactly what the hand-written mappings/bank.yaml answers
 * for the same calls; the types imported from the provider's published service definition equal
 * those imported from the jar; and a mapping with a misspelled method, a wrong parameter type and a
 * wrong version is refused with three file:line:col messages naming what the provider has.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { checkConfigAgainst, resolveSignature, runImport } from '../../src/app/import.js';
import { ConfigError, formatProblem } from '../../src/config/errors.js';
import { loadConfigFiles } from '../../src/config/loader.js';
import type { ServiceSignature } from '../../src/codec/service-signature/model.js';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { javaToolPaths } from '../support/java-build.js';
import { startZooKeeper, type ZooKeeperServer } from '../support/zookeeper.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';
import { createLogger } from '../../src/app/logger.js';

const IFACE = 'com.example.bank.AccountService';
let zk: ZooKeeperServer;
let provider: JavaProvider;
let hand: TestFerry;
let imported: TestFerry;
let fromRegistry: TestFerry;
let both: TestFerry;
let dir: string;

before(async () => {
  zk = await startZooKeeper();
  provider = await startJavaProvider({ name: 'bank', registry: zk.registryUrl, registerMode: 'all', metadataType: 'remote' });
  dir = await mkdtemp(path.join(tmpdir(), 'ferry-import-'));
  const jarOut = path.join(dir, 'jar.yaml');
  await runImport({
    source: javaToolPaths().providerApiJar,
    services: [{ interface: IFACE, version: '1.0.0' }],
    endpoints: [provider.address],
    out: jarOut,
  });
  // Both of the provider's services in one file: the types they share are declared once.
  const labOut = path.join(dir, 'lab.yaml');
  await runImport({
    source: javaToolPaths().providerApiJar,
    services: [{ interface: IFACE, version: '1.0.0' }, { interface: 'com.example.lab.TypeLabService' }],
    endpoints: [provider.address],
    out: labOut,
  });
  const zkOut = path.join(dir, 'zk.yaml');
  await runImport({ source: zk.registryUrl, services: [{ interface: IFACE, version: '1.0.0' }], out: zkOut });
  hand = await startTestFerry({ dubboAddress: provider.address });
  imported = await startTestFerry({ withoutSamples: true, extra: { 'accounts.yaml': await readFile(jarOut, 'utf8') } });
  fromRegistry = await startTestFerry({ withoutSamples: true, extra: { 'accounts.yaml': await readFile(zkOut, 'utf8') } });
  both = await startTestFerry({ withoutSamples: true, extra: { 'both.yaml': await readFile(labOut, 'utf8') } });
});

after(async () => {
  await Promise.all([hand?.close(), imported?.close(), fromRegistry?.close(), both?.close()]);
  await provider?.stop();
  await zk?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The same call through the hand-written route and the imported one: same status, same body. */
const CALLS: ReadonlyArray<{ hand: [string, string, unknown?]; imported: [string, unknown?] }> = [
  { hand: ['GET', '/accounts/2'], imported: ['/AccountService/getAccount', { id: 2 }] },
  { hand: ['GET', '/accounts/9223372036854775807'], imported: ['/AccountService/getAccount', '{"id":9223372036854775807}'] },
  { hand: ['GET', '/accounts/3/maybe'], imported: ['/AccountService/findAccount', { id: 3 }] },
  { hand: ['GET', '/accounts?limit=3'], imported: ['/AccountService/listAccounts', { limit: 3 }] },
  { hand: ['GET', '/accounts/4/summary'], imported: ['/AccountService/accountSummary', { id: 4 }] },
  { hand: ['GET', '/ping'], imported: ['/AccountService/ping'] },
  { hand: ['GET', '/greet/Ann'], imported: ['/AccountService/greet/String', { name: 'Ann' }] },
  { hand: ['GET', '/greet/Ann/times/3'], imported: ['/AccountService/greet/String_int', { name: 'Ann', times: 3 }] },
  {
    hand: [
      'POST',
      '/accounts/3/transfers',
      { to: 7, amount: '100.10', currency: 'USD', memo: 'rent', executeAt: '2024-02-29T09:30:00', tags: ['home'] },
    ],
    imported: [
      '/AccountService/transfer',
      {
        fromId: 3,
        transfer: { to: 7, amount: '100.10', currency: 'USD', memo: 'rent', executeAt: '2024-02-29T09:30:00', tags: ['home'] },
        requestId: 'r-1',
      },
    ],
  },
];

test('the mapping imported from the API jar answers what the hand-written mapping answers', async () => {
  for (const c of CALLS) {
    const [method, p, body] = c.hand;
    const headers = p.endsWith('/transfers') ? { 'x-request-id': 'r-1' } : undefined;
    const want = await http(hand.base, method, p, body, headers);
    const got = await http(imported.base, 'POST', c.imported[0], c.imported[1]);
    assert.equal(want.status, 200, `${method} ${p}: ${want.text}`);
    assert.equal(got.status, want.status, `${c.imported[0]}: ${got.text}`);
    assert.equal(got.text, want.text, `${c.imported[0]} against ${method} ${p}`);
  }
});

test('both services imported into one file: the type lab answers what mappings/lab.yaml answers', async () => {
  const LAB: ReadonlyArray<[string, string, string]> = [
    ['/lab/echo/decimal', '/TypeLabService/echoDecimal', '123456789012345678901234567890.123456789'],
    ['/lab/describe/decimal', '/TypeLabService/describeDecimal', '-0.000000000000000000001'],
    ['/lab/echo/long-array', '/TypeLabService/echoLongArray', '[9223372036854775807,-1,0]'],
    ['/lab/echo/bytes', '/TypeLabService/echoBytes', '"AAEC/w=="'],
    [
      '/lab/echo/transfer',
      '/TypeLabService/echoTransfer',
      '{"to":7,"amount":"1.50","currency":"EUR","memo":"m","executeAt":"2024-02-29T09:30:00","tags":["a"]}',
    ],
  ];
  for (const [handPath, importedPath, value] of LAB) {
    const want = await http(hand.base, 'POST', handPath, value);
    const got = await http(both.base, 'POST', importedPath, `{"v":${value}}`);
    assert.equal(want.status, 200, `${handPath}: ${want.text}`);
    assert.equal(got.status, 200, `${importedPath}: ${got.text}`);
    assert.equal(got.text, want.text, importedPath);
  }
  assert.equal((await http(both.base, 'POST', '/AccountService/getAccount', { id: 2 })).text, (await http(hand.base, 'GET', '/accounts/2')).text);
});

test('the mapping imported from the metadata report answers too (arguments arg0…, routed through ZooKeeper)', async () => {
  // The same values; the fields in the order the imported mapping declares them, which is the
  // metadata report's (Dubbo keeps a type's properties in a HashMap: the class's order is lost).
  const zkAccount = /com\.example\.bank\.Account:\n {4}fields:\n((?: {6}.+\n)+)/.exec(await readFile(path.join(dir, 'zk.yaml'), 'utf8'));
  assert.ok(zkAccount !== null, 'zk.yaml declares com.example.bank.Account');
  const declared = zkAccount[1]!
    .trim()
    .split('\n')
    .map((l) => l.trim().split(':')[0]);
  const got = await http(fromRegistry.base, 'POST', '/AccountService/getAccount', { arg0: 2 });
  const want = await http(hand.base, 'GET', '/accounts/2');
  assert.equal(got.status, 200, got.text);
  assert.deepEqual(got.json, want.json);
  assert.deepEqual(Object.keys(got.json as object), declared);
  const list = await http(fromRegistry.base, 'POST', '/AccountService/listAccounts', { arg0: 2 });
  assert.deepEqual(list.json, (await http(hand.base, 'GET', '/accounts?limit=2')).json);
});

/** Types as comparable values: the metadata report keeps no field order, so fields are compared by name. */
function typeTable(sig: ServiceSignature): Record<string, unknown> {
  return Object.fromEntries(
    [...sig.types].map(([n, t]) => [
      n,
      t.kind === 'enum' ? t.constants : Object.fromEntries([...t.fields].sort((a, b) => (a.name < b.name ? -1 : 1)).map((f) => [f.name, f.type])),
    ]),
  );
}

test('the types and methods imported from the jar equal those imported from the provider’s service definition', async () => {
  const fromJar = (await resolveSignature(javaToolPaths().providerApiJar, { interface: IFACE })).signature;
  const fromZk = (await resolveSignature(zk.registryUrl, { interface: IFACE, version: '1.0.0' })).signature;
  assert.equal(fromJar.types.size, 4);
  assert.deepEqual(typeTable(fromZk), typeTable(fromJar));
  const methods = (s: ServiceSignature) => s.methods.map((m) => `${m.name}(${m.descriptor}) ${m.returns ?? 'void'}`).sort();
  assert.deepEqual(methods(fromZk), methods(fromJar));
  // The lab service too (61 methods over every type the sample exercises; no version).
  const labJar = (await resolveSignature(javaToolPaths().providerApiJar, { interface: 'com.example.lab.TypeLabService' })).signature;
  const labZk = (await resolveSignature(zk.registryUrl, { interface: 'com.example.lab.TypeLabService' })).signature;
  assert.deepEqual(typeTable(labZk), typeTable(labJar));
  assert.deepEqual(methods(labZk), methods(labJar));
});

const BAD = (registry: string): string => `services:
  accounts:
    protocol: dubbo
    interface: com.example.bank.AccountService
    version: 2.0.0
    registry: ${registry}
routes:
  - id: get-account
    http: GET /accounts/{id}
    call: accounts.getAcount
    args:
      - { from: path.id, type: long }
  - id: list-accounts
    http: GET /accounts
    call: accounts.listAccounts
    args:
      - { from: query.limit, type: String }
`;

test('validate --against zookeeper://: a misspelled method, a wrong parameter type and a wrong version, three file:line:col messages', async () => {
  const config = loadConfigFiles([{ file: 'bad.yaml', text: BAD(zk.registryUrl) }], dir);
  const err = await checkConfigAgainst(config, zk.registryUrl).then(
    () => assert.fail('the bad mapping passed'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConfigError, String(err));
  assert.deepEqual(err.problems.map(formatProblem), [
    'bad.yaml:5:14: service "accounts": com.example.bank.AccountService is exported with version 1.0.0, group none, not version 2.0.0, group none',
    `bad.yaml:10:11: route "get-account": com.example.bank.AccountService (${zk.registryUrl}/dubbo/metadata/com.example.bank.AccountService/1.0.0/provider/ferry-sample-provider) has no method getAcount; did you mean getAccount(long)?`,
    'bad.yaml:17:9: route "list-accounts": com.example.bank.AccountService has no listAccounts(String); did you mean listAccounts(int)?',
  ]);
  // The shipped mappings match the provider, and the jar.
  const { loadConfigDir } = await import('../../src/config/loader.js');
  const shipped = await loadConfigDir('mappings');
  assert.ok((await checkConfigAgainst(shipped, javaToolPaths().providerApiJar)) > 40);
});

test('serve --check-signatures: the same three mismatches are logged at start-up and shown as /readyz notes', async () => {
  const lines: string[] = [];
  const logger = createLogger({ level: 'warn', sink: { write: (l: string) => lines.push(l) } });
  const bad = await startTestFerry({ withoutSamples: true, extra: { 'bad.yaml': BAD(zk.registryUrl) }, checkSignatures: true, adminPort: 0, logger });
  try {
    const admin = `http://127.0.0.1:${bad.adminPort}`;
    let notes: string[] = [];
    for (let i = 0; i < 100 && notes.length === 0; i++) {
      const r = await http(admin, 'GET', '/readyz');
      notes = ((r.json?.notes as string[] | undefined) ?? []).filter((n) => n.startsWith('signature mismatch'));
      if (notes.length === 0) await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(notes.length, 3, JSON.stringify(notes));
    assert.match(notes[0]!, /bad\.yaml:5:14: service "accounts": com\.example\.bank\.AccountService is exported with version 1\.0\.0/);
    assert.match(notes[1]!, /bad\.yaml:10:11: .*did you mean getAccount\(long\)\?/);
    assert.match(notes[2]!, /bad\.yaml:17:9: .*did you mean listAccounts\(int\)\?/);
    const metrics = (await http(admin, 'GET', '/metrics')).text;
    assert.match(metrics, /^ferry_signature_mismatches 3$/m, 'the mismatches are counted in /metrics');
    assert.match(metrics, /^ferry_signature_checks_total\{result="mismatch"\} 1$/m);
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; line: number }).filter((l) => l.msg === 'signature mismatch');
    assert.deepEqual(
      logged.map((l) => l.line),
      [5, 10, 17],
    );
  } finally {
    await bad.close();
  }
});
