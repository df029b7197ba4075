/**
 * A service's `tls:` in the loader: files read relative to the mapping folder into the UpstreamTls
 * object every transport takes, and each bad file reported at the line and column of its key.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfigFiles } from '../../src/config/loader.js';
import { makeTestCerts, type TestCerts } from '../support/certs.js';

let certs: TestCerts;
before(() => {
  certs = makeTestCerts();
  writeFileSync(path.join(certs.dir, 'not-pem.txt'), 'hello\n');
});
after(() => certs.remove());

const service = (tls: string): string =>
  ['services:', '  pay:', '    protocol: dubbo', '    interface: com.example.Pay', '    endpoints: [127.0.0.1:20880]', `    tls: ${tls}`, ''].join(
    '\n',
  );

function problems(text: string): ConfigError {
  try {
    loadConfigFiles([{ file: 'm.yaml', text }], certs.dir);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail(`loaded without a problem: ${text}`);
}

test('tls files are read relative to the mapping folder into context buffers, with the server name', () => {
  const config = loadConfigFiles(
    [{ file: 'm.yaml', text: service('{ ca: ca.pem, cert: client.pem, key: client.key, serverName: pay.internal }') }],
    certs.dir,
  );
  const tls = config.services.get('pay')!.tls!;
  assert.deepEqual(tls.context.ca, certs.read(certs.ca));
  assert.deepEqual(tls.context.cert, certs.read(certs.client.cert));
  assert.deepEqual(tls.context.key, certs.read(certs.client.key));
  assert.equal(tls.servername, 'pay.internal');
});

test('a missing CA file (input: ca: missing.pem) is reported at the ca key, with the path', () => {
  const err = problems(service('{ ca: missing.pem }'));
  assert.equal(err.problems.length, 1);
  const p = err.problems[0]!;
  assert.deepEqual([p.file, p.line, p.col], ['m.yaml', 6, 16]);
  assert.match(p.message, /"tls.ca" of service "pay": .*missing\.pem cannot be used: ENOENT/);
});

test('a file with no PEM block (input: cert: not-pem.txt), a key that does not match its certificate, and cert without key are refused', () => {
  const notPem = problems(service('{ cert: not-pem.txt, key: client.key }')).problems[0]!;
  assert.match(notPem.message, /"tls.cert" .*not-pem\.txt cannot be used: it holds no PEM block/);
  assert.equal(notPem.line, 6);
  const mismatch = problems(service('{ cert: client.pem, key: server.key }')).problems[0]!;
  assert.match(mismatch.message, /node:tls refuses these files/);
  assert.equal(mismatch.line, 6);
  const alone = problems(service('{ cert: client.pem }')).problems[0]!;
  assert.match(alone.message, /key/);
});
