/**
 * DubboConnection against the real Apache Dubbo provider (samples/java-provider), plus small
 * misbehaving peers written here to check our reaction to garbage, silence and peer heartbeats.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, Socket, type Server } from 'node:net';
import { FerryError } from '../../../src/errors/index.js';
import { createDubboConnection, type DubboConnection, type DubboReply, type ConnectionState } from '../../../src/upstream/dubbo/connection.js';
import { DubboTransportError, wasSent } from '../../../src/upstream/dubbo/errors.js';
import { startJavaProvider, type JavaProvider } from '../../support/java-provider.js';
import { freePort } from '../../support/ports.js';
import { decodeErrorMessage, decodeResult, failBody, getAccountBody, accountCall, pingBody, slowBody } from '../../support/hessian-bodies.js';

let provider: JavaProvider;
const open: DubboConnection[] = [];
const servers: Server[] = [];
const peerSockets: Socket[] = [];

function connectTo(port: number, extra: Partial<Parameters<typeof createDubboConnection>[0]> = {}): DubboConnection {
  const c = createDubboConnection({ host: '127.0.0.1', port, ...extra });
  open.push(c);
  return c;
}

function codeOf(err: unknown): string {
  return err instanceof FerryError ? err.code : `not a FerryError: ${String(err)}`;
}

/** Waits (bounded) until `check` holds; fails the test if it never does. */
async function eventually(what: string, check: () => boolean, limitMs = 10_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > until) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A loopback server of our own whose behaviour each test sets. */
async function fakePeer(onSocket: (s: Socket) => void): Promise<{ port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    peerSockets.push(s);
    s.on('error', () => {});
    onSocket(s);
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return { port: addr.port, sockets };
}

before(async () => {
  provider = await startJavaProvider({ name: 'conn-test' });
});

after(async () => {
  for (const c of open) c.destroy();
  await Promise.all(open.map((c) => c.closed()));
  // Listen for 'close' before close(): a closed server no longer reports `listening`. A server
  // closes only once its sockets have: a fake peer that half-closed or ignored the end would hold it.
  const closed = servers.filter((s) => s.listening).map((s) => once(s, 'close'));
  for (const s of servers) s.close();
  for (const s of peerSockets) s.destroy();
  await Promise.all(closed);
  await provider?.stop();
});

test('ping() round trip: status 20 and "pong" decoded by hessian.js', async () => {
  const c = connectTo(provider.dubboPort);
  const reply = await c.call(pingBody(), 5000);
  assert.equal(reply.status, 20);
  const result = decodeResult(reply.body);
  assert.equal(result.value, 'pong');
  assert.equal(c.state, 'ready');
  assert.equal(c.pending, 0);
});

test('64 calls in flight on one connection come back out of order, each matched to its own id', async () => {
  const c = connectTo(provider.dubboPort);
  await c.waitReady();
  const completion: number[] = [];
  const calls = Array.from({ length: 64 }, (_, i) => {
    const millis = (63 - i) * 8; // the first sent sleeps longest
    return c.call(slowBody(millis), 20_000).then((r) => {
      completion.push(i);
      assert.equal(r.status, 20);
      assert.equal(decodeResult(r.body).value, `slept ${millis}`);
    });
  });
  assert.equal(c.pending, 64);
  await Promise.all(calls);
  assert.equal(completion.length, 64);
  assert.notDeepEqual(
    completion,
    [...completion].sort((a, b) => a - b),
    'replies should not arrive in send order',
  );
  assert.ok(completion.indexOf(0) > completion.indexOf(63), 'slow(504) finished after slow(0)');
  assert.equal(c.pending, 0);
});

/** Counts net.Socket#write calls (this process's) while `body` runs; restores the method after. */
async function countingSocketWrites<T>(body: (writes: () => number) => Promise<T>): Promise<T> {
  const proto = Socket.prototype as unknown as { write: (...args: unknown[]) => boolean };
  const original = proto.write;
  let n = 0;
  proto.write = function (this: Socket, ...args: unknown[]) {
    n++;
    return original.apply(this, args);
  };
  try {
    return await body(() => n);
  } finally {
    proto.write = original;
  }
}

