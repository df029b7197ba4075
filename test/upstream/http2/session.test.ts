/**
 * Ferry's HTTP/2 client session (src/upstream/http2/session.ts) against node:http2's server (a peer
 * nobody here wrote: headers, trailers, flow control in both directions, MAX_CONCURRENT_STREAMS),
 * and against a raw socket server sending what a hostile or broken peer sends: each case says the
 * bytes it tried, and checks the session's answer (the GOAWAY code the peer receives) and what the
 * stream's caller hears. The gRPC path over real gRPC servers (grpcio, grpc-go) is in test/e2e.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { encodeHeaderBlock } from '../../../src/upstream/http2/hpack.js';
import {
  DEFAULT_H2_BUDGETS,
  H2Session,
  H2_COMPRESSION_ERROR,
  H2_ENHANCE_YOUR_CALM,
  H2_FLOW_CONTROL_ERROR,
  H2_FRAME_SIZE_ERROR,
  H2_PROTOCOL_ERROR,
  H2_REFUSED_STREAM,
  type H2Budgets,
  type H2StreamHandler,
} from '../../../src/upstream/http2/session.js';

interface Outcome {
  headers: string[][];
  body: Buffer;
  code: number | undefined;
  error: Error | undefined;
}

/** A stream's handler that collects what it hears; `done` resolves at close. */
function collector(): { handler: H2StreamHandler; done: Promise<Outcome> } {
  const out: Outcome = { headers: [], body: Buffer.alloc(0), code: undefined, error: undefined };
  const chunks: Buffer[] = [];
  let resolve!: (o: Outcome) => void;
  const done = new Promise<Outcome>((r) => (resolve = r));
  return {
    done,
    handler: {
      headers: (fields) => out.headers.push(fields),
      data: (chunk) => chunks.push(Buffer.from(chunk)),
      close: (code, error) => {
        out.body = Buffer.concat(chunks);
        out.code = code;
        out.error = error;
        resolve(out);
      },
    },
  };
}

async function sessionTo(port: number, budgets?: H2Budgets): Promise<{ session: H2Session; closed: Promise<Error | undefined> }> {
  const socket = connect({ host: '127.0.0.1', port, noDelay: true });
  let closedWith!: (e: Error | undefined) => void;
  const closed = new Promise<Error | undefined>((r) => (closedWith = r));
  const session = new H2Session(socket, { remoteSettings: () => {}, goaway: () => {}, close: (e) => closedWith(e) }, budgets);
  await once(socket, 'connect');
  return { session, closed };
}

const request = (path: string): string[] => [
  ':method',
  'POST',
  ':scheme',
  'http',
  ':path',
  path,
  ':authority',
  'test',
  'content-type',
  'application/grpc',
];

/** One call on `session`: what its stream heard by the time it closed. */
function call(session: H2Session, path: string, body: Buffer = Buffer.from('q')): Promise<Outcome> {
  const c = collector();
  session.request(request(path), body, c.handler);
  return c.done;
}

/** A node:http2 stream handler that reads the whole request, then answers `reply` with the count in `x-got`. */
const countingReply =
  (reply: Buffer | string) =>
  (stream: http2.ServerHttp2Stream): void => {
    let got = 0;
    stream.on('data', (c: Buffer) => (got += c.length));
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'x-got': String(got) });
      stream.end(reply);
    });
  };

