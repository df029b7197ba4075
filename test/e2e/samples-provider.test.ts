/**
 * The Java sample provider checked on its own, before Ferry's client exists: hand-built Dubbo
 * frames (reference/protocols.md A/B) with hessian.js bodies over a raw TCP socket, and its
 * ZooKeeper registration read with node-zookeeper-client.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { startZooKeeper, type ZooKeeperServer } from '../support/zookeeper.js';
import { decodeResult, decodeValues, openRaw, type RawConnection } from '../support/raw-dubbo.js';

const AS = 'com.example.bank.AccountService';
const LAB = 'com.example.lab.TypeLabService';

describe('sample provider over the dubbo protocol (raw frames, hessian.js)', () => {
  let provider: JavaProvider;
  let conn: RawConnection;

  before(async () => {
    provider = await startJavaProvider({ name: 'raw-check', threads: 2 });
    conn = await openRaw(provider.dubboPort);
  });
  after(async () => {
    await conn?.close().catch(() => {});
    await provider?.stop();
  });

  test('ping() answers "pong" with result flag 4 and the dubbo attachment', async () => {
    const frame = await conn.call({ service: AS, version: '1.0.0', method: 'ping', descriptor: '' });
    assert.equal(frame.flag, 0x02, 'response flag byte: hessian2, not a request, not an event');
    assert.equal(frame.status, 20);
    const result = decodeResult(frame.body);
    assert.equal(result.flag, 4, 'protocol 2.0.2 requests get RESPONSE_VALUE_WITH_ATTACHMENTS');
    assert.equal(result.value, 'pong');
    assert.deepEqual(result.attachments, { dubbo: '2.0.2' });
  });

  test('getAccount(2) returns the documented account', async () => {
    const frame = await conn.call({
      service: AS,
      version: '1.0.0',
      method: 'getAccount',
      descriptor: 'J',
      args: [{ $class: 'long', $: 2 }],
    });
    assert.equal(frame.status, 20);
    const { flag, value } = decodeResult(frame.body, true);
    assert.equal(flag, 4);
    // withType keeps $class on objects, maps and typed lists; scalars stay plain.
    const account = value as { $class: string; $: Record<string, { $class?: string; $?: unknown }> };
    assert.equal(account.$class, 'com.example.bank.Account');
    const f = account.$;
    assert.equal(f['id'], 2);
    assert.equal(f['owner'], 'owner-2');
    assert.deepEqual(f['active'], { $class: 'boolean', $: true });
    // BigDecimal as hessian-lite writes it: an object with one field "value".
    assert.deepEqual(f['balance'], { $class: 'java.math.BigDecimal', $: { value: '2000.50' } });
    // Enum: class def with one field "name".
    assert.deepEqual(f['currency'], { $class: 'com.example.bank.Currency', $: { name: 'CNY' } });
    // LocalDateTime: hessian-lite's replacement handle (date + time handles), not a string.
    assert.equal(f['openedAt']!.$class, 'com.alibaba.com.caucho.hessian.io.java8.LocalDateTimeHandle');
    const plain = decodeResult(frame.body).value as Record<string, unknown>;
    assert.deepEqual(plain['openedAt'], {
      date: { year: 2020, month: 1, day: 1 },
      time: { hour: 0, minute: 2, second: 0, nano: 0 },
    });
    assert.deepEqual(plain['tags'], ['t2']);
  });

  test('getAccount(2^53+1): the huge account, its id decoded by hessian.js as a decimal string', async () => {
    const frame = await conn.call({
      service: AS,
      version: '1.0.0',
      method: 'getAccount',
      descriptor: 'J',
      args: [{ $class: 'long', $: '9007199254740993' }],
    });
    const account = decodeResult(frame.body).value as Record<string, unknown>;
    assert.equal(account['id'], '9007199254740993');
    assert.equal(account['owner'], 'owner-9007199254740993');
    assert.deepEqual(account['balance'], { value: '12345678901234567890.12' });
    assert.deepEqual(account['openedAt'], {
      date: { year: 2021, month: 6, day: 30 },
      time: { hour: 23, minute: 59, second: 59, nano: 123456789 },
    });
  });

  test('getAccount(5000) (absent id) answers status 20, flag 3, the checked exception object', async () => {
    const frame = await conn.call({
      service: AS,
      version: '1.0.0',
      method: 'getAccount',
      descriptor: 'J',
      args: [{ $class: 'long', $: 5000 }],
    });
    assert.equal(frame.status, 20);
    const result = decodeResult(frame.body);
    assert.equal(result.flag, 3, 'RESPONSE_WITH_EXCEPTION_WITH_ATTACHMENTS');
    const err = result.exception as Error & { cause?: Record<string, unknown> };
    assert.ok(err instanceof Error, 'hessian.js turns *Exception objects into Error');
    assert.equal(err.name, 'com.example.bank.AccountNotFoundException');
    assert.equal(err.message, 'account 5000 not found');
    // hessian.js keeps the raw fields (including the custom one) on `cause`.
    assert.equal(err.cause?.['accountId'], 5000);
    assert.equal(err.cause?.['detailMessage'], 'account 5000 not found');
    const typed = decodeResult(frame.body, true).exception as { $class: string };
    assert.equal(typed.$class, 'com.example.bank.AccountNotFoundException');
  });

  test('fail("boom") (undeclared unchecked) arrives unwrapped as java.lang.IllegalStateException', async () => {
    const frame = await conn.call({
      service: AS,
      version: '1.0.0',
      method: 'fail',
      descriptor: 'Ljava/lang/String;',
      args: ['boom'],
    });
    const result = decodeResult(frame.body);
    assert.equal(result.flag, 3);
    const err = result.exception as Error;
    assert.equal(err.name, 'java.lang.IllegalStateException');
    assert.equal(err.message, 'boom');
  });

  test('overloaded greet: the descriptor picks greet(String) or greet(String,int)', async () => {
    const one = await conn.call({
      service: AS,
      version: '1.0.0',
      method: 'greet',
      descriptor: 'Ljava/lang/String;',
      args: ['Ann'],
    });
    assert.equal(decodeResult(one.body).value, 'Hello, Ann');
    const two = await conn.call({
      service: AS,
      version: '1.0.0',
      method: 'greet',
      descriptor: 'Ljava/lang/String;I',
      args: ['Ann', 2],
    });
    assert.equal(decodeResult(two.body).value, 'Hello, Ann Hello, Ann');
  });

  test('receivedAttachments() reflects attachments sent in the request', async () => {
    const frame = await conn.call({
      service: AS,
      version: '1.0.0',
      method: 'receivedAttachments',
      descriptor: '',
      attachments: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tenant: 'acme' },
    });
    const got = decodeResult(frame.body).value as Record<string, string>;
    assert.equal(got['traceparent'], '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    assert.equal(got['tenant'], 'acme');
  });

  test('TypeLabService (no version): describeLongList shows what Java received per element', async () => {
    const frame = await conn.call({
      service: LAB,
      method: 'describeLongList',
      descriptor: 'Ljava/util/List;',
      args: [[1, { $class: 'long', $: 2 }]],
    });
    // A hessian int inside a List<Long> stays an Integer on the Java side (generics are erased).
    assert.equal(decodeResult(frame.body).value, 'Integer:1,Long:2');
  });

  test('wrong version 2.0.0 for AccountService: status 40 with a plain message, not a result', async () => {
    const frame = await conn.call({ service: AS, version: '2.0.0', method: 'ping', descriptor: '' });
    assert.equal(frame.status, 40, 'Dubbo 3.3 fails to decode a request for an unknown service key');
    const [message] = decodeValues(frame.body);
    assert.match(String(message), /Fail to decode request/);
  });

  test('thread pool of 2 with queues=0: a call beyond two concurrent ones answers status 100', async () => {
    // Three slow calls at once on a connection of their own (the shared one may have been closed by
    // the provider after an earlier test). With two threads and no queue at least one of them must
    // be refused; which one depends on when the pool's threads start, so none is named.
    const busy = await openRaw(provider.dubboPort);
    try {
      const frames = await Promise.all(
        [0, 1, 2].map(() => busy.call({ service: AS, version: '1.0.0', method: 'slow', descriptor: 'I', args: [1500] })),
      );
      const refused = frames.filter((f) => f.status === 100);
      const served = frames.filter((f) => f.status === 20);
      assert.ok(refused.length >= 1, `statuses: ${frames.map((f) => f.status).join(',')}`);
      assert.equal(refused.length + served.length, 3, `only 20 or 100 expected: ${frames.map((f) => f.status).join(',')}`);
      for (const f of refused) assert.match(String(decodeValues(f.body)[0]), /thread pool is exhausted/i);
      for (const f of served) assert.equal(decodeResult(f.body).value, 'slept 1500');
    } finally {
      await busy.close();
    }
  });
});

describe('sample provider registration in ZooKeeper and graceful shutdown', () => {
  const require = createRequire(import.meta.url);
  // node-zookeeper-client ships no types; only createClient/getChildren/exists are used.
  const zookeeper: any = require('node-zookeeper-client');
  let zk: ZooKeeperServer;
  let provider: JavaProvider | undefined;
  let client: any;

  const getChildren = (path: string): Promise<string[]> =>
    new Promise((resolve, reject) => client.getChildren(path, (err: Error | null, children: string[]) => (err ? reject(err) : resolve(children))));

  before(async () => {
    zk = await startZooKeeper();
    client = zookeeper.createClient(zk.connectString, { sessionTimeout: 5000, retries: 2 });
    await new Promise<void>((resolve) => {
      client.once('connected', () => resolve());
      client.connect();
    });
  });
  after(async () => {
    client?.close();
    await provider?.stop();
    await zk?.stop();
  });

  test('--registry writes /dubbo/<interface>/providers/<url-encoded dubbo URL> with 127.0.0.1', async () => {
    provider = await startJavaProvider({ name: 'zk-one', registry: zk.registryUrl, verbose: true });
    const children = await getChildren(`/dubbo/${AS}/providers`);
    assert.equal(children.length, 1, `one provider node, got ${JSON.stringify(children)}`);
    const url = new URL(decodeURIComponent(children[0]!));
    assert.equal(url.protocol, 'dubbo:');
    assert.equal(url.hostname, '127.0.0.1', 'registered host is loopback, not the machine address');
    assert.equal(url.port, String(provider.dubboPort));
    assert.equal(url.pathname, `/${AS}`);
    assert.equal(url.searchParams.get('version'), '1.0.0');
    assert.equal(url.searchParams.get('serialization'), 'hessian2');
    assert.ok(url.searchParams.get('methods')?.split(',').includes('getAccount'));
    const lab = await getChildren(`/dubbo/${LAB}/providers`);
    assert.equal(lab.length, 1);
    assert.match(decodeURIComponent(lab[0]!), /^dubbo:\/\/127\.0\.0\.1:\d+\/com\.example\.lab\.TypeLabService\?/);
  });

  test('--verbose logs each received call to stderr', async () => {
    assert.ok(provider);
    const conn = await openRaw(provider.dubboPort);
    try {
      const frame = await conn.call({ service: AS, version: '1.0.0', method: 'whoami', descriptor: '' });
      assert.equal(decodeResult(frame.body).value, 'zk-one');
    } finally {
      await conn.close();
    }
    assert.match(provider.stderr(), /call AccountService\.whoami/);
  });

  test('SIGTERM: the connected consumer gets the read-only event, then the node is gone', async () => {
    assert.ok(provider);
    const conn = await openRaw(provider.dubboPort);
    // One call first, so the provider has surely registered the channel.
    await conn.call({ service: AS, version: '1.0.0', method: 'ping', descriptor: '' });
    const event = conn.nextEvent();
    const stopped = provider.stop();
    const frame = await event;
    assert.equal(frame.flag, 0xa2, 'request | event, not two-way, hessian2');
    assert.deepEqual(decodeValues(frame.body), ['R'], 'READONLY_EVENT');
    await stopped;
    provider = undefined;
    await conn.closed;
    // Ephemeral node removed (unregistered on shutdown, or at the latest when the session ends).
    let children = await getChildren(`/dubbo/${AS}/providers`);
    for (let i = 0; i < 100 && children.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      children = await getChildren(`/dubbo/${AS}/providers`);
    }
    assert.deepEqual(children, []);
  });
});
