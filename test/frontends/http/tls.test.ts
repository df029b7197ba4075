/**
 * The HTTPS front end over real sockets with certificates made by openssl: HTTP/1.1 and HTTP/2 by
 * ALPN (curl and Node's clients), client-certificate verification, certificate rotation while
 * requests flow, and the per-connection budgets still applying over TLS.
 */
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, renameSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { connect as tlsConnect } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { watchServerCertificates, TlsFilesError, type ServerCertificates } from '../../../src/frontends/tls.js';
import { makeTestCerts, type TestCerts } from '../../support/certs.js';
import { startStubFrontend, type StubFrontend } from './stub.js';

const run = promisify(execFile);
let certs: TestCerts;
let front: StubFrontend | undefined;
let watched: ServerCertificates | undefined;

before(() => {
  certs = makeTestCerts();
});
after(() => certs.remove());
afterEach(async () => {
  await front?.close();
  watched?.close();
  front = undefined;
  watched = undefined;
});

async function serve(opts: { clientCa?: boolean; maxConnections?: number; live?: boolean } = {}): Promise<StubFrontend> {
  let certFile = certs.server.cert;
  let keyFile = certs.server.key;
  if (opts.live) {
    // A copy the rotation test may replace.
    certFile = path.join(certs.dir, 'live.pem');
    keyFile = path.join(certs.dir, 'live.key');
    copyFileSync(certs.server.cert, certFile);
    copyFileSync(certs.server.key, keyFile);
  }
  watched = await watchServerCertificates({ certFile, keyFile, ...(opts.clientCa ? { clientCaFile: certs.ca } : {}) }, { intervalMs: 100 });
  front = await startStubFrontend(opts.maxConnections !== undefined ? { maxConnections: opts.maxConnections } : {}, watched);
  return front;
}

async function curl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run('curl', ['-sS', '--max-time', '10', ...args]);
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout, err: err.stderr };
  }
}

test('curl over HTTP/1.1 and HTTP/2 (ALPN) gets the same answer from the HTTPS port; plain HTTP is not spoken there', async () => {
  const { port } = await serve();
  for (const [flag, version] of [
    ['--http1.1', '1.1'],
    ['--http2', '2'],
  ] as const) {
    const r = await curl(['--cacert', certs.ca, flag, '-w', '\n%{http_version}', `https://127.0.0.1:${port}/ok`]);
    assert.equal(r.code, 0, r.err);
    const [body, seen] = r.out.split('\n');
    assert.deepEqual(JSON.parse(body!), { ok: true });
    assert.equal(seen, version, `curl ${flag} spoke HTTP/${seen}`);
  }
  const plain = await curl([`http://127.0.0.1:${port}/ok`]);
  assert.notEqual(plain.code, 0, 'a plain-text request on the TLS port is not answered as HTTP');
});

test("Node's https (HTTP/1.1) and http2 clients, trusting the CA, are served; a client that does not trust it refuses the server", async () => {
  const { port } = await serve();
  const ca = certs.read(certs.ca);
  const h1 = await new Promise<{ status: number; body: string; alpn: string | false | null }>((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/ok', ca, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, alpn: (res.socket as TLSSocket).alpnProtocol }));
    });
    req.on('error', reject);
  });
  assert.equal(h1.status, 200);
  assert.deepEqual(JSON.parse(h1.body), { ok: true });
  // Node's https client offers no ALPN: the server falls back to HTTP/1.1.
  assert.equal(h1.alpn, false);

  const session = http2.connect(`https://127.0.0.1:${port}`, { ca });
  try {
    const h2 = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const stream = session.request({ ':path': '/echo', ':method': 'POST', 'content-type': 'application/json' });
      let status = 0;
      let body = '';
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => (body += c));
      stream.on('end', () => resolve({ status, body }));
      stream.on('error', reject);
      stream.end('{"a":1}');
    });
    assert.equal(h2.status, 200);
    assert.deepEqual(JSON.parse(h2.body), { bytes: 7 });
    assert.equal(session.alpnProtocol, 'h2');
  } finally {
    session.close();
  }

  const untrusting = await new Promise<Error>((resolve) => {
    https.get({ host: '127.0.0.1', port, path: '/ok', agent: false }, () => resolve(new Error('answered'))).on('error', (err) => resolve(err));
  });
  assert.equal((untrusting as Error & { code?: string }).code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
});

test('with a client CA: a client without a certificate is refused at the handshake (and the refusal is logged); one with a certificate from the CA is served; one from another CA is refused', async () => {
  const f = await serve({ clientCa: true });
  const url = `https://127.0.0.1:${f.port}/ok`;
  const bare = await curl(['--cacert', certs.ca, url]);
  assert.notEqual(bare.code, 0, 'curl without a client certificate was served');
  assert.equal(f.calls.length, 0, 'the engine was not asked');
  const withCert = await curl(['--cacert', certs.ca, '--cert', certs.client.cert, '--key', certs.client.key, '--http2', url]);
  assert.equal(withCert.code, 0, withCert.err);
  assert.deepEqual(JSON.parse(withCert.out), { ok: true });
  const foreign = await curl(['--cacert', certs.ca, '--cert', certs.unknownCa.cert, '--key', certs.unknownCa.key, url]);
  assert.notEqual(foreign.code, 0, 'a client certificate from an untrusted CA was accepted');
  for (let i = 0; i < 50 && f.refusals.length < 2; i++) await sleep(20);
  assert.ok(
    f.refusals.some((r) => r.reason === 'tls handshake failed' && r.fields['remoteAddress'] === '127.0.0.1'),
    JSON.stringify(f.refusals),
  );
});

