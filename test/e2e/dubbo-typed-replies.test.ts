/**
 * Replies written by Apache Dubbo (Java, hessian-lite) take the specialised decoder of the sample
 * routes' `returns:` types, and give exactly the JSON of the generic path: for every account shape
 * the provider has (ids 1–60 cover each currency, the `vip` tag, inactive accounts; the id beyond
 * 2^53 has a BigDecimal of 22 digits and nanoseconds in its LocalDateTime), lists of 0, 1, 20 and
 * 1 000 accounts (shared enum constants arrive as references), a null result, and an exception.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfigDir } from '../../src/config/loader.js';
import type { FerryConfig } from '../../src/config/types.js';
import { parseJavaType } from '../../src/codec/hessian/java-types.js';
import { toJson } from '../../src/codec/hessian/decode-json.js';
import { compileTypedJsonDecoder, type TypedJsonDecoder } from '../../src/codec/hessian/decode-typed.js';
import { compileDubboRoute } from '../../src/mapping/dubbo.js';
import { RequestView } from '../../src/mapping/request-view.js';
import { decodeResponseBody } from '../../src/codec/dubbo-body.js';
import { createDubboClient, type DubboClient } from '../../src/upstream/clients.js';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';

let provider: JavaProvider;
let client: DubboClient;
let config: FerryConfig;
let dir: string;

before(async () => {
  provider = await startJavaProvider({ name: 'typed' });
  dir = await mkdtemp(path.join(tmpdir(), 'ferry-typed-'));
  for (const file of ['bank.yaml', 'lab.yaml']) {
    await writeFile(path.join(dir, file), (await readFile(path.join('mappings', file), 'utf8')).replaceAll('127.0.0.1:20880', provider.address));
  }
  config = await loadConfigDir(dir);
  client = createDubboClient({ endpoints: [provider.address], connectionsPerEndpoint: 1 });
});

after(async () => {
  await client?.close();
  await provider?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Calls a sample route with path params / query (and a JSON body) and returns the raw reply body. */
async function call(routeId: string, params: Record<string, string>, query = '', body?: string): Promise<{ status: number; body: Buffer }> {
  const route = config.routes.find((r) => r.id === routeId);
  const service = route && config.services.get(route.serviceName);
  assert.ok(route?.protocol === 'dubbo' && service?.protocol === 'dubbo', `${routeId} is a Dubbo route`);
  const plan = compileDubboRoute(route, service, config);
  const req = {
    method: body === undefined ? 'GET' : 'POST',
    path: '/',
    rawQuery: query,
    headers: {},
    body: body === undefined ? undefined : Buffer.from(body),
  };
  const view = new RequestView(req, params, plan.bodyParsing);
  return client.call(plan.encodeRequest(view, {}, 5000), { timeoutMs: 5000 });
}

function decoderFor(routeId: string): TypedJsonDecoder {
  const route = config.routes.find((r) => r.id === routeId);
  assert.ok(route?.protocol === 'dubbo', `${routeId} is a Dubbo route`);
  assert.ok(route.returns, `${routeId} declares returns: in mappings/bank.yaml`);
  const enums = new Set([...config.types.values()].filter((t) => t.kind === 'enum').map((t) => t.name));
  const decoder = compileTypedJsonDecoder(
    parseJavaType(route.returns, (n) => config.types.get(n)),
    enums,
    { longs: route.longs },
  );
  assert.ok(decoder, `${routeId}: ${route.returns} has a specialised decoder`);
  return decoder;
}

function genericJson(body: Buffer): string {
  const r = decodeResponseBody(body);
  assert.notEqual(r.kind, 'exception');
  const enums = new Set([...config.types.values()].filter((t) => t.kind === 'enum').map((t) => t.name));
  // The declared field order, as compileDubboRoute passes it: both paths answer in it.
  const fieldOrder = new Map([...config.types.values()].flatMap((t) => (t.kind === 'pojo' ? [[t.name, t.fields.map((f) => f.name)] as const] : [])));
  return JSON.stringify(r.kind === 'null' ? null : toJson(r.kind === 'value' ? r.value : null, { longs: 'auto', enumClasses: enums, fieldOrder }));
}

