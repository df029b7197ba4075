/**
 * The HTTP front end while it closes: a request already running finishes, and a request that
 * arrives after closing began (on a keep-alive connection that is still busy, so closing cannot
 * drop it as idle; fastify describes the same case for its own 503) gets Ferry's coded answer,
 * FERRY_SHUTTING_DOWN, over a real socket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { setImmediate as turn } from 'node:timers/promises';
import type { GatewayRequest, GatewayResponse } from '../../../src/exchange/index.js';
import { createFrontendContract } from '../../../src/frontends/contract.js';
import { createHttpApp } from '../../../src/frontends/http/index.js';
import type { Engine } from '../../../src/gateway/types.js';

test(
  'a request sent on a busy connection after closing began gets 503 FERRY_SHUTTING_DOWN; the one in flight finishes',
  { timeout: 20_000 },
  async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const seen: string[] = [];
    let tracked = 0;
    let answered = 0;
    const engine: Engine = {
      maxBodyBytes: 1024,
      match: () => undefined,
      async handle(req: GatewayRequest): Promise<GatewayResponse> {
        seen.push(req.path);
        if (req.path === '/slow') await held;
        return { status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' };
      },
    };
    const app = createHttpApp(
      createFrontendContract({
        engine: () => engine,
        trackRequest: () => {
          tracked++;
          return () => void answered++;
        },
      }),
    );
    // Which replies the front end has decided on (Node writes them in request order).
    const decided: string[] = [];
    app.addHook('onSend', async (request, _reply, payload) => {
      decided.push(request.url);
      return payload;
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    assert.ok(address !== null && typeof address === 'object');

    const socket = net.connect(address.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write('GET /slow HTTP/1.1\r\nhost: x\r\n\r\n');
    while (seen.length === 0) await turn();

    const closed = app.close();
    // Closing has begun once the listener is gone (fastify runs its preClose hooks before that).
    while (app.server.listening) await turn();
    socket.write('GET /after HTTP/1.1\r\nhost: x\r\n\r\n');
    while (!decided.includes('/after')) await turn();
    release();
    await closed;
    await ended;

    const replies = received.split(/(?=HTTP\/1\.1 )/);
    assert.equal(replies.length, 2, received);
    assert.match(replies[0]!, /^HTTP\/1\.1 200 /);
    assert.match(replies[0]!, /\{"ok":true\}$/);
    assert.match(replies[1]!, /^HTTP\/1\.1 503 /);
    assert.match(replies[1]!, /content-type: application\/problem\+json/i);
    assert.match(replies[1]!, /connection: close/i);
    const problem = JSON.parse(replies[1]!.slice(replies[1]!.indexOf('\r\n\r\n') + 4)) as { code: string; status: number };
    assert.deepEqual([problem.code, problem.status], ['FERRY_SHUTTING_DOWN', 503]);
    assert.deepEqual(seen, ['/slow'], 'the late request never reached the engine');
    // Both are counted in (the drain waits until the refusal is written too) and both counted out.
    assert.deepEqual([tracked, answered], [2, 2]);
  },
);