test('rotation: the certificate files are replaced while requests flow; new handshakes get the new certificate, open connections keep serving, no request fails', async () => {
  const f = await serve({ live: true });
  const ca = certs.read(certs.ca);
  const oldPrint = certs.fingerprint(certs.server.cert);
  const newPrint = certs.fingerprint(certs.server2.cert);
  assert.notEqual(oldPrint, newPrint);

  const keepAlive = new https.Agent({ keepAlive: true, maxSockets: 1, ca });
  const session = http2.connect(`https://127.0.0.1:${f.port}`, { ca });
  const h2Get = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const s = session.request({ ':path': '/ok' });
      let status = 0;
      s.on('response', (h) => (status = Number(h[':status'])));
      s.resume();
      s.on('end', () => resolve(status));
      s.on('error', reject);
    });
  const h1Get = (agent: https.Agent | false): Promise<{ status: number; print: string; socket: TLSSocket }> =>
    new Promise((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port: f.port, path: '/ok', ca, agent }, (res) => {
          const socket = res.socket as TLSSocket;
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, print: socket.getPeerCertificate().fingerprint256, socket }));
        })
        .on('error', reject);
    });

  const failures: string[] = [];
  const first = await h1Get(keepAlive);
  assert.equal(first.print, oldPrint);
  let stop = false;
  const flows = [
    (async () => {
      while (!stop) {
        const r = await h1Get(keepAlive).catch((e: Error) => (failures.push(`keep-alive: ${e.message}`), undefined));
        if (r && r.status !== 200) failures.push(`keep-alive status ${r.status}`);
        if (r && r.socket !== first.socket) failures.push('the keep-alive connection was dropped');
      }
    })(),
    (async () => {
      while (!stop) {
        const status = await h2Get().catch((e: Error) => (failures.push(`h2: ${e.message}`), 0));
        if (status !== 200) failures.push(`h2 status ${status}`);
      }
    })(),
  ];
  await sleep(200);
  // As a deployment tool does it: write beside, then rename over (the key first, then the certificate).
  copyFileSync(certs.server2.key, path.join(certs.dir, 'next.key'));
  copyFileSync(certs.server2.cert, path.join(certs.dir, 'next.pem'));
  renameSync(path.join(certs.dir, 'next.key'), path.join(certs.dir, 'live.key'));
  renameSync(path.join(certs.dir, 'next.pem'), path.join(certs.dir, 'live.pem'));

  let seen = oldPrint;
  for (let i = 0; i < 100 && seen !== newPrint; i++) {
    const fresh = await h1Get(false).catch((e: Error) => (failures.push(`new connection: ${e.message}`), undefined));
    if (fresh) seen = fresh.print;
    if (seen !== newPrint) await sleep(50);
  }
  await sleep(200);
  stop = true;
  await Promise.all(flows);
  session.close();
  keepAlive.destroy();
  assert.equal(seen, newPrint, 'no new handshake saw the new certificate');
  assert.deepEqual(failures, []);
});

test('a certificate file that is missing, or a key that does not match, is refused at start with the file named', async () => {
  await assert.rejects(
    watchServerCertificates({ certFile: path.join(certs.dir, 'nope.pem'), keyFile: certs.server.key }),
    (err: unknown) => err instanceof TlsFilesError && err.message.includes('nope.pem') && /cannot be read/.test(err.message),
  );
  await assert.rejects(
    watchServerCertificates({ certFile: certs.server.cert, keyFile: certs.client.key }),
    (err: unknown) => err instanceof TlsFilesError && err.message.includes('client.key') && /do not make a usable certificate/.test(err.message),
  );
});

test('the connection cap holds over TLS (input: 2 HTTP/1.1 connections, cap 1): the second gets 503 FERRY_TOO_MANY_CONNECTIONS', async () => {
  const { port } = await serve({ maxConnections: 1 });
  const ca = certs.read(certs.ca);
  const held = tlsConnect({ host: '127.0.0.1', port, ca, ALPNProtocols: ['http/1.1'] });
  await new Promise<void>((resolve, reject) => held.once('secureConnect', resolve).once('error', reject));
  try {
    const second = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port, path: '/ok', ca, agent: false }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });
    assert.equal(second.status, 503);
    assert.equal((JSON.parse(second.body) as { code: string }).code, 'FERRY_TOO_MANY_CONNECTIONS');
  } finally {
    held.destroy();
  }
});
