import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  matchesService,
  parseHostPort,
  parseProviderNode,
  parseProviderUrl,
  selectProviders,
  toEndpoint,
} from '../../../src/upstream/discovery/provider-url.js';
import { createStaticSource } from '../../../src/upstream/discovery/static.js';
import { toConnectString } from '../../../src/upstream/discovery/zookeeper.js';
import { FerryError } from '../../../src/errors/index.js';

// A child name as Dubbo 3 writes it under /dubbo/<interface>/providers (Java URLEncoder output).
const NODE =
  'dubbo%3A%2F%2F192.168.1.5%3A20880%2Fcom.example.bank.AccountService%3Fanyhost%3Dtrue%26application%3Dbank-provider' +
  '%26deprecated%3Dfalse%26dubbo%3D2.0.2%26dynamic%3Dtrue%26generic%3Dfalse%26group%3Dretail' +
  '%26interface%3Dcom.example.bank.AccountService%26methods%3DgetAccount%2Ctransfer%2Cwhoami%26pid%3D1234' +
  '%26release%3D3.3.0%26serialization%3Dhessian2%26side%3Dprovider%26timestamp%3D1700000000000' +
  '%26version%3D1.0.0%26weight%3D200';

const url = (query: string, proto = 'dubbo', host = '10.0.0.1:20880') =>
  parseProviderUrl(`${proto}://${host}/com.example.S?interface=com.example.S${query === '' ? '' : '&' + query}`)!;

test('parses a URL-encoded provider node as Dubbo registers it', () => {
  const u = parseProviderNode(NODE);
  assert.ok(u);
  assert.equal(u.protocol, 'dubbo');
  assert.equal(u.host, '192.168.1.5');
  assert.equal(u.port, 20880);
  assert.equal(u.path, 'com.example.bank.AccountService');
  assert.equal(u.params['version'], '1.0.0');
  assert.equal(u.params['group'], 'retail');
  assert.equal(u.params['methods'], 'getAccount,transfer,whoami');
  assert.equal(u.params['serialization'], 'hessian2');
  assert.equal(u.params['side'], 'provider');
  const ep = toEndpoint(u);
  assert.equal(ep.id, '192.168.1.5:20880');
  assert.equal(ep.weight, 200);
});

test('Java URLEncoder spaces (+) decode to spaces, %2B to a plus', () => {
  const u = parseProviderNode(encodeURIComponent('dubbo://h:1/S?a=x y&b=1+2').replace(/%20/g, '+'));
  assert.equal(u?.params['a'], 'x y');
  assert.equal(u?.params['b'], '1+2');
});

test('IPv6 hosts, userinfo and a missing query', () => {
  const v6 = parseProviderUrl('dubbo://[::1]:20880/S');
  assert.equal(v6?.host, '::1');
  assert.equal(toEndpoint(v6).id, '[::1]:20880');
  const user = parseProviderUrl('dubbo://admin:pw@10.1.1.1:20881/S');
  assert.equal(user?.host, '10.1.1.1');
  assert.equal(user?.port, 20881);
  assert.deepEqual(parseProviderUrl('dubbo://h:20880')?.params, {});
});

test('rejects names that are not provider URLs', () => {
  // inputs tried: no scheme, no port, port 0, port 70000, a bad percent escape, empty host
  assert.equal(parseProviderUrl('10.0.0.1:20880'), undefined);
  assert.equal(parseProviderUrl('dubbo://10.0.0.1/S'), undefined);
  assert.equal(parseProviderUrl('dubbo://10.0.0.1:0/S'), undefined);
  assert.equal(parseProviderUrl('dubbo://10.0.0.1:70000/S'), undefined);
  assert.equal(parseProviderNode('dubbo%3A%2F%2F%ZZ'), undefined);
  assert.equal(parseProviderUrl('dubbo://:20880/S'), undefined);
});

test('weight: the parameter, legacy default.weight, or 100 when absent or not a number', () => {
  assert.equal(toEndpoint(url('weight=7')).weight, 7);
  assert.equal(toEndpoint(url('default.weight=9')).weight, 9);
  assert.equal(toEndpoint(url('')).weight, 100);
  assert.equal(toEndpoint(url('weight=abc')).weight, 100);
  assert.equal(toEndpoint(url('weight=-3')).weight, 100);
});

