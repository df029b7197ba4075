/**
 * The attacks of issue 12 on the HTTP side, rerun against a real `ferry serve` process in front of
 * the Apache Dubbo sample provider: each gets a coded answer or a logged refusal, Ferry keeps
 * serving another route, and where the attack was about memory, Ferry's own peak RSS (VmHWM of its
 * process) stays within a stated bound.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { startFerryProcess, type FerryProcess } from '../support/ferry-process.js';
import { http, startTestFerry } from '../support/ferry.js';
import { exchange, get, openSocket } from '../support/raw-http.js';

const MiB = 1024 * 1024;
const PIPELINE_LIMIT = 16;
/** "Hello, x" and a space, 116 508 times: a reply of about 1 MiB. */
const ONE_MIB_REPLY = '/greet/x/times/116508';

const EXTRA = {
  'hardening.yaml':
    'routes:\n' +
    '  - id: slow-20s\n    http: GET /slow-20s/{millis}\n    call: accounts.slow\n    timeout: 20s\n    args: [{ from: path.millis, type: int }]\n' +
    '  - id: not-exported\n    http: GET /not-exported\n    call: accounts.noSuchMethod\n',
};

let provider: JavaProvider;
let ferry: FerryProcess;

before(async () => {
  provider = await startJavaProvider({ name: 'hardening' });
  ferry = await startFerryProcess({ dubboAddress: provider.address, extra: EXTRA }, [
    '--max-pipelined-requests',
    String(PIPELINE_LIMIT),
    '--max-queued-bytes',
    String(4 * MiB),
    '--write-timeout-ms',
    '5000',
  ]);
});

after(async () => {
  await ferry?.stop();
  await provider?.stop();
});

async function metric(pattern: RegExp): Promise<number> {
  const text = (await http(`http://127.0.0.1:${ferry.adminPort}`, 'GET', '/metrics')).text;
  const m = pattern.exec(text);
  return m === null ? 0 : Number(m[1]);
}
const upstreamCalls = (method: string): Promise<number> =>
  metric(new RegExp(`ferry_upstream_call_duration_seconds_count\\{service="accounts",method="${method}",code="OK"\\} (\\d+)`));
const inFlight = (): Promise<number> => metric(/^ferry_requests_in_flight (\d+)/m);

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, tries = 400): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    await sleep(50);
  }
  throw new Error(`gave up waiting for ${what}`);
}

async function stillServing(): Promise<void> {
  const r = await http(ferry.base, 'GET', '/ping');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json, 'pong');
}

describe('slow and pipelining clients', () => {
  test(`one connection pipelining 300 requests for a 1 MiB reply and never reading: at most ${PIPELINE_LIMIT} upstream calls, the connection closed and logged, Ferry's peak RSS grows by less than 150 MiB (300 replies held would be over 300 MiB)`, async () => {
    // Warm up the route (connections, JIT, buffers), so that the peak measured below is the attack's.
    for (let i = 0; i < 3; i++) assert.equal((await http(ferry.base, 'GET', ONE_MIB_REPLY)).status, 200);
    const callsBefore = await upstreamCalls('greet');
    const peakBefore = ferry.peakRss();
    const socket = await openSocket(ferry.httpPort);
    socket.pause(); // never reads
    socket.on('error', () => {});
    let closed = false;
    socket.on('close', () => (closed = true));
    socket.write(get(ONE_MIB_REPLY).repeat(300));
    await until('the refusal in the log', () => ferry.logs.some((l) => l['msg'] === 'refused: http client stopped reading'));
    await until('every request counted out', async () => (await inFlight()) === 0);
    const calls = (await upstreamCalls('greet')) - callsBefore;
    const grown = ferry.peakRss() - peakBefore;
    console.log(
      `pipelining attack: ${calls} upstream calls, peak RSS +${(grown / MiB).toFixed(1)} MiB (${(ferry.peakRss() / MiB).toFixed(0)} MiB peak)`,
    );
    assert.ok(calls <= PIPELINE_LIMIT, `${calls} upstream calls`);
    assert.ok(grown < 150 * MiB, `peak RSS grew ${(grown / MiB).toFixed(1)} MiB`);
    socket.resume();
    await until('the client to see the close', () => closed);
    await stillServing();
  });

  test(`a reading client pipelining 20 slow requests: ${PIPELINE_LIMIT} answered, then 429 FERRY_TOO_MANY_PIPELINED and the connection closes; ${PIPELINE_LIMIT} upstream calls`, async () => {
    const before = await upstreamCalls('slow');
    const { responses, closedByServer } = await exchange(ferry.httpPort, get('/slow-20s/300').repeat(20), { idleMs: 10_000 });
    assert.deepEqual(
      responses.map((r) => r.status),
      [...Array(PIPELINE_LIMIT).fill(200), 429],
    );
    const refusal = responses[PIPELINE_LIMIT]!;
    assert.equal(refusal.headers['content-type'], 'application/problem+json');
    assert.equal(refusal.json.code, 'FERRY_TOO_MANY_PIPELINED');
    assert.equal(closedByServer, true);
    await until('the calls to be counted', async () => ((await upstreamCalls('slow')) - before >= PIPELINE_LIMIT ? true : undefined));
    assert.equal((await upstreamCalls('slow')) - before, PIPELINE_LIMIT);
    await stillServing();
  });
});

