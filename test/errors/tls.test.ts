/**
 * upstreamTlsError: which connection failures are certificate problems (FERRY_UPSTREAM_TLS, never
 * sent, naming the endpoint and the reason) and which are not (left to the transport's own code).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { upstreamTlsError } from '../../src/errors/transport.js';

test("Node's verification codes become FERRY_UPSTREAM_TLS with the endpoint and a reason", () => {
  const cases: Array<[string, RegExp]> = [
    ['CERT_HAS_EXPIRED', /has expired \(CERT_HAS_EXPIRED\)/],
    ['ERR_TLS_CERT_ALTNAME_INVALID', /for another name/],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', /not from a trusted CA/],
    ['SELF_SIGNED_CERT_IN_CHAIN', /not from a trusted CA/],
    ['CLIENT_CERT_REFUSED', /did not accept Ferry's client certificate/],
  ];
  for (const [code, why] of cases) {
    const err = upstreamTlsError(Object.assign(new Error('x'), { code }), '10.0.0.5:50051');
    assert.ok(err, `input: ${code}`);
    assert.equal(err.code, 'FERRY_UPSTREAM_TLS');
    assert.equal(err.status, 503);
    assert.equal(err.sent, false);
    assert.equal(err.details.endpoint, '10.0.0.5:50051');
    assert.match(err.message, /^TLS to 10\.0\.0\.5:50051 failed: /);
    assert.match(err.message, why, `input: ${code}`);
  }
});

test('a plaintext server (OpenSSL "wrong version number") and a handshake alert are TLS failures too', () => {
  const plain = upstreamTlsError(
    Object.assign(new Error('write EPROTO 4097:error:0A00010B:SSL routines:ssl3_get_record:wrong version number'), { code: 'EPROTO' }),
    'h:1',
  );
  assert.match(plain?.message ?? '', /does not speak TLS/);
  const alert = upstreamTlsError(
    Object.assign(new Error('alert certificate required'), { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' }),
    'h:1',
  );
  assert.equal(alert?.code, 'FERRY_UPSTREAM_TLS');
});

test('connection failures that are not about TLS are left alone (input: ECONNREFUSED, ECONNRESET, no error)', () => {
  assert.equal(upstreamTlsError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'h:1'), undefined);
  assert.equal(upstreamTlsError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'h:1'), undefined);
  assert.equal(upstreamTlsError(undefined, 'h:1'), undefined);
});
