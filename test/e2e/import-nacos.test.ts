/**
 * `ferry import --registry nacos://…` and `validate --against nacos://…` against rnacos (a Nacos
 * 2.x server nobody here wrote) and the Apache Dubbo sample provider registered there with its
 * metadata published (register-mode all, metadata-type remote): Dubbo's NacosMetadataReport writes
 * the service definition as a config (`<interface>:<version>:<group>:provider:<app>`, group `dubbo`);
 * Ferry imports it, the imported mapping answers what the hand-written one answers, and a mapping
 * with a misspelled method, a wrong parameter type and a wrong version gets three file:line:col
 * messages naming what the provider has.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { checkConfigAgainst, resolveSignature, runImport } from '../../src/app/import.js';
import { ConfigError, formatProblem } from '../../src/config/errors.js';
import { loadConfigFiles } from '../../src/config/loader.js';
import { definitionDataId } from '../../src/upstream/nacos-service-definitions.js';
import { startNacos, type NacosServer } from '../support/nacos.js';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { javaToolPaths } from '../support/java-build.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';

const IFACE = 'com.example.bank.AccountService';
const APP = 'ferry-sample-provider';
let nacos: NacosServer;
let provider: JavaProvider;
let hand: TestFerry | undefined;
let imported: TestFerry | undefined;
let dir: string;
/** How long after the provider said READY the definition was in rnacos (ms), or why it never was. */
let published: { ms: number } | { missing: string };

async function config(dataId: string, group: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`${nacos.base}/nacos/v1/cs/configs?${new URLSearchParams({ dataId, group })}`, { signal: AbortSignal.timeout(5000) });
  return { status: r.status, text: await r.text() };
}

before(async () => {
  nacos = await startNacos();
  provider = await startJavaProvider({ name: 'nacos-import', registry: nacos.registryUrl, registerMode: 'all', metadataType: 'remote' });
  dir = await mkdtemp(path.join(tmpdir(), 'ferry-import-nacos-'));
  // Dubbo publishes the definition after the export, on its own thread: wait for it (with a deadline).
  const started = Date.now();
  const dataId = definitionDataId(IFACE, '1.0.0', undefined, APP);
  for (;;) {
    const c = await config(dataId, 'dubbo');
    if (c.status === 200 && c.text.includes('"methods"')) {
      published = { ms: Date.now() - started };
      break;
    }
    if (Date.now() - started > 60_000) {
      const list = await fetch(`${nacos.base}/nacos/v1/cs/configs?search=blur&dataId=&group=&pageNo=1&pageSize=100`).then((r) => r.text());
      published = { missing: `no config dubbo/${dataId} 60 s after the provider was ready; rnacos holds: ${list.slice(0, 400)}` };
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  console.log(`service definition in rnacos: ${JSON.stringify(published)}`);
  hand = await startTestFerry({ dubboAddress: provider.address });
});

after(async () => {
  await Promise.all([hand?.close(), imported?.close()]);
  await provider?.stop();
  await nacos?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('Dubbo’s metadata report wrote the service definition to rnacos (where and when)', () => {
  assert.ok('ms' in published, 'missing' in published ? published.missing : 'published');
});

test('the mapping imported from the Nacos metadata report answers what the hand-written mapping answers', async () => {
  assert.ok('ms' in published, 'the definition is in rnacos');
  const out = path.join(dir, 'nacos.yaml');
  const result = await runImport({ source: nacos.registryUrl, services: [{ interface: IFACE, version: '1.0.0' }], out });
  assert.equal(result.written, out);
  const text = await readFile(out, 'utf8');
  assert.match(text, new RegExp(`registry: "?${nacos.registryUrl.replaceAll('.', '\\.')}"?`), text);
  // Route through the naming service too: the imported service has registry: nacos://….
  imported = await startTestFerry({ withoutSamples: true, extra: { 'accounts.yaml': text } });
  const deadline = Date.now() + 30_000;
  let got = await http(imported.base, 'POST', '/AccountService/getAccount', { arg0: 2 });
  while (got.status !== 200 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    got = await http(imported.base, 'POST', '/AccountService/getAccount', { arg0: 2 });
  }
  assert.equal(got.status, 200, got.text);
  assert.deepEqual(got.json, (await http(hand!.base, 'GET', '/accounts/2')).json);
  const list = await http(imported.base, 'POST', '/AccountService/listAccounts', { arg0: 3 });
  assert.deepEqual(list.json, (await http(hand!.base, 'GET', '/accounts?limit=3')).json);
});

test('the types and methods from the Nacos metadata report equal those from the API jar', async () => {
  assert.ok('ms' in published, 'the definition is in rnacos');
  const fromJar = (await resolveSignature(javaToolPaths().providerApiJar, { interface: IFACE })).signature;
  const fromNacos = await resolveSignature(nacos.registryUrl, { interface: IFACE, version: '1.0.0' });
  const methods = (s: typeof fromJar) => s.methods.map((m) => `${m.name}(${m.descriptor}) ${m.returns ?? 'void'}`).sort();
  assert.deepEqual(methods(fromNacos.signature), methods(fromJar));
  assert.deepEqual([...fromNacos.signature.types.keys()].sort(), [...fromJar.types.keys()].sort());
  assert.deepEqual(fromNacos.exported, [{ version: '1.0.0' }], 'the interface-level provider service names its version');
});

test('validate --against nacos://: a misspelled method, a wrong parameter type and a wrong version, three file:line:col messages', async () => {
  assert.ok('ms' in published, 'the definition is in rnacos');
  const bad = `services:
  accounts:
    protocol: dubbo
    interface: ${IFACE}
    version: 2.0.0
    registry: ${nacos.registryUrl}
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
  const loaded = loadConfigFiles([{ file: 'bad.yaml', text: bad }], dir);
  const err = await checkConfigAgainst(loaded, nacos.registryUrl).then(
    () => assert.fail('the bad mapping passed'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConfigError, String(err));
  const lines = err.problems.map(formatProblem);
  assert.equal(lines.length, 3, lines.join('\n'));
  assert.equal(lines[0], `bad.yaml:5:14: service "accounts": ${IFACE} is exported with version 1.0.0, group none, not version 2.0.0, group none`);
  assert.match(lines[1]!, /^bad\.yaml:10:11: route "get-account": .* has no method getAcount; did you mean getAccount\(long\)\?$/);
  assert.match(lines[1]!, /config dubbo\/com\.example\.bank\.AccountService:1\.0\.0::provider:ferry-sample-provider/);
  assert.equal(lines[2], `bad.yaml:17:9: route "list-accounts": ${IFACE} has no listAccounts(String); did you mean listAccounts(int)?`);
});

test('a Nacos that holds no definition of an interface: one clear message, nothing written (input: com.example.Nope)', async () => {
  const out = path.join(dir, 'nope.yaml');
  const err = await runImport({ source: nacos.registryUrl, services: [{ interface: 'com.example.Nope' }], out }).then(
    () => assert.fail('imported a service nobody provides'),
    (e: unknown) => e as Error & { code?: string },
  );
  assert.equal(err.code, 'FERRY_SIGNATURE_SOURCE_INVALID', String(err));
  assert.match(
    err.message,
    /no service definition of com\.example\.Nope at .*mapping\/com\.example\.Nope \(no application maps com\.example\.Nope\)/,
  );
  await assert.rejects(readFile(out, 'utf8'), /ENOENT/);
});
