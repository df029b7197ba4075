import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/config/errors.js';
import { FerryError } from '../../src/errors/index.js';
import { Writable } from 'node:stream';
import { createBatchedSink, createLogger, errorFields } from '../../src/app/logger.js';

function capture() {
  const lines: string[] = [];
  return { lines, sink: { write: (l: string) => lines.push(l) }, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}
const now = () => new Date('2025-01-02T03:04:05.678Z');

test('one JSON line per event with time, level, msg and fields; levels below the minimum are dropped', () => {
  const c = capture();
  const log = createLogger({ sink: c.sink, now, level: 'info', base: { service: 'ferry' } });
  log.debug('hidden');
  log.info('config applied', { routes: 3 });
  log.error('boom', { err: new Error('x') });
  assert.equal(c.lines.length, 2);
  assert.ok(c.lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n')));
  assert.deepEqual(c.records()[0], { time: '2025-01-02T03:04:05.678Z', level: 'info', msg: 'config applied', service: 'ferry', routes: 3 });
  assert.deepEqual(c.records()[1]!['err'], { type: 'Error', message: 'x' });
  assert.equal(log.enabled('debug'), false);
  assert.equal(log.enabled('warn'), true);
});

test('request lines carry route, status, duration and trace id; 5xx are warnings', () => {
  const c = capture();
  const log = createLogger({ sink: c.sink, now }).child({ frontendVersion: 1 });
  log.request({
    method: 'GET',
    path: '/accounts/1',
    route: 'get-account',
    status: 200,
    durationMs: 1.23456,
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  });
  log.request({
    method: 'POST',
    path: '/nope',
    route: undefined,
    status: 503,
    durationMs: 2,
    traceId: undefined,
    code: 'FERRY_UPSTREAM_UNAVAILABLE',
    frontend: 'ext_proc',
  });
  const [a, b] = c.records();
  assert.deepEqual(a, {
    time: '2025-01-02T03:04:05.678Z',
    level: 'info',
    msg: 'request',
    frontendVersion: 1,
    method: 'GET',
    path: '/accounts/1',
    route: 'get-account',
    status: 200,
    durationMs: 1.235,
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  });
  assert.equal(b!['level'], 'warn');
  assert.equal(b!['route'], null);
  assert.equal(b!['code'], 'FERRY_UPSTREAM_UNAVAILABLE');
  assert.equal(b!['frontend'], 'ext_proc');
});

test('errorFields keeps the config problems (file, line) and the FERRY code and cause', () => {
  const cfg = new ConfigError([{ file: 'mappings/bank.yaml', line: 12, col: 5, message: 'unknown type Strin' }]);
  const f = errorFields(cfg);
  assert.equal(f['type'], 'ConfigError');
  assert.deepEqual(f['problems'], [{ file: 'mappings/bank.yaml', line: 12, col: 5, message: 'unknown type Strin' }]);
  assert.match(String(f['message']), /mappings\/bank\.yaml:12:5: unknown type Strin/);
  const fe = errorFields(new FerryError('FERRY_UPSTREAM_TIMEOUT', 'late', { cause: Object.assign(new Error('t'), { code: 'ETIMEDOUT' }) }));
  assert.equal(fe['code'], 'FERRY_UPSTREAM_TIMEOUT');
  assert.equal(fe['status'], 504);
  assert.deepEqual(fe['cause'], { type: 'Error', message: 't', code: 'ETIMEDOUT' });
});

test('fields that cannot be serialised (input: a cyclic object) still give one valid line', () => {
  const c = capture();
  const cyclic: Record<string, unknown> = {};
  cyclic['self'] = cyclic;
  createLogger({ sink: c.sink, now }).info('odd', { cyclic, big: 1n });
  const [r] = c.records();
  assert.equal(r!['msg'], 'odd');
  assert.equal(r!['logError'], 'fields could not be serialised');
  const c2 = capture();
  createLogger({ sink: c2.sink, now }).info('big', { big: 2n ** 70n });
  assert.equal(c2.records()[0]!['big'], '1180591620717411303424');
});

test('the batched sink writes the lines gathered within its flush interval with one write, in order', async () => {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      writes.push(chunk.toString());
      cb();
    },
  });
  const sink = createBatchedSink(stream, { flushMs: 30, flushBytes: 10 });
  sink.write('a\n');
  sink.write('b\n');
  sink.write('c\n');
  assert.deepEqual(writes, [], 'nothing is written before the interval ends');
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.deepEqual(writes, ['a\nb\nc\n']);
  sink.write('0123456789\n');
  assert.deepEqual(writes, ['a\nb\nc\n', '0123456789\n'], 'a full buffer is written at once');
  sink.write('d\n');
  sink.flush();
  assert.deepEqual(writes, ['a\nb\nc\n', '0123456789\n', 'd\n']);
});

test('request lines built as text parse to the same fields as any other log line (input: quotes, newline, unicode in the path)', async () => {
  const lines: string[] = [];
  const log = createLogger({ sink: { write: (l: string) => lines.push(l) }, base: { service: 'ferry', pid: 7 }, now: () => new Date(0) });
  log.request({
    method: 'GET',
    path: '/a"b\\c\n😀',
    route: 'r-1',
    status: 503,
    durationMs: 1.23456,
    traceId: undefined,
    code: 'FERRY_UPSTREAM_UNAVAILABLE',
    frontend: 'http',
  });
  log.request({ method: 'POST', path: '/x', route: undefined, status: 200, durationMs: 0.5, traceId: 'abc' });
  assert.equal(lines.length, 2);
  assert.ok(lines.every((l) => l.endsWith('\n')));
  assert.deepEqual(JSON.parse(lines[0]!), {
    time: '1970-01-01T00:00:00.000Z',
    level: 'warn',
    msg: 'request',
    service: 'ferry',
    pid: 7,
    method: 'GET',
    path: '/a"b\\c\n😀',
    route: 'r-1',
    status: 503,
    durationMs: 1.235,
    traceId: null,
    code: 'FERRY_UPSTREAM_UNAVAILABLE',
    frontend: 'http',
  });
  assert.deepEqual(JSON.parse(lines[1]!), {
    time: '1970-01-01T00:00:00.000Z',
    level: 'info',
    msg: 'request',
    service: 'ferry',
    pid: 7,
    method: 'POST',
    path: '/x',
    route: null,
    status: 200,
    durationMs: 0.5,
    traceId: 'abc',
  });
});
