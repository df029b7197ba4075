/**
 * `registry: { url, tls, username, password }` in the loader: TLS files read like a service's
 * `tls:`, credentials from the value, the environment or a file; a missing variable or file is
 * reported at its key without any secret; the connection identity carries no secret.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfigFiles } from '../../src/config/loader.js';
import { makeTestCerts, type TestCerts } from '../support/certs.js';

const SECRET = 'n4cos-Pa55word';
let certs: TestCerts;
before(() => {
  certs = makeTestCerts();
  writeFileSync(path.join(certs.dir, 'zk-password'), `${SECRET}\n`);
});
after(() => certs.remove());

const mapping = (registry: string): string =>
  ['services:', '  pay:', '    protocol: dubbo', '    interface: com.example.Pay', `    registry: ${registry}`, ''].join('\n');

function problems(text: string): ConfigError {
  try {
    loadConfigFiles([{ file: 'm.yaml', text }], certs.dir);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail(`loaded without a problem: ${text}`);
}

test('a ZooKeeper registry with tls files and a password from a file: url kept, access compiled, identity without the secret', () => {
  const config = loadConfigFiles(
    [
      {
        file: 'm.yaml',
        text: mapping(
          '{ url: "zookeeper://127.0.0.1:2281", tls: { ca: ca.pem, cert: client.pem, key: client.key }, username: ferry, password: { file: zk-password } }',
        ),
      },
    ],
    certs.dir,
  );
  const s = config.services.get('pay')!;
  assert.equal(s.registry, 'zookeeper://127.0.0.1:2281');
  assert.deepEqual(s.registryAccess?.tls?.context.ca, certs.read(certs.ca));
  assert.equal(s.registryAccess?.username, 'ferry');
  assert.equal(s.registryAccess?.password, SECRET, 'the trailing newline of the file is dropped');
  assert.ok(!s.registryAccess.identity.includes(SECRET), s.registryAccess.identity);
});

test('a Nacos password from the environment, in a registries entry', () => {
  process.env.FERRY_TEST_NACOS_PASSWORD = SECRET;
  try {
    const text = [
      'services:',
      '  pay:',
      '    protocol: dubbo',
      '    interface: com.example.Pay',
      '    registries:',
      '      - cluster: dc1',
      '        registry: { url: "nacos://127.0.0.1:8848", username: nacos, password: { env: FERRY_TEST_NACOS_PASSWORD } }',
      '',
    ].join('\n');
    const r = loadConfigFiles([{ file: 'm.yaml', text }], certs.dir).services.get('pay')!.registries![0]!;
    assert.equal(r.registry, 'nacos://127.0.0.1:8848');
    assert.equal(r.access?.password, SECRET);
  } finally {
    delete process.env.FERRY_TEST_NACOS_PASSWORD;
  }
});

test('an unset variable (input: password: { env: FERRY_TEST_UNSET_PW }) and a missing file are reported at their keys, naming no secret', () => {
  delete process.env.FERRY_TEST_UNSET_PW;
  const env = problems(mapping('{ url: "nacos://127.0.0.1:8848", username: nacos, password: { env: FERRY_TEST_UNSET_PW } }')).problems[0]!;
  assert.match(env.message, /"registry.password" of service "pay": the environment variable FERRY_TEST_UNSET_PW is not set/);
  assert.equal(env.line, 5);
  const file = problems(mapping('{ url: "zookeeper://127.0.0.1:2181", username: ferry, password: { file: nope.txt } }')).problems[0]!;
  assert.match(file.message, /"registry.password" of service "pay": .*nope\.txt cannot be used: ENOENT/);
});

test('tls for a Nacos registry (input: nacos:// with tls) and a username without a password are refused', () => {
  const nacosTls = problems(mapping('{ url: "nacos://127.0.0.1:8848", tls: { ca: ca.pem } }')).problems[0]!;
  assert.match(nacosTls.message, /TLS to the registry is for ZooKeeper/);
  const lone = problems(mapping('{ url: "zookeeper://127.0.0.1:2181", username: ferry }'));
  assert.ok(lone.problems.length > 0, 'a username without a password loaded');
});

test('a registry that is neither a URL nor { url, ... } (input: redis://x:1, and an unknown key colour) is reported with the forms allowed', () => {
  for (const bad of ['redis://x:1', '{ url: "zookeeper://127.0.0.1:2181", colour: blue }']) {
    const p = problems(mapping(bad)).problems[0]!;
    assert.match(
      p.message,
      /"registry" of service "pay" must be a registry URL such as "zookeeper:\/\/127\.0\.0\.1:2181".*or \{ url, tls, username, password \}/,
      bad,
    );
    assert.equal(p.line, 5, bad);
  }
  const secret = problems(mapping('{ url: "nacos://127.0.0.1:8848", username: nacos, password: { vault: x } }')).problems.map((p) => p.message);
  assert.ok(
    secret.some((m) => /"registry.password" of service "pay" must be the value, \{ env: NAME \} or \{ file: PATH \}/.test(m)),
    JSON.stringify(secret),
  );
});
