/**
 * `ferry import --registry nacos://` against a hostile registry: a loopback HTTP server (written
 * here, because no real Nacos answers garbage on purpose) that answers the service list and the
 * config reads. What the reader gets from real Nacos is covered against rnacos in
 * test/e2e/import-nacos.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readNacosService } from '../../src/upstream/nacos-service-definitions.js';
import { MAX_DEFINITION_BYTES } from '../../src/upstream/service-definitions.js';
import { SignatureSourceError } from '../../src/errors/index.js';

const IFACE = 'com.example.hostile.Service';

/** What the definition config read answers. */
let definition: (res: ServerResponse) => void = (res) => res.end('{}');
let server: Server;
let registry = '';
const hung = new Set<ServerResponse>();

before(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/nacos/v1/ns/service/list') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ count: 0, doms: [] }));
      return;
    }
    if (url.pathname === '/nacos/v1/cs/configs' && url.searchParams.get('dataId') === IFACE) {
      res.end('bank'); // the interface → application mapping
      return;
    }
    if (url.pathname === '/nacos/v1/cs/configs') {
      definition(res);
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  registry = `nacos://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const res of hung) res.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

async function refusal(timeoutMs = 5000): Promise<string> {
  const err: unknown = await readNacosService(registry, IFACE, { version: '1.0.0' }, timeoutMs).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof SignatureSourceError, `a SignatureSourceError, got ${String(err)}`);
  assert.doesNotMatch(err.message, /\n\s+at /, 'no stack trace in the message');
  return err.message;
}

test('a definition over the budget (input: MAX_DEFINITION_BYTES + 1 bytes, streamed without a length) is refused, read no further than the budget', async () => {
  let sent = 0;
  definition = (res) => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const more = (): void => {
      // Writes until the reader hangs up: a never-ending body would be read for ever without a budget.
      while (sent <= MAX_DEFINITION_BYTES * 4) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', more);
      }
      res.end();
    };
    more();
  };
  const message = await refusal();
  assert.match(message, /over the \d+-byte limit|over the budget/);
  assert.ok(sent < MAX_DEFINITION_BYTES * 4, `the reader stopped the stream (${sent} bytes written)`);
});

test('a definition that is not JSON (input: "{not json") is refused naming the config', async () => {
  definition = (res) => res.end('{not json');
  assert.match(await refusal(), /config dubbo\/com\.example\.hostile\.Service:1\.0\.0::provider:bank: not JSON/);
});

test('a registry that never answers the definition read (input: a hung reply, 300 ms timeout) is refused, not waited on', async () => {
  definition = (res) => void hung.add(res);
  assert.match(await refusal(300), /300|time|answer/i);
});
