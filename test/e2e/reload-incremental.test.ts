/**
 * Incremental reload against the Apache Dubbo sample provider: a folder of one service file and
 * five route files; one route file is edited and reloaded. Only its routes are compiled and bound
 * again (loadStats / bindStats), every other route answers byte for byte as before, and the
 * service's connection pool is the one it had: Ferry reaches the provider through a TCP forwarder
 * that counts the connections it accepts, and no new one is opened by the reloads.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { loadStats } from '../../src/config/loader.js';
import { bindStats } from '../../src/gateway/engine.js';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';

const ROUTE_FILES = 5;

function serviceFile(address: string): string {
  return `services:\n  accounts:\n    protocol: dubbo\n    interface: com.example.bank.AccountService\n    version: 1.0.0\n    endpoints: [${address}]\n    timeout: 5s\n`;
}

/** Route file `n`: three routes to getAccount under /r<n><variant>/. */
function routeFile(n: number, variant = ''): string {
  return (
    'routes:\n' +
    ['a', 'b', 'c']
      .map(
        (k) =>
          `  - id: r${n}-${k}\n    http: GET /r${n}${variant}/${k}/{id}\n    call: accounts.getAccount\n    args:\n      - { from: path.id, type: long }\n    errors:\n      com.example.bank.AccountNotFoundException: 404\n`,
      )
      .join('')
  );
}

let provider: JavaProvider;
let forwarder: Server;
let accepted = 0;
const sockets = new Set<Socket>();
let ferry: TestFerry;

before(async () => {
  provider = await startJavaProvider({ name: 'incremental' });
  forwarder = createServer((client) => {
    accepted++;
    const upstream = connect(provider.dubboPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => forwarder.listen(0, '127.0.0.1', resolve));
  const port = (forwarder.address() as { port: number }).port;
  const extra: Record<string, string> = { 'accounts.yaml': serviceFile(`127.0.0.1:${port}`) };
  for (let n = 0; n < ROUTE_FILES; n++) extra[`routes-${n}.yaml`] = routeFile(n);
  ferry = await startTestFerry({ withoutSamples: true, extra });
});

after(async () => {
  await ferry?.close();
  for (const s of sockets) s.destroy();
  await new Promise((r) => forwarder?.close(r));
  await provider?.stop();
});

/** Every route's answer for account 1 and for a missing account, by path. */
async function answers(paths: readonly string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of paths) {
    for (const id of ['1', '999999']) {
      const r = await http(ferry.base, 'GET', p.replace('{id}', id));
      out[`${p} ${id}`] = `${r.status} ${r.text}`;
    }
  }
  return out;
}

const unchangedPaths = [0, 1, 2, 4].flatMap((n) => ['a', 'b', 'c'].map((k) => `/r${n}/${k}/{id}`));

test('one route file of five edited: only its 3 routes are compiled and bound again, the other 12 answer as before, and the pool opens no new connection', async () => {
  const before = await answers([...unchangedPaths, '/r3/a/{id}']);
  assert.match(before['/r1/a/{id} 1']!, /^200 /, 'getAccount answers through the forwarder');
  assert.match(before['/r1/a/{id} 999999']!, /^404 /, 'a missing account is the mapped 404');
  const connections = accepted;
  assert.ok(connections > 0, 'Ferry reached the provider through the forwarder');

  await ferry.writeMapping('routes-3.yaml', routeFile(3, 'x'));
  await ferry.reload();
  assert.deepEqual(
    { ...loadStats(ferry.config()), ...bindStats(ferry.engine()) },
    { files: 6, filesParsed: 1, filesReused: 5, routesCompiled: 3, routesReused: 12, routes: 15, bound: 3, reused: 12 },
  );
  const after = await answers(unchangedPaths);
  for (const p of Object.keys(after)) assert.equal(after[p], before[p], `${p} answers as before the reload`);
  const moved = await answers(['/r3x/a/{id}']);
  assert.equal(moved['/r3x/a/{id} 1'], before['/r3/a/{id} 1'], 'the edited route answers at its new path');
  assert.equal((await http(ferry.base, 'GET', '/r3/a/1')).status, 404, 'and no longer at its old one');
  assert.equal(accepted, connections, 'the reload opened no connection: the service kept its pool');
});

test('a reload refused for a broken route file keeps every route answering; the fixed file is then the only one compiled again', async () => {
  const before = await answers(unchangedPaths);
  const connections = accepted;
  await ferry.writeMapping('routes-2.yaml', 'routes:\n  - { id: broken, http: GET /broken, call: nobody.get }\n');
  await assert.rejects(ferry.reload(), /no mapping file declares/);
  assert.deepEqual(await answers(unchangedPaths), before, 'the old config keeps serving');
  // Fixed, with a comment more than the serving one (the same bytes would be reused whole).
  await ferry.writeMapping('routes-2.yaml', `# fixed\n${routeFile(2)}`);
  await ferry.reload();
  assert.deepEqual(
    { parsed: loadStats(ferry.config())?.filesParsed, bound: bindStats(ferry.engine())?.bound },
    { parsed: 1, bound: 3 },
    'only the fixed file is parsed, its routes bound',
  );
  assert.deepEqual(await answers(unchangedPaths), before, 'and every route answers as before');
  assert.equal(accepted, connections, 'still no new connection');
});