test('version matching: absent, empty and 0.0.0 are all "no version"; * accepts any', () => {
  const sel = { interface: 'com.example.S' };
  assert.equal(matchesService(url(''), sel), true);
  assert.equal(matchesService(url('version=0.0.0'), sel), true);
  assert.equal(matchesService(url('version='), { ...sel, version: '0.0.0' }), true);
  assert.equal(matchesService(url('version=1.0.0'), sel), false);
  assert.equal(matchesService(url('version=1.0.0'), { ...sel, version: '1.0.0' }), true);
  assert.equal(matchesService(url('version=1.0.1'), { ...sel, version: '1.0.0' }), false);
  assert.equal(matchesService(url(''), { ...sel, version: '1.0.0' }), false);
  assert.equal(matchesService(url('version=2.0.0'), { ...sel, version: '*' }), true);
});

test('group matching: exact, comma list, *, and no group only matches no group', () => {
  const sel = { interface: 'com.example.S' };
  assert.equal(matchesService(url('group=retail'), { ...sel, group: 'retail' }), true);
  assert.equal(matchesService(url('group=retail'), sel), false);
  assert.equal(matchesService(url(''), { ...sel, group: 'retail' }), false);
  assert.equal(matchesService(url('group=b'), { ...sel, group: 'a,b' }), true);
  assert.equal(matchesService(url('group=c'), { ...sel, group: 'a,b' }), false);
  assert.equal(matchesService(url('group=x'), { ...sel, group: '*' }), true);
  assert.equal(matchesService(url(''), { ...sel, group: '*' }), true);
});

test('protocol, interface, category and enabled filters', () => {
  const sel = { interface: 'com.example.S' };
  assert.equal(matchesService(url('', 'tri'), sel), false);
  assert.equal(matchesService(url('', 'tri'), { ...sel, protocol: 'tri' }), true);
  assert.equal(matchesService(url(''), { interface: 'com.example.Other' }), false);
  assert.equal(matchesService(url('category=configurators'), sel), false);
  assert.equal(matchesService(url('enabled=false'), sel), false);
  assert.equal(matchesService(url('enabled=true'), sel), true);
});

test('selectProviders filters, de-duplicates by host:port and sorts', () => {
  const enc = (u: string) => encodeURIComponent(u);
  const names = [
    enc('dubbo://10.0.0.2:20880/com.example.S?version=1.0.0&group=g'),
    enc('dubbo://10.0.0.1:20880/com.example.S?version=1.0.0&group=g&weight=50'),
    enc('dubbo://10.0.0.1:20880/com.example.S?version=1.0.0&group=g&weight=60'),
    enc('dubbo://10.0.0.3:20880/com.example.S?version=2.0.0&group=g'),
    enc('tri://10.0.0.4:50051/com.example.S?version=1.0.0&group=g'),
    'garbage',
  ];
  const eps = selectProviders(names, { interface: 'com.example.S', version: '1.0.0', group: 'g' });
  assert.deepEqual(
    eps.map((e) => [e.id, e.weight]),
    [
      ['10.0.0.1:20880', 50],
      ['10.0.0.2:20880', 100],
    ],
  );
});

test('static source: parses, de-duplicates, never changes', async () => {
  const src = createStaticSource(['127.0.0.1:20880', ' 127.0.0.1:20881', '127.0.0.1:20880', '[::1]:20882']);
  assert.deepEqual(
    src.current().map((e) => e.id),
    ['127.0.0.1:20880', '127.0.0.1:20881', '[::1]:20882'],
  );
  assert.equal(src.current()[0]!.weight, 100);
  let called = false;
  const off = src.subscribe(() => (called = true));
  off();
  await src.close();
  assert.equal(called, false);
});

test('static source rejects what is not host:port', () => {
  // inputs tried: a URL, no port, a port out of range, a path
  for (const bad of ['dubbo://h:1', 'localhost', 'h:99999', 'h:1/x', 'a@h:1']) {
    assert.throws(
      () => createStaticSource([bad]),
      (err: unknown) => err instanceof FerryError && err.code === 'FERRY_CONFIG_INVALID' && err.message.includes(bad),
      bad,
    );
  }
  assert.deepEqual(parseHostPort('example.com:80'), { host: 'example.com', port: 80, id: 'example.com:80' });
});

test('registry URLs become ZooKeeper connect strings', () => {
  assert.equal(toConnectString('zookeeper://127.0.0.1:2181'), '127.0.0.1:2181');
  assert.equal(toConnectString('zookeeper://a:2181?backup=b:2181,c:2181'), 'a:2181,b:2181,c:2181');
  assert.equal(toConnectString('a:2181,b:2181'), 'a:2181,b:2181');
});
