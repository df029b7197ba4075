/**
 * Test certificates made by Debian's `openssl`, once per test file, into a temporary folder: a CA,
 * a server certificate for localhost / 127.0.0.1, a second one (rotation), a client certificate,
 * an expired server certificate, one for the wrong name, and a server certificate from a CA that
 * nobody trusts. EC P-256 keys: quick to make.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface CertPair {
  readonly cert: string;
  readonly key: string;
}

export interface TestCerts {
  readonly dir: string;
  /** The trusted CA certificate (PEM file). */
  readonly ca: string;
  /** localhost, 127.0.0.1, ::1. */
  readonly server: CertPair;
  /** The same names as `server`, another key and serial: what a rotation puts in place. */
  readonly server2: CertPair;
  /** A client certificate (CN=ferry-client) signed by the CA. */
  readonly client: CertPair;
  /** localhost, expired yesterday. */
  readonly expired: CertPair;
  /** For wrong.example only. */
  readonly wrongName: CertPair;
  /** localhost, signed by a CA nobody trusts. */
  readonly unknownCa: CertPair;
  /** The untrusted CA's certificate. */
  readonly otherCa: string;
  read(file: string): Buffer;
  /** The SHA-256 fingerprint of a certificate file, as Node's `fingerprint256` shows it. */
  fingerprint(file: string): string;
  remove(): void;
}

const LOCAL_NAMES = 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1';

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): void {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-subj',
      `/CN=Ferry test ${name}`,
      '-days',
      '30',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
}

function makeLeaf(dir: string, name: string, ca: string, cn: string, ext: string, days: number): CertPair {
  openssl(
    [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${cn}`,
    ],
    dir,
  );
  writeFileSync(path.join(dir, `${name}.ext`), `${ext}\n`);
  // A negative -days makes a certificate whose notAfter is already past.
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-days',
      String(days),
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    ],
    dir,
  );
  return { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
}

/** Makes the set in a new temporary folder (about a second of openssl). */
export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(path.join(tmpdir(), 'ferry-certs-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  const server = makeLeaf(dir, 'server', 'ca', 'localhost', LOCAL_NAMES, 30);
  const server2 = makeLeaf(dir, 'server2', 'ca', 'localhost', LOCAL_NAMES, 30);
  const client = makeLeaf(dir, 'client', 'ca', 'ferry-client', 'extendedKeyUsage=clientAuth', 30);
  const expired = makeLeaf(dir, 'expired', 'ca', 'localhost', LOCAL_NAMES, -1);
  const wrongName = makeLeaf(dir, 'wrong-name', 'ca', 'wrong.example', 'subjectAltName=DNS:wrong.example', 30);
  const unknownCa = makeLeaf(dir, 'unknown-ca', 'other-ca', 'localhost', LOCAL_NAMES, 30);
  return {
    dir,
    ca: path.join(dir, 'ca.pem'),
    otherCa: path.join(dir, 'other-ca.pem'),
    server,
    server2,
    client,
    expired,
    wrongName,
    unknownCa,
    read: (file) => readFileSync(file),
    fingerprint: (file) => {
      const out = execFileSync('openssl', ['x509', '-in', file, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' });
      return out.slice(out.indexOf('=') + 1).trim();
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
