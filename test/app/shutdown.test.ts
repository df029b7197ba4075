import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import Fastify from 'fastify';
import { createShutdown } from '../../src/app/shutdown.js';

/** One request on a fresh connection (`connection: close`), so "accepted" means "connected". */
function get(port: number, path: string): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end();
  });
}

async function serverWithGate() {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let entered = 0;
  let onEnter: (() => void) | undefined;
  const shutdown = createShutdown({ drainTimeoutMs: 10_000, stepTimeoutMs: 10_000 });
  const app = Fastify({ logger: false });
  app.addHook('onRequest', async (req) => {
    (req as unknown as { done: () => void }).done = shutdown.begin();
  });
  app.addHook('onResponse', async (req) => {
    (req as unknown as { done: () => void }).done();
  });
  app.get('/slow', async () => {
    entered++;
    onEnter?.();
    await gate;
    return { ok: true };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  const waitEntered = (n: number) =>
    new Promise<void>((resolve) => {
      if (entered >= n) return resolve();
      onEnter = () => entered >= n && resolve();
    });
  return { app, port, shutdown, release, waitEntered };
}

test('SIGTERM-style shutdown: in-flight requests finish, new connections are refused, pools close after the drain', async () => {
  const s = await serverWithGate();
  const order: string[] = [];
  s.shutdown.onStopAccepting({ name: 'http', run: () => s.app.close().then(() => order.push('http closed')) });
  s.shutdown.onClose({ name: 'pools', run: () => void order.push(`pools closed (inFlight=${s.shutdown.inFlight})`) });
  s.shutdown.onClose({ name: 'telemetry', run: () => void order.push('telemetry flushed') });

  const inflight = Array.from({ length: 5 }, () => get(s.port, '/slow'));
  await s.waitEntered(5);
  assert.equal(s.shutdown.inFlight, 5);
  const done = s.shutdown.shutdown('SIGTERM');
  assert.equal(s.shutdown.draining, true);

  // Once the listener is closed, a new connection (input: GET /slow after SIGTERM) is refused, not accepted and dropped.
  while (s.app.server.listening) await new Promise((r) => setImmediate(r));
  const late = await get(s.port, '/slow');
  assert.deepEqual(late, { error: 'ECONNREFUSED' });

  s.release();
  const results = await Promise.all(inflight);
  for (const r of results) assert.deepEqual(r, { status: 200, body: '{"ok":true}' });
  const result = await done;
  assert.deepEqual(result, { drained: true, remaining: 0, failedSteps: [] });
  assert.deepEqual(order, ['http closed', 'pools closed (inFlight=0)', 'telemetry flushed']);
  // Calling again returns the same outcome without running the steps twice.
  assert.equal(await s.shutdown.shutdown('SIGINT'), result);
  assert.equal(order.length, 3);
});

test('the drain has a limit: a request that never finishes (input: gate never opened) is counted as remaining', async () => {
  const shutdown = createShutdown({ drainTimeoutMs: 200, stepTimeoutMs: 200 });
  const finished = shutdown.begin();
  const steps: string[] = [];
  shutdown.onStopAccepting({ name: 'http', run: () => new Promise(() => {}) }); // a close() that never resolves
  shutdown.onClose({ name: 'pools', run: () => void steps.push('pools') });
  shutdown.onClose({ name: 'broken', run: () => Promise.reject(new Error('flush failed')) });
  const result = await shutdown.shutdown('SIGTERM');
  assert.equal(result.drained, false);
  assert.equal(result.remaining, 1);
  assert.deepEqual([...result.failedSteps].sort(), ['broken', 'http']);
  assert.deepEqual(steps, ['pools'], 'close steps still run after a failed drain');
  finished();
  finished(); // a second call is ignored
  assert.equal(shutdown.inFlight, 0);
});

test('installSignalHandlers: a real SIGTERM to this process runs the shutdown and exits with 0 when drained', async () => {
  const shutdown = createShutdown({ drainTimeoutMs: 5000 });
  const done = shutdown.begin();
  let exitCode: number | undefined;
  const exited = new Promise<void>((resolve) => {
    const remove = shutdown.installSignalHandlers({
      signals: ['SIGTERM'],
      exit: (code) => {
        exitCode = code;
        remove();
        resolve();
      },
    });
  });
  process.kill(process.pid, 'SIGTERM');
  await new Promise((r) => setImmediate(r));
  assert.equal(shutdown.draining, true);
  done();
  await exited;
  assert.equal(exitCode, 0);
});
