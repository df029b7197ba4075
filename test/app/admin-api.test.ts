import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bearerToken, createReloadLog, tokenMatches } from '../../src/app/admin-api.js';
import { ConfigError } from '../../src/config/errors.js';
import { publicAddress, publicLabels } from '../../src/upstream/clients.js';

test('bearerToken reads `Bearer <token>` and nothing else (inputs: other schemes, two words, empty)', () => {
  assert.equal(bearerToken('Bearer abc.def'), 'abc.def');
  assert.equal(bearerToken('bearer  abc'), 'abc');
  assert.equal(bearerToken(['Bearer first', 'Bearer second']), 'first');
  for (const bad of ['Basic abc', 'Bearer', 'Bearer a b', '', undefined]) assert.equal(bearerToken(bad), undefined, `refused: ${String(bad)}`);
});

test('tokenMatches compares whole tokens (inputs: a prefix, a longer token, none)', () => {
  const token = 'admin-token-0123456789';
  assert.equal(tokenMatches(token, token), true);
  for (const bad of ['admin-token', `${token}x`, '', undefined]) assert.equal(tokenMatches(bad, token), false, `refused: ${String(bad)}`);
});

test('the reload log keeps the newest reloads first, a refused one with its problems at file:line:col, and at most its limit', () => {
  let n = 0;
  const log = createReloadLog(3, () => new Date(Date.UTC(2026, 0, 1, 0, 0, n++)));
  log.applied(12);
  log.refused(new ConfigError([{ file: 'mappings/bad.yaml', line: 4, col: 7, message: 'nope' }]));
  log.refused(new Error('timed out'));
  log.applied(13);
  const list = log.list();
  assert.equal(list.length, 3, 'at most the limit');
  assert.deepEqual(list[0], { at: '2026-01-01T00:00:03.000Z', ok: true, routes: 13 });
  assert.deepEqual(list[1], { at: '2026-01-01T00:00:02.000Z', ok: false, problems: [{ message: 'timed out' }] });
  assert.deepEqual(list[2]!.problems, [{ file: 'mappings/bad.yaml', line: 4, col: 7, message: 'nope' }]);
});

test('publicLabels drops provider URL parameters that may hold a secret (input: token, password, an access key)', () => {
  assert.deepEqual(publicLabels({ version: '1.0.0', token: 'abc', password: 'x', 'access-key': 'y', 'dubbo.tag': 'gray', application: 'bank' }), {
    version: '1.0.0',
    'dubbo.tag': 'gray',
    application: 'bank',
  });
});

test('publicAddress drops user info and query from a registry address (input: nacos://user:pw@host:8848?namespace=x)', () => {
  assert.equal(publicAddress('nacos://user:pw@10.0.0.1:8848?namespace=x&password=y'), 'nacos://10.0.0.1:8848');
  assert.equal(publicAddress('zookeeper://127.0.0.1:2181'), 'zookeeper://127.0.0.1:2181');
});
