/**
 * The two Apache Dubbo 3.3 Triple providers the Triple discovery test relies on
 * (samples/java-provider with --triple-port and --registry), checked without Ferry: what they write
 * in a real ZooKeeper, that each Greeter reply names its provider (response attachment
 * `served-by`, which a gRPC client receives as a trailer), and that a stopped provider leaves
 * ZooKeeper while the other stays.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { startZooKeeper, type ZooKeeperServer } from '../support/zookeeper.js';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { createRegistrar, type Registrar } from '../support/zookeeper-registrar.js';

/** The Java interface Dubbo registers the protobuf Greeter under (java_package + service name). */
const GREETER_INTERFACE = 'com.example.sample.greeter.Greeter';

let zk: ZooKeeperServer | undefined;
let reader: Registrar | undefined;
const providers: JavaProvider[] = [];
const clients: grpc.Client[] = [];

before(async () => {
  zk = await startZooKeeper();
  reader = createRegistrar(zk.connectString);
  providers.push(...(await Promise.all(['ta', 'tb'].map((name) => startJavaProvider({ name, triple: true, registry: zk!.registryUrl })))));
});

after(async () => {
  for (const c of clients) c.close();
  await reader?.close();
  await Promise.all(providers.map((p) => p.kill().catch(() => {})));
  await zk?.stop();
});

async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function greeter(port: number): any {
  const def = protoLoader.loadSync('sample/greeter.proto', { includeDirs: [path.resolve('idl')] });
  const Greeter = (grpc.loadPackageDefinition(def) as any).ferry.sample.v1.Greeter;
  const c = new Greeter(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  clients.push(c);
  return c;
}

/** SayHello over grpc-js, as Ferry would send it; the reply with the initial metadata and trailers. */
function sayHello(port: number, name: string): Promise<{ reply: any; headers: grpc.Metadata; trailers: grpc.Metadata }> {
  const md = new grpc.Metadata();
  md.set('tri-service-version', '1.0.0');
  return new Promise((resolve, reject) => {
    let headers = new grpc.Metadata();
    let reply: any;
    let failed: Error | undefined;
    const call = greeter(port).SayHello({ name }, md, { deadline: Date.now() + 5000 }, (err: Error | null, r: any) => {
      failed = err ?? undefined;
      reply = r;
    });
    call.on('metadata', (m: grpc.Metadata) => (headers = m));
    call.on('status', (s: grpc.StatusObject) => (failed ? reject(failed) : resolve({ reply, headers, trailers: s.metadata })));
  });
}

test('each provider registers one tri:// URL under its Java interface, version 1.0.0, no group', async () => {
  const urls = await reader!.providers(GREETER_INTERFACE);
  console.log(`/dubbo/${GREETER_INTERFACE}/providers:\n  ${urls.join('\n  ')}`);
  assert.equal(urls.length, 2);
  const ports = urls.map((u) => {
    const m = /^tri:\/\/127\.0\.0\.1:(\d+)\/ferry\.sample\.v1\.Greeter\?(.*)$/.exec(u);
    assert.ok(m, `a tri:// URL whose path is the proto service name: ${u}`);
    const params = new URLSearchParams(m[2]);
    assert.equal(params.get('interface'), GREETER_INTERFACE);
    assert.equal(params.get('version'), '1.0.0');
    assert.equal(params.get('group'), null);
    assert.equal(params.get('side'), 'provider');
    return Number(m[1]);
  });
  assert.deepEqual(ports.sort(), providers.map((p) => p.triplePort).sort(), 'the URLs carry the Triple ports');
  // Nothing is registered under the proto service name itself.
  assert.deepEqual(await reader!.providers('ferry.sample.v1.Greeter'), []);
});

test('a SayHello reply names its provider in the served-by trailer; the message is unchanged', async () => {
  for (const p of providers) {
    const { reply, headers, trailers } = await sayHello(p.triplePort, 'Ann');
    assert.equal(reply.message, 'Hello, Ann');
    assert.deepEqual(trailers.get('served-by'), [p.name], `trailers of ${p.name}: ${JSON.stringify(trailers.toJSON())}`);
    assert.deepEqual(headers.get('served-by'), [], 'Triple sends response attachments as trailers, not headers');
  }
});

test('a provider stopped with SIGTERM removes its node; the other stays registered', async () => {
  const [ta, tb] = providers as [JavaProvider, JavaProvider];
  await tb.stop();
  await until('tb gone from ZooKeeper', async () => (await reader!.providers(GREETER_INTERFACE)).length === 1);
  const [left] = await reader!.providers(GREETER_INTERFACE);
  assert.match(left!, new RegExp(`^tri://127\\.0\\.0\\.1:${ta.triplePort}/`));
  await tb.restart();
  await until('tb registered again', async () => (await reader!.providers(GREETER_INTERFACE)).length === 2);
  assert.deepEqual((await sayHello(tb.triplePort, 'Bo')).trailers.get('served-by'), ['tb']);
});
