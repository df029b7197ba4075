/**
 * JWT and API-key policies end to end: tokens signed by Python's PyJWT, keys served from a JWKS
 * endpoint this test runs (with a key rotated in mid-test), Ferry in front of the Java bank provider.
 * Verified claims feed a Dubbo argument and an attachment; no token material reaches the logs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';
import { createLogger } from '../../src/app/logger.js';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'ferry-api';
const API_KEY = 'k3y-for-the-tests-0123456789';

interface Signed {
  jwks_before: unknown;
  jwks_after: unknown;
  tokens: Record<string, string>;
}

let provider: JavaProvider;
let ferry: TestFerry;
let jwksServer: Server;
let signed: Signed;
let rotated = false;
const fetches: Record<string, number> = {};
const logLines: string[] = [];

before(async () => {
  jwksServer = createServer((req, res) => {
    fetches[req.url ?? ''] = (fetches[req.url ?? ''] ?? 0) + 1;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(rotated ? signed.jwks_after : signed.jwks_before));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const jwks = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`;
  provider = await startJavaProvider({ name: 'bank-auth' });
  // Signed after the JVM is up: the within-skew token (expired 5 s ago) must still be within the skew when sent.
  signed = JSON.parse(execFileSync('.tmp/venv-grpc/bin/python', ['test/support/jwt_tokens.py', ISSUER, AUDIENCE], { encoding: 'utf8' })) as Signed;
  const jwt = (path: string, extra = '') =>
    `{ jwt: { jwks: "${jwks}${path}", issuer: "${ISSUER}", audience: "${AUDIENCE}", clockSkew: 60s${extra} } }`;
  ferry = await startTestFerry({
    dubboAddress: provider.address,
    logger: createLogger({ level: 'debug', sink: { write: (line: string) => logLines.push(line) } }),
    extra: {
      'secure.yaml': [
        'routes:',
        '  - id: secure-greet',
        '    http: GET /secure/greet',
        '    call: accounts.greet',
        '    args: [{ from: claim.sub, type: String }]',
        `    policies: ${jwt('/jwks.json', ', refetchCooldown: 0ms')}`,
        '  - id: secure-attachments',
        '    http: GET /secure/attachments',
        '    call: accounts.receivedAttachments',
        '    attachments: { user: claim.sub }',
        `    policies: ${jwt('/jwks.json', ', refetchCooldown: 0ms')}`,
        '  - id: secure-scoped',
        '    http: GET /secure/scoped',
        '    call: accounts.ping',
        `    policies: ${jwt('/jwks.json', ', scopes: [accounts:write]')}`,
        '  - id: secure-cooldown',
        '    http: GET /secure/cooldown',
        '    call: accounts.ping',
        `    policies: ${jwt('/jwks-cooldown.json', ', refetchCooldown: 1h')}`,
        '  - id: key-greet',
        '    http: GET /key/greet',
        '    call: accounts.greet',
        '    args: [{ from: claim.sub, type: String }]',
        `    policies: { api-key: { keys: [{ name: billing-batch, sha256: ${createHash('sha256').update(API_KEY).digest('hex')} }] } }`,
        '',
      ].join('\n'),
    },
  });
});

after(async () => {
  await ferry?.close();
  await provider?.stop();
  jwksServer?.close();
});

const bearer = (name: string) => ({ authorization: `Bearer ${signed.tokens[name]!}` });

function assertProblem(r: Awaited<ReturnType<typeof http>>, status: number, code: string): void {
  assert.equal(r.status, status, r.text);
  assert.equal(r.headers.get('content-type'), 'application/problem+json');
  assert.equal(r.json.code, code, r.text);
}

describe('jwt policy', () => {
  test('a valid token passes and its sub claim becomes the Java argument', async () => {
    const r = await http(ferry.base, 'GET', '/secure/greet', undefined, bearer('valid'));
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /alice/);
  });

  test('a verified claim feeds a Dubbo attachment the provider sees', async () => {
    const r = await http(ferry.base, 'GET', '/secure/attachments', undefined, bearer('valid'));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.user, 'alice', r.text);
  });

  test('a token that expired within the clock skew still passes', async () => {
    const r = await http(ferry.base, 'GET', '/secure/greet', undefined, bearer('within_skew'));
    assert.equal(r.status, 200, r.text);
  });

  for (const [name, reason] of [
    ['expired', /expired/],
    ['not_yet', /claim/],
    ['wrong_aud', /claim/],
    ['wrong_iss', /claim/],
    ['wrong_sig', /signature/],
    ['none', /algorithm|well-formed/],
  ] as const) {
    test(`the ${name} token gets 401 with a Bearer challenge`, async () => {
      const r = await http(ferry.base, 'GET', '/secure/greet', undefined, bearer(name));
      assertProblem(r, 401, 'FERRY_UNAUTHENTICATED');
      assert.match(r.json.detail, reason);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/);
    });
  }

  test('no Authorization header gets 401 with a bare Bearer challenge', async () => {
    const r = await http(ferry.base, 'GET', '/secure/greet');
    assertProblem(r, 401, 'FERRY_UNAUTHENTICATED');
    assert.equal(r.headers.get('www-authenticate'), 'Bearer');
  });

  test('a token for a missing scope gets 403 insufficient_scope', async () => {
    const r = await http(ferry.base, 'GET', '/secure/scoped', undefined, bearer('scoped'));
    assertProblem(r, 403, 'FERRY_FORBIDDEN');
    assert.match(r.headers.get('www-authenticate') ?? '', /insufficient_scope/);
  });

  test('a key rotated in at the issuer is fetched when a token names its kid', async () => {
    const before = await http(ferry.base, 'GET', '/secure/greet', undefined, bearer('rotated'));
    assertProblem(before, 401, 'FERRY_UNAUTHENTICATED');
    assert.match(before.json.detail, /no key/);
    rotated = true;
    const afterRotation = await http(ferry.base, 'GET', '/secure/greet', undefined, bearer('rotated'));
    assert.equal(afterRotation.status, 200, afterRotation.text);
    assert.match(afterRotation.text, /bob/);
    // The old key still verifies.
    assert.equal((await http(ferry.base, 'GET', '/secure/greet', undefined, bearer('valid'))).status, 200);
  });

  test('unknown kids do not make Ferry fetch the key set again within the cooldown', async () => {
    assert.equal((await http(ferry.base, 'GET', '/secure/cooldown', undefined, bearer('valid'))).status, 200);
    for (let i = 0; i < 20; i++) {
      const r = await http(ferry.base, 'GET', '/secure/cooldown', undefined, bearer('unknown_kid'));
      assertProblem(r, 401, 'FERRY_UNAUTHENTICATED');
    }
    assert.equal(fetches['/jwks-cooldown.json'], 1, JSON.stringify(fetches));
  });
});

describe('api-key policy', () => {
  test('a listed key passes and its name becomes claim.sub', async () => {
    const r = await http(ferry.base, 'GET', '/key/greet', undefined, { 'x-api-key': API_KEY });
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /billing-batch/);
  });

  test('a wrong key and no key get 401 with an ApiKey challenge', async () => {
    for (const headers of [{ 'x-api-key': 'not-the-key' }, {}]) {
      const r = await http(ferry.base, 'GET', '/key/greet', undefined, headers);
      assertProblem(r, 401, 'FERRY_UNAUTHENTICATED');
      assert.equal(r.headers.get('www-authenticate'), 'ApiKey header="x-api-key"');
    }
  });
});

test('no token or key material reaches the logs', async () => {
  await new Promise((resolve) => setTimeout(resolve, 50)); // the request log is written after the loop turn
  const text = logLines.join('');
  assert.ok(logLines.length > 10, `expected request log lines, got ${logLines.length}`);
  for (const [name, token] of Object.entries(signed.tokens)) {
    // Each non-empty part (an alg-none token has no signature).
    for (const part of token.split('.').filter((p) => p !== '')) assert.ok(!text.includes(part), `a part of token ${name} is in the log`);
  }
  assert.ok(!text.includes(API_KEY), 'the API key is in the log');
});
