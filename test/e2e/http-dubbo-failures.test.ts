/**
 * A provider that dies mid-call, hangs, comes back, or runs out of threads: calls in flight fail
 * with a coded error, nothing hangs, and Ferry keeps serving (real Apache Dubbo provider, real sockets).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';

let provider: JavaProvider;
let ferry: TestFerry;

before(async () => {
  provider = await startJavaProvider({ name: 'failures', threads: 4 });
  ferry = await startTestFerry({
    dubboAddress: provider.address,
    extra: {
      'slow.yaml':
        'routes:\n  - id: slow-long\n    http: GET /slow-long/{millis}\n    call: accounts.slow\n    timeout: 20s\n    args: [{ from: path.millis, type: int }]\n' +
        '  - id: ping-1s\n    http: GET /ping-1s\n    call: accounts.ping\n    timeout: 1s\n',
    },
  });
});

after(async () => {
  await ferry?.close();
  await provider?.stop();
});

test('provider thread pool exhausted (4 threads, 8 concurrent 1.5 s calls) → some 503 FERRY_UPSTREAM_OVERLOADED', async () => {
  const replies = await Promise.all(Array.from({ length: 8 }, () => http(ferry.base, 'GET', '/slow-long/1500')));
  const codes = replies.map((r) => (r.status === 200 ? 'ok' : r.json?.code));
  assert.ok(codes.includes('ok'), `no call succeeded: ${codes.join(',')}`);
  const overloaded = replies.filter((r) => r.status === 503);
  assert.ok(overloaded.length > 0, `no call was refused: ${codes.join(',')}`);
  for (const r of overloaded) assert.equal(r.json.code, 'FERRY_UPSTREAM_OVERLOADED');
});

test('provider killed with calls in flight: they fail fast, later calls 503, and it recovers when the provider is back', async () => {
  assert.equal((await http(ferry.base, 'GET', '/ping')).json, 'pong');
  const inFlight = Array.from({ length: 3 }, () => http(ferry.base, 'GET', '/slow-long/10000'));
  await sleep(500);
  await provider.kill();
  const replies = await Promise.all(inFlight);
  for (const r of replies) {
    assert.equal(r.status, 502, r.text);
    assert.equal(r.json.code, 'FERRY_UPSTREAM_CONNECTION_LOST');
  }
  // CONNECTION_LOST (not TIMEOUT) shows they failed when the socket closed, not at the 20 s route timeout.

  const down = await http(ferry.base, 'GET', '/ping');
  assert.equal(down.status, 503, down.text);
  assert.equal(down.json.code, 'FERRY_UPSTREAM_UNAVAILABLE');

  await provider.restart();
  let last = down;
  for (let i = 0; i < 100; i++) {
    last = await http(ferry.base, 'GET', '/ping');
    if (last.status === 200) break;
    await sleep(200);
  }
  assert.equal(last.status, 200, `Ferry did not reconnect: ${last.text}`);
  assert.equal(last.json, 'pong');
});

test('a provider that hangs (its JVM SIGSTOPped): calls answer 504 at the route timeout, Ferry keeps answering, and the same connection serves again after SIGCONT', async () => {
  assert.equal((await http(ferry.base, 'GET', '/ping-1s')).json, 'pong');
  process.kill(provider.pid, 'SIGSTOP');
  try {
    const hung = await Promise.all([http(ferry.base, 'GET', '/ping-1s'), http(ferry.base, 'GET', '/ping-1s')]);
    for (const r of hung) {
      assert.equal(r.status, 504, r.text);
      assert.equal(r.json.code, 'FERRY_UPSTREAM_TIMEOUT');
      assert.equal(r.json.route, 'ping-1s');
    }
    // Meanwhile requests that need no upstream are answered (input: a non-numeric account id).
    const bad = await http(ferry.base, 'GET', '/accounts/abc');
    assert.equal(bad.status, 400, bad.text);
  } finally {
    process.kill(provider.pid, 'SIGCONT');
  }
  // The TCP connection survived the pause: no reconnect is needed for the next call.
  const back = await http(ferry.base, 'GET', '/ping-1s');
  assert.equal(back.status, 200, back.text);
  assert.equal(back.json, 'pong');
});