test('writes per loop turn: with a call in flight, 20 calls made in one job go out in one write; a lone call on an idle connection is written before the next loop turn', async () => {
  const c = connectTo(provider.dubboPort);
  await c.waitReady();
  await c.call(pingBody(), 5000);
  await countingSocketWrites(async (writes) => {
    // Tried: a lone call, then a microtask queued after it: the call's frame is written by then.
    const lone = c.call(getAccountBody(1), 5000);
    const afterIt = await new Promise<number>((resolve) => queueMicrotask(() => resolve(writes())));
    assert.equal(afterIt, 1, 'a lone call is written within its own job, not held for the loop turn');
    assert.equal((await lone).status, 20);
    // Tried: slow(300) in flight, then 20 calls across 20 microtask turns of one job: one write for all 20.
    const slow = c.call(slowBody(300), 5000);
    await new Promise((r) => setImmediate(r));
    const before = writes();
    const burst: Array<Promise<DubboReply>> = [];
    for (let i = 0; i < 20; i++) {
      burst.push(c.call(getAccountBody(i + 1), 5000));
      await Promise.resolve();
    }
    assert.equal(writes() - before, 0, 'nothing is written while the job runs');
    await new Promise((r) => setImmediate(r));
    assert.equal(writes() - before, 1, 'the 20 frames went out in one write after the job');
    const replies = await Promise.all(burst);
    replies.forEach((r, i) => assert.equal(r.status, 20, `call ${i} answered`));
    assert.equal((await slow).status, 20);
  });
});

test('300 concurrent getAccount(i) calls each get account i back', async () => {
  const c = connectTo(provider.dubboPort);
  const ids = Array.from({ length: 300 }, (_, i) => i + 1);
  const replies = await Promise.all(ids.map((id) => c.call(getAccountBody(id), 20_000)));
  replies.forEach((r, i) => {
    assert.equal(r.status, 20);
    const account = decodeResult(r.body).value as { id: number };
    assert.equal(account.id, ids[i]);
  });
});

test('request ids crossing zero from negative values are answered (firstId -3)', async () => {
  const c = connectTo(provider.dubboPort, { firstId: -3n });
  for (let i = 0; i < 6; i++) {
    const r = await c.call(pingBody(), 5000);
    assert.equal(decodeResult(r.body).value, 'pong');
  }
});

test('non-OK statuses are returned, not thrown (input: method "noSuchMethod" → status 70)', async () => {
  const c = connectTo(provider.dubboPort);
  const r = await c.call(accountCall('noSuchMethod', '', []), 5000);
  assert.equal(r.status, 70);
  assert.match(decodeErrorMessage(r.body), /noSuchMethod/);
});

test('per-call timeout: slow(2000) with a 200 ms timeout → TIMEOUT (sent); the late reply is dropped and the connection still works', async () => {
  const c = connectTo(provider.dubboPort);
  await c.waitReady();
  await assert.rejects(c.call(slowBody(2000), 200), (err: unknown) => {
    assert.equal(codeOf(err), 'FERRY_UPSTREAM_TIMEOUT');
    assert.equal(wasSent(err), true);
    assert.equal((err as FerryError).status, 504);
    return true;
  });
  assert.equal(c.pending, 0);
  assert.equal(decodeResult((await c.call(pingBody(), 5000)).body).value, 'pong');
  await eventually('the late slow(2000) reply arrives', () => c.lateReplies === 1);
  assert.equal(c.state, 'ready');
  assert.equal(decodeResult((await c.call(pingBody(), 5000)).body).value, 'pong');
});

