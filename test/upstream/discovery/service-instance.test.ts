/**
 * Application-level instance records and MetadataInfo, as Dubbo 3.3.6 writes them. The JSON below
 * was read from ZooKeeper nodes that real 3.3.6 providers (samples/java-provider) registered
 * (`methods` lists shortened); test/e2e/discovery-app-level.test.ts checks the same against live ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RegistryError } from '../../../src/errors/index.js';
import {
  endpointsOfInstance,
  mergeEndpoints,
  metadataInfoFromObject,
  parseMetadataInfoJson,
  parseZooKeeperInstance,
  providerTimeoutMs,
  sameEndpoints,
  serializationRefusal,
  serviceInstanceFromMetadata,
  DEFAULT_APP_DATA_BUDGETS,
} from '../../../src/upstream/discovery/service-instance.js';
import { selectProviders } from '../../../src/upstream/discovery/provider-url.js';
import type { Endpoint } from '../../../src/upstream/discovery/types.js';

/** `/services/app-x/127.0.0.1:45015`, register-mode all, metadata-type remote. */
const REMOTE_INSTANCE =
  '{"name":"app-x","id":"127.0.0.1:45015","address":"127.0.0.1","port":45015,"sslPort":null,"payload":{"@class":"org.apache.dubbo.registry.zookeeper.ZookeeperInstance","id":"127.0.0.1:45015","name":"app-x","metadata":{"dubbo.endpoints":"[{\\"port\\":45015,\\"protocol\\":\\"dubbo\\"}]","dubbo.metadata.revision":"69387b2d49e3daf66e6ff52645853a50","dubbo.metadata.storage-type":"remote","meta-v":"1.0.0","timestamp":"1796161788111"}},"registrationTimeUTC":1796161788300,"serviceType":"DYNAMIC","uriSpec":null}';

/** `/services/app-x/127.0.0.1:37727`, register-mode instance, metadata-type local, Triple on. */
const LOCAL_TRIPLE_INSTANCE =
  '{"name":"app-x","id":"127.0.0.1:37727","address":"127.0.0.1","port":37727,"sslPort":null,"payload":{"@class":"org.apache.dubbo.registry.zookeeper.ZookeeperInstance","id":"127.0.0.1:37727","name":"app-x","metadata":{"dubbo.endpoints":"[{\\"port\\":37727,\\"protocol\\":\\"dubbo\\"},{\\"port\\":34989,\\"protocol\\":\\"tri\\"}]","dubbo.metadata-service.url-params":"{\\"prefer.serialization\\":\\"hessian2,fastjson2\\",\\"version\\":\\"2.0.0\\",\\"dubbo\\":\\"2.0.2\\",\\"release\\":\\"3.3.6\\",\\"side\\":\\"provider\\",\\"port\\":\\"34989\\",\\"protocol\\":\\"tri\\"}","dubbo.metadata.revision":"dc71f2639fae5829eb7905cff747ae44","dubbo.metadata.storage-type":"local","meta-v":"2.0.0","timestamp":"1796161863806"}},"registrationTimeUTC":1796161863998,"serviceType":"DYNAMIC","uriSpec":null}';

/** `/dubbo/metadata/app-x/69387b2d49e3daf66e6ff52645853a50`. */
const REMOTE_METADATA =
  '{"app":"app-x","revision":"69387b2d49e3daf66e6ff52645853a50","services":{"com.example.lab.TypeLabService:dubbo":{"name":"com.example.lab.TypeLabService","params":{"side":"provider","release":"3.3.6","methods":"describeBigInteger,describeBoxed,describeBytes,describeCurrency","logger":"jdk","deprecated":"false","dubbo":"2.0.2","weight":"50","interface":"com.example.lab.TypeLabService","service-name-mapping":"true","timeout":"60000","generic":"false","revision":"provider","serialization":"hessian2","retries":"0","metadata-type":"remote","application":"app-x","prefer.serialization":"hessian2","dynamic":"true","warmup":"60000","REGISTRY_CLUSTER":"default","dubbo.tag":"gray"},"path":"com.example.lab.TypeLabService","port":45015,"protocol":"dubbo"},"com.example.bank.AccountService:1.0.0:dubbo":{"name":"com.example.bank.AccountService","params":{"side":"provider","release":"3.3.6","methods":"accountSummary,fail,findAccount,getAccount","logger":"jdk","deprecated":"false","dubbo":"2.0.2","weight":"50","interface":"com.example.bank.AccountService","service-name-mapping":"true","version":"1.0.0","timeout":"60000","generic":"false","revision":"provider","serialization":"hessian2","retries":"0","metadata-type":"remote","application":"app-x","prefer.serialization":"hessian2","dynamic":"true","warmup":"60000","REGISTRY_CLUSTER":"default","dubbo.tag":"gray"},"path":"com.example.bank.AccountService","port":45015,"protocol":"dubbo","version":"1.0.0"}}}';

