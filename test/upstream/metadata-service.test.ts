/**
 * The pure parts of reading MetadataInfo from an instance's MetadataService: which port to ask,
 * and turning a reply body into a MetadataInfo. The call itself, against real Dubbo 3.3.6
 * providers, is in test/e2e/discovery-app-level.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HessianWriter } from '../../src/codec/hessian/writer.js';
import { RegistryError } from '../../src/errors/index.js';
import { serviceInstanceFromMetadata } from '../../src/upstream/discovery/service-instance.js';
import { decodeMetadataInfoReply, metadataServiceAddress } from '../../src/upstream/metadata-service.js';

const expected = { app: 'app-x', revision: 'dc71f2639fae5829eb7905cff747ae44' };

/** A reply body as a 3.3.6 provider sends it (flag 4 = value with attachments), field order as observed. */
function replyBody(opts: { app?: string; revision?: string; port?: number | bigint } = {}): Buffer {
  const w = new HessianWriter();
  w.writeInt(4);
  w.writeObjectBegin('org.apache.dubbo.metadata.MetadataInfo', ['services', 'revision', 'app']);
  w.writeMapBegin('java.util.concurrent.ConcurrentHashMap');
  w.writeString('com.example.bank.AccountService:1.0.0:dubbo');
  w.writeObjectBegin('org.apache.dubbo.metadata.MetadataInfo$ServiceInfo', ['params', 'path', 'port', 'protocol', 'version', 'group', 'name']);
  w.writeMapBegin(null);
  for (const [k, v] of [
    ['interface', 'com.example.bank.AccountService'],
    ['version', '1.0.0'],
    ['weight', '50'],
    ['timeout', '60000'],
    ['dubbo.tag', 'gray'],
  ]) {
    w.writeString(k!);
    w.writeString(v!);
  }
  w.writeMapEnd();
  w.writeString('com.example.bank.AccountService');
  if (typeof opts.port === 'bigint') w.writeLong(opts.port);
  else w.writeInt(opts.port ?? 37727);
  w.writeString('dubbo');
  w.writeString('1.0.0');
  w.writeNull();
  w.writeString('com.example.bank.AccountService');
  w.writeMapEnd();
  w.writeString(opts.revision ?? expected.revision);
  w.writeString(opts.app ?? expected.app);
  w.writeMapBegin(null);
  w.writeString('dubbo');
  w.writeString('2.0.2');
  w.writeMapEnd();
  return w.finish();
}

function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof RegistryError && err.code === 'FERRY_REGISTRY_ERROR' && pattern.test(err.message));
}

test('a getMetadataInfo reply becomes the MetadataInfo it carries', () => {
  for (const port of [37727, 37727n]) {
    const info = decodeMetadataInfoReply(replyBody({ port }), expected, 'm');
    assert.equal(info.services.length, 1);
    assert.deepEqual(info.services[0], {
      name: 'com.example.bank.AccountService',
      group: undefined,
      version: '1.0.0',
      protocol: 'dubbo',
      port: 37727,
      path: 'com.example.bank.AccountService',
      params: { interface: 'com.example.bank.AccountService', version: '1.0.0', weight: '50', timeout: '60000', 'dubbo.tag': 'gray' },
    });
  }
});

test('replies that are not a MetadataInfo for this revision are refused (input: null, exception, a string, garbage bytes, another revision)', () => {
  const w = new HessianWriter();
  w.writeInt(5); // null value, with attachments
  w.writeMapBegin(null);
  w.writeMapEnd();
  refused(() => decodeMetadataInfoReply(w.finish(), expected, 'm'), /m: the instance does not know revision dc71f2639fae5829eb7905cff747ae44/);
  w.reset();
  w.writeInt(0);
  w.writeObjectBegin('java.lang.IllegalStateException', ['detailMessage']);
  w.writeString('boom');
  refused(() => decodeMetadataInfoReply(w.finish(), expected, 'm'), /threw java\.lang\.IllegalStateException/);
  w.reset();
  w.writeInt(1);
  w.writeString('hello');
  refused(() => decodeMetadataInfoReply(w.finish(), expected, 'm'), /the reply is not a MetadataInfo object/);
  refused(() => decodeMetadataInfoReply(Buffer.from([0x91, 0x53, 0x00, 0x10, 0x61]), expected, 'm'), /is not Hessian 2/);
  refused(() => decodeMetadataInfoReply(replyBody().subarray(0, 40), expected, 'm'), /is not Hessian 2/);
  refused(() => decodeMetadataInfoReply(replyBody({ revision: 'other' }), expected, 'm'), /is revision "other"/);
  refused(() => decodeMetadataInfoReply(replyBody({ app: 'intruder' }), expected, 'm'), /belongs to application "intruder"/);
});

test('which port is asked: url-params naming dubbo, else the dubbo entry of dubbo.endpoints, else the instance port', () => {
  const at = (meta: Record<string, string>) => metadataServiceAddress(serviceInstanceFromMetadata('app', '10.0.0.1', 20880, meta, 'w'));
  assert.deepEqual(at({ 'dubbo.metadata-service.url-params': '{"protocol":"dubbo","port":"20881"}' }), { host: '10.0.0.1', port: 20881 });
  // 3.3.6 with Triple on: url-params name tri (MetadataServiceV2); the 1.0.0 service answers on the dubbo port.
  assert.deepEqual(
    at({
      'dubbo.metadata-service.url-params': '{"protocol":"tri","port":"50051","version":"2.0.0"}',
      'dubbo.endpoints': '[{"port":20882,"protocol":"dubbo"},{"port":50051,"protocol":"tri"}]',
    }),
    { host: '10.0.0.1', port: 20882 },
  );
  assert.deepEqual(at({}), { host: '10.0.0.1', port: 20880 });
  const triOnly = at({ 'dubbo.endpoints': '[{"port":50051,"protocol":"tri"}]' });
  assert.ok('error' in triOnly && /no dubbo-protocol port to ask for its MetadataService \(tri only\)/.test(triOnly.error));
});