test('cancellation (input: slow(2000) aborted after 100 ms) → CLIENT_CLOSED at once, the slot is freed, the late reply is dropped, the connection still works', async () => {
  const c = connectTo(provider.dubboPort);
  await c.waitReady();
  const late = c.lateReplies;
  const abort = new AbortController();
  const started = performance.now();
  const call = c.call(slowBody(2000), 10_000, abort.signal);
  setTimeout(() => abort.abort(), 100);
  await assert.rejects(call, (err: unknown) => {
    assert.equal(codeOf(err), 'FERRY_CLIENT_CLOSED');
    assert.equal(wasSent(err), true, 'it had been written');
    assert.equal((err as FerryError).status, 499);
    return true;
  });
  assert.ok(performance.now() - started < 2000, 'rejected before the provider answered');
  assert.equal(c.pending, 0, 'the pending slot was freed');
  assert.equal(decodeResult((await c.call(pingBody(), 5000)).body).value, 'pong');
  await eventually("the cancelled call's reply arrives and is dropped", () => c.lateReplies === late + 1);
  assert.equal(c.state, 'ready');
});

test('a call cancelled before its frame was flushed is never written (input: abort in the same job as the call)', async () => {
  const c = connectTo(provider.dubboPort);
  await c.waitReady();
  const late = c.lateReplies;
  const abort = new AbortController();
  // The frame waits for the end of this job (writes are coalesced per microtask); abort first.
  const call = c.call(slowBody(300), 10_000, abort.signal);
  abort.abort();
  await assert.rejects(call, (err: unknown) => codeOf(err) === 'FERRY_CLIENT_CLOSED' && wasSent(err) === false);
  assert.equal(decodeResult((await c.call(slowBody(600), 5000)).body).value, 'slept 600');
  assert.equal(c.lateReplies, late, 'no reply came for the cancelled call: it was never sent');
  await assert.rejects(
    c.call(pingBody(), 5000, AbortSignal.abort()),
    (err: unknown) => codeOf(err) === 'FERRY_CLIENT_CLOSED',
    'an already-aborted signal',
  );
});

test('heartbeats keep an idle connection alive: 200 ms interval, idle for 1.5 s (> 3 intervals)', async () => {
  const c = connectTo(provider.dubboPort, { heartbeatMs: 200 });
  await c.waitReady();
  let sent = 0;
  c.on('heartbeat', () => sent++);
  const states: ConnectionState[] = [];
  c.on('state', (to) => states.push(to));
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(sent >= 3, `expected at least 3 heartbeats, saw ${sent}`);
  assert.equal(c.proven, true, 'the provider answered a heartbeat');
  assert.deepEqual(states, [], 'no state change while idle');
  assert.equal(decodeResult((await c.call(pingBody(), 5000)).body).value, 'pong');
});

test('a reply over maxFrameBytes (input: getAccount reply with a 64-byte limit) → PROTOCOL_ERROR and the connection is destroyed', async () => {
  const c = connectTo(provider.dubboPort, { maxFrameBytes: 64 });
  const inFlight = c.call(slowBody(3000), 10_000);
  await assert.rejects(c.call(getAccountBody(7), 5000), (err: unknown) => {
    assert.equal(codeOf(err), 'FERRY_UPSTREAM_PROTOCOL_ERROR');
    assert.match((err as Error).message, /over the 64-byte limit/);
    assert.equal(wasSent(err), true);
    return true;
  });
  // The other call in flight fails too, at once, rather than waiting for its reply or timeout.
  await assert.rejects(inFlight, (err: unknown) => codeOf(err) === 'FERRY_UPSTREAM_PROTOCOL_ERROR');
  assert.equal(c.state, 'closed');
  await assert.rejects(c.call(pingBody(), 1000), (err: unknown) => codeOf(err) === 'FERRY_UPSTREAM_UNAVAILABLE' && wasSent(err) === false);
});

test('close() drains: a call in flight completes, new calls are refused, then the socket closes', async () => {
  const c = connectTo(provider.dubboPort);
  await c.waitReady();
  const inFlight = c.call(slowBody(300), 10_000);
  await new Promise((r) => setImmediate(r)); // let the write go out
  const closing = c.close(10_000);
  assert.equal(c.state, 'closing');
  await assert.rejects(c.call(pingBody(), 1000), (err: unknown) => codeOf(err) === 'FERRY_UPSTREAM_UNAVAILABLE' && wasSent(err) === false);
  assert.equal(decodeResult((await inFlight).body).value, 'slept 300');
  await closing;
  assert.equal(c.state, 'closed');
  assert.equal(c.failure, undefined);
});