const REV = '69387b2d49e3daf66e6ff52645853a50';

function registryError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof RegistryError, `a RegistryError, got ${String(err)}`);
    assert.equal(err.code, 'FERRY_REGISTRY_ERROR');
    assert.match(err.message, pattern);
    return true;
  });
}

test('a 3.3.6 instance node: address, port, revision, storage type, protocol ports, MetadataService params', () => {
  const remote = parseZooKeeperInstance('app-x', Buffer.from(REMOTE_INSTANCE), '/services/app-x/127.0.0.1:45015');
  assert.equal(remote.id, '127.0.0.1:45015');
  assert.equal(remote.revision, REV);
  assert.equal(remote.storageType, 'remote');
  assert.deepEqual([...remote.protocolPorts], [['dubbo', 45015]]);
  assert.equal(remote.metadataServiceParams, undefined);
  assert.equal(remote.metadata['timestamp'], '1796161788111');

  const local = parseZooKeeperInstance('app-x', LOCAL_TRIPLE_INSTANCE, '/services/app-x/127.0.0.1:37727');
  assert.equal(local.storageType, 'local');
  assert.deepEqual(
    [...local.protocolPorts],
    [
      ['dubbo', 37727],
      ['tri', 34989],
    ],
  );
  assert.deepEqual(local.metadataServiceParams, {
    'prefer.serialization': 'hessian2,fastjson2',
    version: '2.0.0',
    dubbo: '2.0.2',
    release: '3.3.6',
    side: 'provider',
    port: '34989',
    protocol: 'tri',
  });
});

test('malformed instance nodes are refused with the node named (input: empty, not JSON, no address, bad port, over budget)', () => {
  const where = '/services/app-x/bad';
  registryError(() => parseZooKeeperInstance('app-x', Buffer.alloc(0), where), /\/services\/app-x\/bad has no data/);
  registryError(() => parseZooKeeperInstance('app-x', '{"address":', where), /\/services\/app-x\/bad is not JSON/);
  registryError(() => parseZooKeeperInstance('app-x', '[1,2]', where), /is not a JSON object/);
  registryError(() => parseZooKeeperInstance('app-x', '{"port":20880}', where), /has no usable address/);
  registryError(() => parseZooKeeperInstance('app-x', '{"address":"10.0.0.1","port":70000}', where), /no usable port \(70000\)/);
  registryError(() => parseZooKeeperInstance('app-x', '{"address":"10.0.0.1/x","port":1}', where), /no usable address/);
  registryError(
    () => parseZooKeeperInstance('app-x', '{"address":"10.0.0.1","port":1,"payload":{"metadata":"x"}}', where),
    /metadata is not an object/,
  );
  const big = JSON.stringify({ address: '10.0.0.1', port: 1, payload: { metadata: { pad: 'x'.repeat(70_000) } } });
  registryError(() => parseZooKeeperInstance('app-x', big, where), /holds \d+ bytes; the limit is 65536/);
  const many = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`k${i}`, 'v']));
  registryError(() => serviceInstanceFromMetadata('app-x', '10.0.0.1', 1, many, where), /more than 512 metadata entries/);
});

test('unreadable optional metadata degrades instead of failing: no revision, bad dubbo.endpoints, bad url-params, non-string values', () => {
  const inst = serviceInstanceFromMetadata(
    'app',
    '::1',
    '20880',
    { 'dubbo.metadata.revision': '0', 'dubbo.endpoints': '{oops', 'dubbo.metadata-service.url-params': '[1]', n: 5, ok: 'yes' },
    'where',
  );
  assert.equal(inst.id, '[::1]:20880');
  assert.equal(inst.revision, undefined, 'revision 0 is Dubbo\'s "no metadata"');
  assert.equal(inst.protocolPorts.size, 0);
  assert.equal(inst.metadataServiceParams, undefined);
  assert.deepEqual(inst.metadata, {
    'dubbo.metadata.revision': '0',
    'dubbo.endpoints': '{oops',
    'dubbo.metadata-service.url-params': '[1]',
    ok: 'yes',
  });
});

test('MetadataInfo from the metadata report: services with name, protocol, port, path, version, params', () => {
  const info = parseMetadataInfoJson(REMOTE_METADATA, { app: 'app-x', revision: REV }, '/dubbo/metadata/app-x/' + REV);
  assert.equal(info.services.length, 2);
  const accounts = info.services.find((s) => s.name === 'com.example.bank.AccountService')!;
  assert.equal(accounts.version, '1.0.0');
  assert.equal(accounts.group, undefined);
  assert.equal(accounts.protocol, 'dubbo');
  assert.equal(accounts.port, 45015);
  assert.equal(accounts.path, 'com.example.bank.AccountService');
  assert.equal(accounts.params['weight'], '50');
  assert.equal(accounts.params['dubbo.tag'], 'gray');
  const lab = info.services.find((s) => s.name === 'com.example.lab.TypeLabService')!;
  assert.equal(lab.version, undefined);
  assert.ok(info.approxBytes > 1000 && info.approxBytes < 20_000, `approxBytes ${info.approxBytes}`);
});

