/**
 * The body limit over a real socket: a client that sends its whole body before reading (Python's
 * urllib, a client nobody here wrote) reads the 413; a body declared beyond the discard bound is
 * answered at once; a connection whose body was read whole serves its next request.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { exchange, get } from '../../support/raw-http.js';
import { startStubFrontend, type StubFrontend } from './stub.js';

const LIMIT = 64 * 1024;
const DISCARD = 4 * 1024 * 1024;
let front: StubFrontend;

before(async () => {
  front = await startStubFrontend({ maxBodyBytes: LIMIT, bodyDiscardBytes: DISCARD });
});

after(async () => {
  await front?.close();
});

// urllib writes the request and the whole body, and only then reads the answer.
const URLLIB = `
import json, sys, urllib.request, urllib.error
url, size = sys.argv[1], int(sys.argv[2])
req = urllib.request.Request(url, data=b'"' + b'x' * (size - 2) + b'"', method='POST', headers={'content-type': 'application/json'})
try:
    with urllib.request.urlopen(req, timeout=30) as r:
        print(json.dumps({'status': r.status, 'type': r.headers['content-type'], 'body': json.loads(r.read())}))
except urllib.error.HTTPError as e:
    print(json.dumps({'status': e.code, 'type': e.headers['content-type'], 'body': json.loads(e.read())}))
`;

async function urllibPost(path: string, size: number): Promise<{ status: number; type: string; body: any }> {
  const { stdout } = await promisify(execFile)('python3', ['-c', URLLIB, `http://127.0.0.1:${front.port}${path}`, String(size)]);
  return JSON.parse(stdout) as { status: number; type: string; body: any };
}

test(`Python urllib posting 2 MiB (limit ${LIMIT} bytes) reads 413 FERRY_BODY_TOO_LARGE instead of a broken pipe; the engine is not asked`, async () => {
  const calls = front.calls.length;
  const r = await urllibPost('/echo', 2 * 1024 * 1024);
  assert.equal(r.status, 413);
  assert.equal(r.type, 'application/problem+json');
  assert.equal(r.body.code, 'FERRY_BODY_TOO_LARGE');
  assert.equal(front.calls.length, calls);
  // A body within the limit from the same client goes through.
  const ok = await urllibPost('/echo', 1000);
  assert.deepEqual([ok.status, ok.body], [200, { bytes: 1000 }]);
});

test('after a 413 for a body read whole (input: 200 000 bytes, then GET /ok on the same connection) the connection serves on', async () => {
  const big = `POST /echo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 200000\r\n\r\n${'1'.repeat(200_000)}`;
  const { responses } = await exchange(front.port, big + get('/ok', 'connection: close\r\n'));
  assert.deepEqual(
    responses.map((r) => [r.status, r.json?.code ?? r.json?.ok]),
    [
      [413, 'FERRY_BODY_TOO_LARGE'],
      [200, true],
    ],
  );
});

test('a chunked body over the limit (input: 100 chunks of 1 000 bytes) → 413 after the last chunk', async () => {
  let body = '';
  for (let i = 0; i < 100; i++) body += `3e8\r\n${'2'.repeat(1000)}\r\n`;
  const req = `POST /echo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n${body}0\r\n\r\n`;
  const { responses } = await exchange(front.port, req + get('/ok', 'connection: close\r\n'));
  assert.deepEqual(
    responses.map((r) => r.status),
    [413, 200],
  );
  assert.equal(responses[0]!.json.code, 'FERRY_BODY_TOO_LARGE');
});

test(`a body declared over the discard bound (input: content-length 1 GiB, bound ${DISCARD}) → 413 at once and the connection closes, without reading it`, async () => {
  const head = `POST /echo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${1024 ** 3}\r\n\r\n`;
  const { responses, closedByServer } = await exchange(front.port, head + 'x'.repeat(1000));
  assert.equal(responses[0]?.status, 413);
  assert.equal(responses[0].json.code, 'FERRY_BODY_TOO_LARGE');
  assert.equal(responses[0].headers['connection'], 'close');
  assert.equal(closedByServer, true);
});