test('destroy() fails every call at once with CONNECTION_LOST (sent) — input: two slow(5000) calls', async () => {
  const c = connectTo(provider.dubboPort);
  await c.waitReady();
  const calls = [c.call(slowBody(5000), 30_000), c.call(slowBody(5000), 30_000)];
  await new Promise((r) => setImmediate(r));
  c.destroy();
  for (const p of calls) {
    await assert.rejects(p, (err: unknown) => codeOf(err) === 'FERRY_UPSTREAM_CONNECTION_LOST' && wasSent(err) === true);
  }
});

test('connect to a port nobody listens on → UNAVAILABLE, not sent, naming ECONNREFUSED', async () => {
  const port = await freePort();
  const c = connectTo(port);
  await assert.rejects(c.call(pingBody(), 5000), (err: unknown) => {
    assert.ok(err instanceof DubboTransportError);
    assert.equal(err.code, 'FERRY_UPSTREAM_UNAVAILABLE');
    assert.equal(err.sent, false);
    assert.match(err.message, /ECONNREFUSED/);
    assert.equal(err.details.endpoint, `127.0.0.1:${port}`);
    return true;
  });
  await assert.rejects(c.waitReady(), (err: unknown) => codeOf(err) === 'FERRY_UPSTREAM_UNAVAILABLE');
  assert.equal(c.state, 'closed');
});

test('a provider that stops reading (the JVM SIGSTOPped): past 1 MiB waiting to be written, new calls fail at once with OVERLOADED, unsent; after SIGCONT every call that was sent is answered', async () => {
  const limit = 1024 * 1024;
  const c = connectTo(provider.dubboPort, { maxBufferedBytes: limit });
  await c.waitReady();
  // Input: fail(String) with a 256 KiB message, over and over, to a provider that reads nothing.
  const body = failBody('x'.repeat(256 * 1024));
  const sent: Array<Promise<DubboReply>> = [];
  let refused: unknown;
  process.kill(provider.pid, 'SIGSTOP');
  try {
    for (let i = 0; i < 200 && refused === undefined; i++) {
      const call = c.call(body, 120_000);
      // A refused call is already rejected; a sent one stays pending (the JVM cannot answer).
      const outcome = await Promise.race([
        call.then(
          () => 'answered' as const,
          (err: unknown) => ({ err }),
        ),
        new Promise<'pending'>((r) => setTimeout(() => r('pending'), 10)),
      ]);
      if (outcome === 'answered') assert.fail('a stopped JVM answered a call');
      if (outcome === 'pending') sent.push(call);
      else refused = outcome.err;
    }
    assert.ok(c.bufferedBytes > limit - body.length, `refused with ${c.bufferedBytes} bytes waiting`);
  } finally {
    process.kill(provider.pid, 'SIGCONT');
  }
  assert.ok(refused !== undefined, 'no call was refused after 200 × 256 KiB to a stopped provider');
  assert.equal(codeOf(refused), 'FERRY_UPSTREAM_OVERLOADED');
  assert.equal(wasSent(refused), false, 'a refused call never reached the wire, so it may go to another endpoint');
  assert.match((refused as Error).message, /not reading/);
  assert.ok(sent.length > 4, `the kernel's buffers took ${sent.length} calls before Node's buffer filled`);
  // Nothing sent was lost: each call gets Java's answer (fail() throws, which is a status-20 exception reply).
  const replies = await Promise.all(sent);
  for (const r of replies) assert.equal(r.status, 20);
  assert.equal(c.bufferedBytes, 0);
  assert.equal(decodeResult((await c.call(pingBody(), 5000)).body).value, 'pong');
});