test("MetadataInfo that is garbage or someone else's is refused (input: wrong app, wrong revision, no services, service without name, over budgets)", () => {
  const exp = { app: 'app-x', revision: REV };
  registryError(() => parseMetadataInfoJson('nope', exp, 'm'), /MetadataInfo m is not JSON/);
  registryError(() => metadataInfoFromObject({ app: 'other', revision: REV, services: {} }, exp, 'm'), /belongs to application "other"/);
  registryError(() => metadataInfoFromObject({ app: 'app-x', revision: 'abc', services: {} }, exp, 'm'), /is revision "abc"/);
  registryError(() => metadataInfoFromObject({ app: 'app-x', revision: REV }, exp, 'm'), /has no services map/);
  registryError(() => metadataInfoFromObject({ services: { k: 5 } }, exp, 'm'), /service "k" is not an object/);
  registryError(() => metadataInfoFromObject({ services: { k: { params: [] } } }, exp, 'm'), /params of service "k" are not a map/);
  registryError(() => metadataInfoFromObject({ services: { k: { params: {} } } }, exp, 'm'), /service "k" has no name/);
  const budgets = { ...DEFAULT_APP_DATA_BUDGETS, maxServicesPerRevision: 1, maxParamsPerService: 2, maxMetadataBytes: 100 };
  registryError(
    () => metadataInfoFromObject({ services: { a: { name: 'a' }, b: { name: 'b' } } }, exp, 'm', budgets),
    /lists 2 services; the limit is 1/,
  );
  registryError(
    () => metadataInfoFromObject({ services: { a: { name: 'a', params: { x: '1', y: '2', z: '3' } } } }, exp, 'm', budgets),
    /has 3 params; the limit is 2/,
  );
  registryError(() => parseMetadataInfoJson(REMOTE_METADATA, exp, 'm', budgets), /holds \d+ bytes; the limit is 100/);
  // A name may come from params.interface only; a missing protocol is dubbo; a bad port is "unknown".
  const ok = metadataInfoFromObject({ services: { k: { params: { interface: 'a.B' }, port: 'x' } } }, exp, 'm');
  assert.deepEqual(ok.services[0], {
    name: 'a.B',
    group: undefined,
    version: undefined,
    protocol: 'dubbo',
    port: undefined,
    path: 'a.B',
    params: { interface: 'a.B' },
  });
});

test("endpoints of an instance: selected by interface/version/group/protocol, on the protocol's port, labels = instance metadata + service params", () => {
  const inst = parseZooKeeperInstance('app-x', REMOTE_INSTANCE, 'node');
  const info = parseMetadataInfoJson(REMOTE_METADATA, { app: 'app-x', revision: REV }, 'm');
  const [e, ...rest] = endpointsOfInstance(inst, info, { interface: 'com.example.bank.AccountService', version: '1.0.0' });
  assert.equal(rest.length, 0);
  assert.equal(e!.id, '127.0.0.1:45015');
  assert.equal(e!.protocol, 'dubbo');
  assert.equal(e!.weight, 50);
  assert.equal(e!.warmupStartMs, 1796161788111, 'timestamp is an instance param');
  assert.equal(e!.labels['dubbo.tag'], 'gray');
  assert.equal(e!.labels['warmup'], '60000');
  assert.equal(e!.labels['dubbo.metadata.revision'], REV);
  assert.deepEqual(endpointsOfInstance(inst, info, { interface: 'com.example.bank.AccountService', version: '2.0.0' }), []);
  assert.deepEqual(endpointsOfInstance(inst, info, { interface: 'com.example.bank.AccountService', version: '1.0.0', group: 'g' }), []);
  assert.deepEqual(endpointsOfInstance(inst, info, { interface: 'com.example.bank.AccountService', version: '1.0.0', protocol: 'tri' }), []);
  assert.equal(endpointsOfInstance(inst, info, { interface: 'com.example.lab.TypeLabService' }).length, 1);

  // A Triple service lives on the instance's `tri` port; it is matched by its Java interface.
  const triple = parseZooKeeperInstance('app-x', LOCAL_TRIPLE_INSTANCE, 'node');
  const tinfo = metadataInfoFromObject(
    {
      services: {
        'com.example.sample.greeter.Greeter:1.0.0:tri': {
          name: 'com.example.sample.greeter.Greeter',
          path: 'ferry.sample.v1.Greeter',
          protocol: 'tri',
          port: 34989,
          version: '1.0.0',
          params: { interface: 'com.example.sample.greeter.Greeter', version: '1.0.0', 'prefer.serialization': 'hessian2,fastjson2' },
        },
      },
    },
    { app: 'app-x', revision: 'dc71f2639fae5829eb7905cff747ae44' },
    'm',
  );
  const [t] = endpointsOfInstance(triple, tinfo, { interface: 'com.example.sample.greeter.Greeter', version: '1.0.0', protocol: 'tri' });
  assert.equal(t?.id, '127.0.0.1:34989');
  assert.equal(t?.protocol, 'tri');
});