describe('H2Session against node:http2 server', () => {
  async function withServer(
    onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void,
    settings: http2.Settings = {},
    test: (port: number) => Promise<void>,
  ): Promise<void> {
    const server = http2.createServer({ settings });
    server.on('stream', onStream);
    // A server that gives big stream windows gives the connection as much (node:http2 starts it at 64 KiB).
    const window = settings.initialWindowSize ?? 65_535;
    if (window > 65_535) server.on('session', (session) => session.setLocalWindowSize(window));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      await test((server.address() as AddressInfo).port);
    } finally {
      server.close();
    }
  }

  it('sends headers and body, reads headers, DATA and trailers', async () => {
    await withServer(
      (stream, headers) => {
        const parts: Buffer[] = [];
        stream.on('data', (c: Buffer) => parts.push(c));
        stream.on('end', () => {
          stream.respond(
            { ':status': 200, 'x-path': String(headers[':path']), 'x-got': String(Buffer.concat(parts).length) },
            { waitForTrailers: true },
          );
          stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-twice': ['a', 'b'] }));
          stream.end(Buffer.from('reply-bytes'));
        });
      },
      {},
      async (port) => {
        const { session } = await sessionTo(port);
        const o = await call(session, '/svc/Method', Buffer.from('hello'));
        assert.equal(o.error, undefined, 'a clean end has no error');
        assert.equal(o.code, undefined, 'a clean end has no reset code');
        assert.equal(o.headers.length, 2, 'headers then trailers');
        const [h, t] = o.headers as [string[], string[]];
        assert.deepEqual([h[0], h[1]], [':status', '200']);
        assert.equal(h[h.indexOf('x-path') + 1], '/svc/Method');
        assert.equal(h[h.indexOf('x-got') + 1], '5');
        assert.equal(t[t.indexOf('grpc-status') + 1], '0');
        assert.equal(o.body.toString(), 'reply-bytes');
        session.destroy();
      },
    );
  });

  it('flow control both ways: a 3 MiB request over a 64 KiB window and a 5 MiB reply over a 1 MiB stream window', async () => {
    const reply = Buffer.alloc(5 * 1024 * 1024, 7);
    await withServer(countingReply(reply), { initialWindowSize: 65_535 }, async (port) => {
      const { session } = await sessionTo(port);
      const o = await call(session, '/big', Buffer.alloc(3 * 1024 * 1024, 1));
      assert.equal(o.error, undefined, `no error: ${o.error?.message}`);
      const h = o.headers[0]!;
      assert.equal(h[h.indexOf('x-got') + 1], String(3 * 1024 * 1024), 'the server got the whole request');
      assert.equal(o.body.length, reply.length, 'the whole reply arrived');
      session.destroy();
    });
  });

  it('a 10 MiB upload to a server with 16 MiB windows, with only 64 KiB of unsent bytes allowed: the body waits for drain, the call succeeds', async () => {
    await withServer(countingReply('ok'), { initialWindowSize: 16 * 1024 * 1024 }, async (port) => {
      const { session } = await sessionTo(port, { ...DEFAULT_H2_BUDGETS, maxUnsentBytes: 64 * 1024 });
      await new Promise((r) => setTimeout(r, 50)); // the server's SETTINGS (its big window) arrive first
      const o = await call(session, '/upload', Buffer.alloc(10 * 1024 * 1024, 3));
      assert.equal(o.error, undefined, `no error: ${o.error?.message}`);
      const h = o.headers[0]!;
      assert.equal(h[h.indexOf('x-got') + 1], String(10 * 1024 * 1024), 'the server got the whole body');
      session.destroy();
    });
  });

  it(
    'the last stream id of a connection (2^31-1): the call is served, then the session says goaway so its owner opens a new one',
    { timeout: 10_000 },
    async () => {
      await withServer(
        (stream) => {
          stream.resume();
          stream.respond({ ':status': 200 });
          stream.end('last');
        },
        {},
        async (port) => {
          const socket = connect({ host: '127.0.0.1', port, noDelay: true });
          let goaways = 0;
          let closed!: () => void;
          const ended = new Promise<void>((r) => (closed = r));
          const session = new H2Session(socket, { remoteSettings: () => {}, goaway: () => goaways++, close: () => closed() });
          await once(socket, 'connect');
          (session as unknown as { nextId: number }).nextId = 2 ** 31 - 1;
          const c = collector();
          session.request(request('/last'), Buffer.from('q'), c.handler);
          assert.equal(session.usable, false, 'no stream id is left for another call');
          const o = await c.done;
          assert.equal(o.body.toString(), 'last', 'the call on the last id is served');
          await ended;
          assert.equal(goaways, 1, 'the owner heard goaway once');
        },
      );
    },
  );

  it('waits for a free stream under the server’s MAX_CONCURRENT_STREAMS of 1', async () => {
    let open = 0;
    let most = 0;
    await withServer(
      (stream) => {
        open++;
        most = Math.max(most, open);
        stream.resume();
        setTimeout(() => {
          stream.respond({ ':status': 200 });
          stream.end('x');
          open--;
        }, 20);
      },
      { maxConcurrentStreams: 1 },
      async (port) => {
        const { session } = await sessionTo(port);
        await new Promise((r) => setTimeout(r, 50)); // the server's SETTINGS arrive
        const calls = Array.from({ length: 4 }, () => collector());
        for (const c of calls) session.request(request('/one-at-a-time'), Buffer.from('q'), c.handler);
        const outs = await Promise.all(calls.map((c) => c.done));
        for (const o of outs) assert.equal(o.body.toString(), 'x', 'every call answered');
        assert.equal(most, 1, 'never more than one stream open at the server');
        session.destroy();
      },
    );
  });
});