test('a peer that answers with garbage (input: "HTTP/1.1 400 ...") → PROTOCOL_ERROR for the call, connection destroyed', async () => {
  const peer = await fakePeer((s) => s.once('data', () => s.write('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n')));
  const c = connectTo(peer.port);
  await assert.rejects(c.call(pingBody(), 5000), (err: unknown) => {
    assert.equal(codeOf(err), 'FERRY_UPSTREAM_PROTOCOL_ERROR');
    assert.equal(wasSent(err), true);
    assert.match((err as Error).message, /magic 0x4854/);
    return true;
  });
  assert.equal(c.state, 'closed');
  assert.equal(c.failure?.code, 'FERRY_UPSTREAM_PROTOCOL_ERROR');
});

test("the peer's heartbeat request (0xE2, id -77) is answered with 0x22, status 20, the same id, body 0x4E", async () => {
  const received: Buffer[] = [];
  const peer = await fakePeer((s) => {
    s.on('data', (d: Buffer) => received.push(d));
    const hb = Buffer.from('dabbe200' + 'ffffffffffffffb3' + '00000001' + '4e', 'hex');
    s.write(hb);
  });
  const c = connectTo(peer.port);
  const [id] = (await once(c, 'peer-heartbeat')) as [bigint];
  assert.equal(id, -77n);
  await eventually('the answer reaches the peer', () => Buffer.concat(received).length >= 17);
  assert.equal(Buffer.concat(received).toString('hex'), 'dabb2214' + 'ffffffffffffffb3' + '00000001' + '4e');
});

test('a silent peer: after 3 heartbeat intervals with nothing read the connection closes and calls fail with CONNECTION_LOST (not TIMEOUT)', async () => {
  const peer = await fakePeer(() => {});
  const c = connectTo(peer.port, { heartbeatMs: 100 });
  await c.waitReady();
  let heartbeats = 0;
  c.on('heartbeat', () => heartbeats++);
  await assert.rejects(c.call(pingBody(), 30_000), (err: unknown) => {
    assert.equal(codeOf(err), 'FERRY_UPSTREAM_CONNECTION_LOST');
    assert.equal(wasSent(err), true);
    assert.match((err as Error).message, /sent nothing for \d+ ms/);
    return true;
  });
  assert.ok(heartbeats >= 1, 'heartbeats were sent before giving up');
  assert.equal(c.state, 'closed');
});

test('the peer closing the socket mid-call fails the call at once with CONNECTION_LOST (input: peer ends after reading)', async () => {
  const peer = await fakePeer((s) => s.once('data', () => s.end()));
  const c = connectTo(peer.port);
  await assert.rejects(c.call(pingBody(), 30_000), (err: unknown) => codeOf(err) === 'FERRY_UPSTREAM_CONNECTION_LOST' && wasSent(err) === true);
});

test('read-only event "R" stops new calls while a call in flight still completes; "W" makes it writable again', async () => {
  let peerSocket: Socket | undefined;
  const peer = await fakePeer((s) => (peerSocket = s));
  const c = connectTo(peer.port);
  await c.waitReady();
  const call = c.call(pingBody(), 10_000);
  await eventually('peer socket', () => peerSocket !== undefined);
  // Read the request header to learn its id, then send R before answering.
  const chunks: Buffer[] = [];
  peerSocket!.on('data', (d: Buffer) => chunks.push(d));
  await eventually('request arrives', () => Buffer.concat(chunks).length >= 16);
  const id = Buffer.concat(chunks).readBigInt64BE(4);
  peerSocket!.write(Buffer.from('dabba200' + '0000000000000001' + '00000002' + '0152', 'hex'));
  await once(c, 'state');
  assert.equal(c.state, 'readonly');
  await assert.rejects(c.call(pingBody(), 1000), (err: unknown) => codeOf(err) === 'FERRY_UPSTREAM_UNAVAILABLE' && wasSent(err) === false);
  const reply = Buffer.alloc(16 + 1);
  Buffer.from('dabb0214', 'hex').copy(reply, 0);
  reply.writeBigInt64BE(id, 4);
  reply.writeInt32BE(1, 12);
  reply[16] = 0x4e;
  peerSocket!.write(reply);
  assert.equal((await call).status, 20);
  peerSocket!.write(Buffer.from('dabba200' + '0000000000000002' + '00000002' + '0157', 'hex'));
  await once(c, 'state');
  assert.equal(c.state, 'ready');
});