test('the same provider in both layouts is one endpoint; the interface-level entry wins; the answer is sorted', () => {
  const url =
    'dubbo%3A%2F%2F127.0.0.1%3A45015%2Fcom.example.bank.AccountService%3Fapplication%3Dapp-x%26interface%3Dcom.example.bank.AccountService%26side%3Dprovider%26timestamp%3D1796161787000%26version%3D1.0.0%26weight%3D50';
  const selector = { interface: 'com.example.bank.AccountService', version: '1.0.0' };
  const interfaceLevel = selectProviders([url], selector);
  const inst = parseZooKeeperInstance('app-x', REMOTE_INSTANCE, 'node');
  const appLevel = endpointsOfInstance(inst, parseMetadataInfoJson(REMOTE_METADATA, { app: 'app-x', revision: REV }, 'm'), selector);
  const other: Endpoint = { ...appLevel[0]!, id: '10.0.0.9:1', host: '10.0.0.9', port: 1 };
  const merged = mergeEndpoints(interfaceLevel, [...appLevel, other]);
  assert.deepEqual(
    merged.map((e) => e.id),
    ['10.0.0.9:1', '127.0.0.1:45015'],
  );
  assert.equal(merged[1], interfaceLevel[0]);
  assert.equal(merged[1]!.weight, appLevel[0]!.weight, 'both layouts say weight 50');
  const appFirst = mergeEndpoints([other, ...appLevel], interfaceLevel);
  assert.deepEqual(
    appFirst.map((e) => e.id),
    ['10.0.0.9:1', '127.0.0.1:45015'],
    'whichever list comes first, one endpoint per host:port',
  );
  assert.equal(appFirst[1], appLevel[0]);
  assert.ok(sameEndpoints(merged, [...merged]));
  assert.ok(!sameEndpoints(merged, [merged[0]!, { ...merged[1]!, labels: { ...merged[1]!.labels, 'dubbo.tag': 'blue' } }]));
});

test('serialization: hessian2 (declared, default or preferred) is spoken; anything else is refused with the reason', () => {
  const e = (labels: Record<string, string>, protocol = 'dubbo'): Endpoint => ({
    id: 'h:1',
    host: 'h',
    port: 1,
    protocol,
    weight: 100,
    warmupStartMs: undefined,
    labels,
    cluster: 'default',
    priority: 0,
  });
  assert.equal(serializationRefusal(e({})), undefined);
  assert.equal(serializationRefusal(e({ serialization: 'hessian2' })), undefined);
  assert.equal(serializationRefusal(e({ serialization: 'fastjson2', 'prefer.serialization': 'fastjson2,hessian2' })), undefined);
  assert.equal(serializationRefusal(e({ serialization: 'fastjson2' })), 'serialization fastjson2; Ferry speaks hessian2 only');
  assert.equal(
    serializationRefusal(e({ serialization: 'fastjson2', 'prefer.serialization': 'fastjson2' })),
    'serialization fastjson2; Ferry speaks hessian2 only',
    'as 3.3.6 registers it',
  );
  assert.equal(
    serializationRefusal(e({ serialization: 'kryo', 'prefer.serialization': 'kryo, fst' })),
    'serialization kryo (prefers kryo, fst); Ferry speaks hessian2 only',
  );
  assert.equal(serializationRefusal(e({ 'default.serialization': 'fst' })), 'serialization fst; Ferry speaks hessian2 only');
  assert.equal(serializationRefusal(e({ serialization: 'protobuf' }, 'tri')), undefined, 'Triple carries its own encoding');
});

test('provider timeout: the largest declared `timeout` of the endpoints, else undefined', () => {
  const e = (timeout?: string): Endpoint => ({
    id: 'h:1',
    host: 'h',
    port: 1,
    protocol: 'dubbo',
    weight: 100,
    warmupStartMs: undefined,
    labels: timeout === undefined ? {} : { timeout },
    cluster: 'default',
    priority: 0,
  });
  assert.equal(providerTimeoutMs([]), undefined);
  assert.equal(providerTimeoutMs([e(), e('abc'), e('0')]), undefined);
  assert.equal(providerTimeoutMs([e('3000'), e(), e('60000')]), 60000);
});