/** A raw socket server: it reads the client's preface and frames and lets the test write bytes. */
async function rawServer(
  script: (socket: Socket, frames: AsyncIterable<Frame>) => Promise<void>,
): Promise<{ server: Server; port: number; done: Promise<void> }> {
  let finished!: () => void;
  let failed!: (e: unknown) => void;
  const done = new Promise<void>((res, rej) => ((finished = res), (failed = rej)));
  const server = createServer((socket) => {
    socket.on('error', () => {}); // a reset by Ferry is an outcome here, not a failure
    script(socket, framesOf(socket)).then(finished, failed);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, done };
}

interface Frame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

async function* framesOf(socket: Socket): AsyncGenerator<Frame> {
  let buf = Buffer.alloc(0);
  let prefaceSeen = false;
  for await (const chunk of socket) {
    buf = Buffer.concat([buf, chunk as Buffer]);
    if (!prefaceSeen) {
      if (buf.length < 24) continue;
      assert.equal(buf.subarray(0, 24).toString('latin1'), 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'the client preface');
      buf = buf.subarray(24);
      prefaceSeen = true;
    }
    while (buf.length >= 9) {
      const len = buf.readUIntBE(0, 3);
      if (buf.length < 9 + len) break;
      yield { type: buf[3]!, flags: buf[4]!, id: buf.readUInt32BE(5) & 0x7fffffff, payload: buf.subarray(9, 9 + len) };
      buf = buf.subarray(9 + len);
    }
  }
}

function frame(type: number, flags: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return Buffer.concat([h, payload]);
}

const SETTINGS_EMPTY = frame(0x4, 0, 0);

/** The frames of one socket, readable by several for-await loops in turn (none of them ends it). */
function shared(frames: AsyncIterable<Frame>): AsyncIterable<Frame> {
  const iterator = frames[Symbol.asyncIterator]();
  return { [Symbol.asyncIterator]: () => ({ next: () => iterator.next() }) };
}

/** Reads frames until the first HEADERS (the client's request) and returns its stream id. */
async function requestId(frames: AsyncIterable<Frame>): Promise<number> {
  for await (const f of frames) if (f.type === 0x1) return f.id;
  throw new Error('no request came');
}

/** The GOAWAY code the client sends, read until the socket ends. */
async function goawayCode(frames: AsyncIterable<Frame>): Promise<number | undefined> {
  for await (const f of frames) if (f.type === 0x7) return f.payload.readUInt32BE(4);
  return undefined;
}

describe('H2Session against a hostile peer', () => {
  /** Runs one call to a raw server that answers with `reply(streamId)` bytes; gives the outcome and the GOAWAY code the server read. */
  async function hostile(
    reply: (id: number) => Buffer,
    budgets?: H2Budgets,
    paused = false,
  ): Promise<{ outcome: Outcome; goaway: number | undefined; closedWith: Error | undefined }> {
    let goaway: number | undefined;
    const { server, port, done } = await rawServer(async (socket, frames) => {
      socket.write(SETTINGS_EMPTY);
      const it = shared(frames);
      const id = await requestId(it);
      socket.write(reply(id));
      goaway = await goawayCode(it);
    });
    try {
      const { session, closed } = await sessionTo(port, budgets);
      const c = collector();
      const stream = session.request(request('/hostile'), Buffer.from('q'), c.handler);
      if (paused) stream.pause();
      const outcome = await c.done;
      const closedWith = await closed;
      await done;
      return { outcome, goaway, closedWith };
    } finally {
      server.close();
    }
  }

  const okHeaders = encodeHeaderBlock([':status', '200', 'content-type', 'application/grpc']);

  it('a frame larger than SETTINGS_MAX_FRAME_SIZE (a 20,000-byte DATA frame): FRAME_SIZE_ERROR, the call fails', async () => {
    const r = await hostile((id) => Buffer.concat([frame(0x1, 0x4, id, okHeaders), frame(0x0, 0, id, Buffer.alloc(20_000))]));
    assert.equal(r.goaway, H2_FRAME_SIZE_ERROR, 'GOAWAY FRAME_SIZE_ERROR');
    assert.match(r.outcome.error?.message ?? '', /a frame of 20000 bytes, over the 16384/);
    assert.equal(r.closedWith, r.outcome.error, 'the session closed with the same error');
  });

  it('HEADERS then CONTINUATION frames that never end (200 × 1 KiB): ENHANCE_YOUR_CALM at the header budget', async () => {
    const budgets = { ...DEFAULT_H2_BUDGETS, maxHeaderListBytes: 16 * 1024 };
    const r = await hostile(
      (id) => Buffer.concat([frame(0x1, 0, id, okHeaders), ...Array.from({ length: 200 }, () => frame(0x9, 0, id, Buffer.alloc(1024, 0x82)))]),
      budgets,
    );
    assert.equal(r.goaway, H2_ENHANCE_YOUR_CALM, 'GOAWAY ENHANCE_YOUR_CALM');
    assert.match(r.outcome.error?.message ?? '', /a header block of over 16384 bytes/);
  });

  it('DATA past the stream window (2 MiB to a paused stream given 1 MiB, in 16 KiB frames): FLOW_CONTROL_ERROR', async () => {
    const r = await hostile(
      (id) => Buffer.concat([frame(0x1, 0x4, id, okHeaders), ...Array.from({ length: 128 }, () => frame(0x0, 0, id, Buffer.alloc(16_384)))]),
      undefined,
      true,
    );
    assert.equal(r.goaway, H2_FLOW_CONTROL_ERROR, 'GOAWAY FLOW_CONTROL_ERROR');
    assert.match(r.outcome.error?.message ?? '', /past a stream window/);
    assert.equal(r.outcome.body.length, 1024 * 1024, 'exactly the window was delivered before the error');
  });

  it('a header block that is not HPACK (index 0x80 = indexed field 0): COMPRESSION_ERROR', async () => {
    const r = await hostile((id) => frame(0x1, 0x4, id, Buffer.from([0x80])));
    assert.equal(r.goaway, H2_COMPRESSION_ERROR, 'GOAWAY COMPRESSION_ERROR');
    assert.match(r.outcome.error?.message ?? '', /header block could not be decoded/);
  });

  it('DATA before any reply headers: PROTOCOL_ERROR', async () => {
    const r = await hostile((id) => frame(0x0, 0x1, id, Buffer.from('x')));
    assert.equal(r.goaway, H2_PROTOCOL_ERROR, 'GOAWAY PROTOCOL_ERROR');
    assert.match(r.outcome.error?.message ?? '', /DATA before the reply headers/);
  });

  it('padded DATA whose pad length (10) is past its 3-byte payload: PROTOCOL_ERROR', async () => {
    const r = await hostile((id) => Buffer.concat([frame(0x1, 0x4, id, okHeaders), frame(0x0, 0x8, id, Buffer.from([10, 1, 2]))]));
    assert.equal(r.goaway, H2_PROTOCOL_ERROR, 'GOAWAY PROTOCOL_ERROR');
    assert.match(r.outcome.error?.message ?? '', /padding longer than the frame/);
  });

  it('two connection WINDOW_UPDATEs of 2^31-1 (the window overflows): FLOW_CONTROL_ERROR', async () => {
    const max = Buffer.alloc(4);
    max.writeUInt32BE(0x7fffffff);
    const r = await hostile(() => Buffer.concat([frame(0x8, 0, 0, max), frame(0x8, 0, 0, max)]));
    assert.equal(r.goaway, H2_FLOW_CONTROL_ERROR, 'GOAWAY FLOW_CONTROL_ERROR');
    assert.match(r.outcome.error?.message ?? '', /connection window over 2\^31-1/);
  });

  it('SETTINGS with INITIAL_WINDOW_SIZE 2^31: FLOW_CONTROL_ERROR', async () => {
    const setting = Buffer.alloc(6);
    setting.writeUInt16BE(0x4, 0);
    setting.writeUInt32BE(2 ** 31, 2);
    const r = await hostile(() => frame(0x4, 0, 0, setting));
    assert.equal(r.goaway, H2_FLOW_CONTROL_ERROR, 'GOAWAY FLOW_CONTROL_ERROR');
    assert.match(r.outcome.error?.message ?? '', /an initial window over 2\^31-1/);
  });

  it('SETTINGS with MAX_FRAME_SIZE 100 (below 16,384): PROTOCOL_ERROR', async () => {
    const setting = Buffer.alloc(6);
    setting.writeUInt16BE(0x5, 0);
    setting.writeUInt32BE(100, 2);
    const r = await hostile(() => frame(0x4, 0, 0, setting));
    assert.equal(r.goaway, H2_PROTOCOL_ERROR, 'GOAWAY PROTOCOL_ERROR');
    assert.match(r.outcome.error?.message ?? '', /a max frame size of 100/);
  });

  it('a 100 Continue header block before the reply: skipped, the call sees only the final headers', async () => {
    const goaway = Buffer.alloc(8);
    const r = await hostile((id) => {
      goaway.writeUInt32BE(id, 0);
      return Buffer.concat([
        frame(0x1, 0x4, id, encodeHeaderBlock([':status', '100'])),
        frame(0x1, 0x4, id, okHeaders),
        frame(0x0, 0x1, id, Buffer.from('after 100')),
        frame(0x7, 0, 0, goaway), // then the server goes away cleanly, so the session ends
      ]);
    });
    assert.equal(r.outcome.error, undefined, `no error: ${r.outcome.error?.message}`);
    assert.equal(r.outcome.headers.length, 1, 'one header block reached the call');
    assert.deepEqual(r.outcome.headers[0]!.slice(0, 2), [':status', '200']);
    assert.equal(r.outcome.body.toString(), 'after 100');
  });

  it('PUSH_PROMISE though push is disabled: PROTOCOL_ERROR', async () => {
    const r = await hostile((id) => frame(0x5, 0x4, id, Buffer.concat([Buffer.from([0, 0, 0, 2]), okHeaders])));
    assert.equal(r.goaway, H2_PROTOCOL_ERROR, 'GOAWAY PROTOCOL_ERROR');
    assert.match(r.outcome.error?.message ?? '', /PUSH_PROMISE/);
  });

  it('RST_STREAM REFUSED_STREAM: the call hears code 7 and no error, the connection stays', async () => {
    const code = Buffer.alloc(4);
    code.writeUInt32BE(H2_REFUSED_STREAM);
    let goaway: number | undefined = -1;
    const { server, port, done } = await rawServer(async (socket, frames) => {
      socket.write(SETTINGS_EMPTY);
      const it = shared(frames);
      const id = await requestId(it);
      socket.write(frame(0x3, 0, id, code));
      const second = await requestId(it);
      socket.write(Buffer.concat([frame(0x1, 0x4, second, okHeaders), frame(0x0, 0x1, second, Buffer.from('fine'))]));
      goaway = await goawayCode(it);
    });
    try {
      const { session } = await sessionTo(port);
      const o1 = await call(session, '/refused');
      assert.equal(o1.code, H2_REFUSED_STREAM, 'the reset code reaches the caller');
      assert.equal(o1.error, undefined, 'a stream reset is not a connection error');
      const o2 = await call(session, '/after');
      assert.equal(o2.body.toString(), 'fine', 'the same connection carries the next call');
      session.close();
      await done;
      assert.equal(goaway, 0, 'a clean close sends GOAWAY NO_ERROR');
    } finally {
      server.close();
    }
  });

  it('GOAWAY with last stream id 0 while a call is in flight: the call fails as refused (it may be resent)', async () => {
    const payload = Buffer.alloc(8);
    const r = await hostile(() => frame(0x7, 0, 0, payload));
    assert.equal(r.outcome.code, H2_REFUSED_STREAM, 'refused: the server never processed it');
    assert.match(r.outcome.error?.message ?? '', /going away and did not process the call/);
  });

  it('a valid reply sent one byte at a time arrives whole', async () => {
    const { server, port, done } = await rawServer(async (socket, frames) => {
      const id = await requestId(shared(frames));
      const bytes = Buffer.concat([
        SETTINGS_EMPTY,
        frame(0x1, 0x4, id, okHeaders),
        frame(0x0, 0, id, Buffer.from('dripped reply')),
        frame(0x1, 0x5, id, encodeHeaderBlock(['grpc-status', '0'])),
      ]);
      for (const b of bytes) {
        socket.write(Buffer.from([b]));
        await new Promise((r) => setImmediate(r));
      }
    });
    try {
      const { session } = await sessionTo(port);
      const o = await call(session, '/drip');
      assert.equal(o.error, undefined, `no error: ${o.error?.message}`);
      assert.equal(o.body.toString(), 'dripped reply');
      assert.equal(o.headers.length, 2, 'headers and trailers');
      session.destroy();
      await done;
    } finally {
      server.close();
    }
  });

  it('a first frame that is not SETTINGS (a PING): PROTOCOL_ERROR', async () => {
    let goaway: number | undefined;
    const { server, port, done } = await rawServer(async (socket, frames) => {
      socket.write(frame(0x6, 0, 0, Buffer.alloc(8)));
      goaway = await goawayCode(frames);
    });
    try {
      const { closed } = await sessionTo(port);
      const err = await closed;
      await done;
      assert.equal(goaway, H2_PROTOCOL_ERROR, 'GOAWAY PROTOCOL_ERROR');
      assert.match(err?.message ?? '', /did not start with SETTINGS/);
    } finally {
      server.close();
    }
  });

  it(
    'a peer that sends PINGs and never reads (up to 3,000,000 PINGs, 16 KiB of unsent ACKs allowed): the connection is dropped',
    { timeout: 120_000 },
    async () => {
      const budgets = { ...DEFAULT_H2_BUDGETS, maxUnsentBytes: 16 * 1024 };
      const { server, port } = await rawServer(async (socket) => {
        socket.pause(); // never reads again
        socket.write(SETTINGS_EMPTY);
        const ping = frame(0x6, 0, 0, Buffer.alloc(8));
        const batch = Buffer.concat(Array.from({ length: 1000 }, () => ping));
        try {
          for (let i = 0; i < 3000 && !socket.destroyed; i++) {
            if (!socket.write(batch)) await Promise.race([once(socket, 'drain'), once(socket, 'close')]);
          }
        } catch {
          // ECONNRESET: Ferry dropped the connection, which is what the test waits for
        }
      });
      try {
        const { closed } = await sessionTo(port, budgets);
        const err = await closed;
        assert.match(err?.message ?? '', /does not read what Ferry sends/);
      } finally {
        server.close();
      }
    },
  );
});