describe('malformed requests', () => {
  test('raw bytes with a CR inside a header value, bad percent-encoding, a 20 KB header: 400 / 400 / 431 problem+json with FERRY codes', async () => {
    const cr = await exchange(ferry.httpPort, 'GET /accounts/1 HTTP/1.1\r\nhost: x\r\nx-request-id: a\rb\r\n\r\n');
    assert.equal(cr.responses[0]?.status, 400);
    assert.equal(cr.responses[0].json.code, 'FERRY_MALFORMED_REQUEST');
    const pct = await exchange(ferry.httpPort, get('/accounts/%zz', 'connection: close\r\n'));
    assert.equal(pct.responses[0]?.status, 400);
    assert.equal(pct.responses[0].headers['content-type'], 'application/problem+json');
    assert.equal(pct.responses[0].json.code, 'FERRY_MALFORMED_REQUEST');
    const big = await exchange(ferry.httpPort, get('/accounts/1', `x-big: ${'y'.repeat(20_000)}\r\n`));
    assert.equal(big.responses[0]?.status, 431);
    assert.equal(big.responses[0].json.code, 'FERRY_HEADERS_TOO_LARGE');
    await stillServing();
  });

  test('Python urllib posting a 2 MiB transfer (body limit 1 MiB) reads 413 FERRY_BODY_TOO_LARGE; no upstream call is made', async () => {
    const before = await upstreamCalls('transfer');
    const script = `
import json, sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1], data=b'{"memo":"' + b'x' * 2097152 + b'"}', method='POST', headers={'content-type': 'application/json'})
try:
    urllib.request.urlopen(req, timeout=30)
    print(json.dumps({'status': 200}))
except urllib.error.HTTPError as e:
    print(json.dumps({'status': e.code, 'body': json.loads(e.read())}))
`;
    const { stdout } = await promisify(execFile)('python3', ['-c', script, `${ferry.base}/accounts/1/transfers`]);
    const r = JSON.parse(stdout) as { status: number; body: { code: string } };
    assert.equal(r.status, 413);
    assert.equal(r.body.code, 'FERRY_BODY_TOO_LARGE');
    assert.equal(await upstreamCalls('transfer'), before);
    await stillServing();
  });
});