test('getAccount replies from Java: the specialised decoder answers the generic JSON for every account shape', async () => {
  const decoder = decoderFor('get-account');
  for (const id of [...Array.from({ length: 60 }, (_, i) => String(i + 1)), '9007199254740993']) {
    const reply = await call('get-account', { id });
    assert.equal(reply.status, 20);
    const typed = decoder.decodeReplyBody(reply.body);
    assert.ok(typed, `account ${id}: the Java reply takes the fast path`);
    assert.equal(typed.toString(), genericJson(reply.body), `account ${id}`);
  }
  const huge = JSON.parse(decoder.decodeReplyBody((await call('get-account', { id: '9007199254740993' })).body)!.toString());
  assert.equal(huge.id, '9007199254740993', 'a long beyond 2^53 stays a string');
  assert.equal(huge.balance, '12345678901234567890.12', 'BigDecimal digits are kept');
});

test('listAccounts replies from Java (0, 1, 20, 1000 accounts, enums as references) decode to the generic JSON', async () => {
  const decoder = decoderFor('list-accounts');
  for (const limit of ['0', '1', '20', '1000']) {
    const reply = await call('list-accounts', {}, `limit=${limit}`);
    const typed = decoder.decodeReplyBody(reply.body);
    assert.ok(typed, `limit ${limit}: the Java reply takes the fast path`);
    assert.equal(typed.toString(), genericJson(reply.body), `limit ${limit}`);
    assert.equal(JSON.parse(typed.toString()).length, Number(limit));
  }
  assert.ok((await call('list-accounts', {}, 'limit=20')).body.includes(0x51), 'the provider sent references (Q) to shared enum constants');
});

test('a null result decodes to null; an exception result is left to the generic path', async () => {
  const decoder = decoderFor('find-account');
  const missing = await call('find-account', { id: '5000' });
  assert.equal(decoder.decodeReplyBody(missing.body)?.toString(), 'null');
  const thrown = await call('get-account', { id: '5000' }); // AccountNotFoundException
  assert.equal(thrown.status, 20);
  assert.equal(decoderFor('get-account').decodeReplyBody(thrown.body), undefined);
});

test('Instant and byte[] replies from Java (TypeLabService echoes) take the specialised decoders and answer the generic JSON', async () => {
  const instant = compileTypedJsonDecoder(
    parseJavaType('java.time.Instant', () => undefined),
    new Set(),
    { longs: 'auto' },
  )!;
  const bytes = compileTypedJsonDecoder(
    parseJavaType('byte[]', () => undefined),
    new Set(),
    { longs: 'auto' },
  )!;
  // Inputs: the epoch, a leap day with millis, micro- and nanosecond fractions, before 1970, years 1 and 9999.
  const instants = [
    '1970-01-01T00:00:00Z',
    '2024-02-29T12:00:00.500Z',
    '2024-02-29T12:00:00.000001Z',
    '1969-12-31T23:59:59.123456789Z',
    '0001-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999999999Z',
  ];
  for (const value of instants) {
    const reply = await call('lab-echo-instant', {}, '', JSON.stringify(value));
    assert.equal(reply.status, 20, value);
    const typed = instant.decodeReplyBody(reply.body);
    assert.ok(typed, `${value}: the Java reply takes the fast path`);
    assert.equal(typed.toString(), genericJson(reply.body), value);
    assert.equal(JSON.parse(typed.toString()), value, 'Java echoed the instant Ferry sent');
  }
  // Inputs: 0, 15, 16, 1 023, 1 024, 32 768 and 70 000 bytes (compact, medium and chunked binaries).
  for (const n of [0, 15, 16, 1023, 1024, 32768, 70000]) {
    const sent = Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff)).toString('base64');
    const reply = await call('lab-echo-bytes', {}, '', JSON.stringify(sent));
    const typed = bytes.decodeReplyBody(reply.body);
    assert.ok(typed, `${n} bytes: the Java reply takes the fast path`);
    assert.equal(typed.toString(), genericJson(reply.body), `${n} bytes`);
    assert.equal(JSON.parse(typed.toString()), sent, `${n} bytes: Java echoed every byte`);
  }
});