describe('wrong data on a lossless route and in bodies', () => {
  const primitives = (d: string, f = '1.5'): string => `{"i":1,"l":9007199254740993,"d":${d},"b":true,"s":1,"by":1,"f":${f},"c":"x"}`;
  const post = (path: string, body: string | Buffer) =>
    fetch(ferry.base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : new Uint8Array(body),
    }).then(async (r) => ({ status: r.status, json: await r.json() }));

  test('1e400 and 1e-400 for a double, 1e-50 for a float (route parsed losslessly for its long) → 400 naming the argument; 1e300 reaches Java', async () => {
    for (const [d, f, argument] of [
      ['1e400', '1.5', 'body.d'],
      ['-1e400', '1.5', 'body.d'],
      ['1e-400', '1.5', 'body.d'],
      ['1', '1e-50', 'body.f'],
    ] as const) {
      const r = await post('/lab/describe/primitives', primitives(d, f));
      assert.equal(r.status, 400, JSON.stringify(r.json));
      assert.equal(r.json.code, 'FERRY_BAD_ARGUMENT');
      assert.equal(r.json.argument, argument);
    }
    const ok = await post('/lab/describe/primitives', primitives('1e300'));
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.equal(ok.json, '1|9007199254740993|1.0E300|true|1|1|1.5|x');
  });

  test('invalid UTF-8 in a body (input: the bytes " 0xff 0xfe ") → 400 FERRY_BAD_JSON, not U+FFFD reaching Java', async () => {
    const r = await post('/lab/describe/string', Buffer.from([0x22, 0xff, 0xfe, 0x22]));
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 'FERRY_BAD_JSON');
    const ok = await post('/lab/describe/string', Buffer.from('"é"'));
    assert.deepEqual([ok.status, ok.json], [200, '1|e9']);
  });

  test('one nesting limit both ways: a map nested 256 deep echoes back whole; 257 and 4 000 deep are refused 400 FERRY_BAD_JSON (not a 502 on the reply)', async () => {
    const nested = (depth: number): string => '{"a":'.repeat(depth - 1) + '{"a":1}' + '}'.repeat(depth - 1);
    const echo = await post('/lab/echo/map', nested(256));
    assert.equal(echo.status, 200, JSON.stringify(echo.json).slice(0, 300));
    let depth = 0;
    for (let v = echo.json; typeof v === 'object' && v !== null; v = v.a) depth++;
    assert.equal(depth, 256);
    for (const d of [257, 4000]) {
      const r = await post('/lab/echo/map', nested(d));
      assert.equal(r.status, 400, `depth ${d}`);
      assert.equal(r.json.code, 'FERRY_BAD_JSON');
    }
  });
});

describe('what errors disclose', () => {
  test('a method the provider does not export (Dubbo answers a status with its Java text) → 502 FERRY_UPSTREAM_STATUS naming the route, without the provider address or that text; the log keeps the whole message', async () => {
    const r = await http(ferry.base, 'GET', '/not-exported');
    assert.equal(r.status, 502, r.text);
    assert.equal(r.json.code, 'FERRY_UPSTREAM_STATUS');
    assert.equal(typeof r.json.upstreamStatus, 'number');
    assert.equal(r.json.route, 'not-exported');
    assert.doesNotMatch(r.text, new RegExp(`127\\.0\\.0\\.1|${provider.dubboPort}|Exception|\\tat `));
    const line = await until('the request log line', () => ferry.logs.find((l) => l['msg'] === 'request' && l['route'] === 'not-exported'));
    console.log(`the problem document has ${r.text.length} characters; the logged error ${String(line['error']).length}`);
    assert.match(String(line['error']), new RegExp(`127\\.0\\.0\\.1:${provider.dubboPort}`));
  });

  test('with problem detail "full" (the operator setting) the same answer carries the message and the endpoint', async () => {
    const full = await startTestFerry({ dubboAddress: provider.address, extra: EXTRA, problemDetail: 'full' });
    try {
      const r = await http(full.base, 'GET', '/not-exported');
      assert.equal(r.status, 502);
      assert.equal(r.json.endpoint, provider.address);
      assert.match(r.json.detail, new RegExp(`127\\.0\\.0\\.1:${provider.dubboPort}`));
      const fail = await http(full.base, 'POST', '/fail', { message: 'boom at the provider' });
      assert.deepEqual(fail.json.exception, { class: 'java.lang.IllegalStateException', message: 'boom at the provider' });
    } finally {
      await full.close();
    }
  });
});

describe('the admin port listens on its own host', () => {
  test('with --host 0.0.0.0 traffic is served on every interface, /metrics only on loopback', async (t) => {
    const external = Object.values(networkInterfaces())
      .flat()
      .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
    if (external === undefined) {
      t.skip('this machine has no non-loopback IPv4 address to try');
      return;
    }
    const open = await startFerryProcess({ dubboAddress: provider.address }, ['--host', '0.0.0.0']);
    try {
      assert.equal((await http(`http://${external}:${open.httpPort}`, 'GET', '/ping')).status, 200);
      assert.equal((await http(`http://127.0.0.1:${open.adminPort}`, 'GET', '/healthz')).status, 200);
      const refused = await new Promise<string>((resolve) => {
        const s = connect(open.adminPort, external, () => {
          s.destroy();
          resolve('connected');
        });
        s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      });
      assert.equal(refused, 'ECONNREFUSED');
    } finally {
      await open.stop();
    }
  });
});
