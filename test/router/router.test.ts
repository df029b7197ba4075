import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRouter, parseTemplate, TemplateError } from '../../src/router/index.js';

const router = createRouter([
  { method: 'GET', template: '/accounts/{id}', value: 'get-account' },
  { method: 'GET', template: '/accounts/{id}/summary', value: 'summary' },
  { method: 'POST', template: '/accounts/{id}/transfers', value: 'transfer' },
  { method: 'GET', template: '/accounts/me', value: 'me' },
  { method: 'POST', template: '/v1/payments:search', value: 'search' },
  { method: 'GET', template: '/v1/{name=shelves/*/books/*}', value: 'book' },
  { method: 'GET', template: '/v1/files/{path=**}', value: 'file' },
  { method: 'GET', template: '/v1/{book.id}/pages/*', value: 'page' },
  { method: 'GET', template: '/', value: 'root' },
]);

test('literal segments win over variables', () => {
  assert.deepEqual(router.match('GET', '/accounts/me'), { kind: 'found', value: 'me', params: {} });
  assert.deepEqual(router.match('GET', '/accounts/42'), { kind: 'found', value: 'get-account', params: { id: '42' } });
});

test('variables are percent-decoded', () => {
  const r = router.match('GET', '/accounts/a%20b/summary');
  assert.deepEqual(r, { kind: 'found', value: 'summary', params: { id: 'a b' } });
});

test('a custom verb after the last segment', () => {
  assert.deepEqual(router.match('POST', '/v1/payments:search'), { kind: 'found', value: 'search', params: {} });
  assert.equal(router.match('POST', '/v1/payments').kind, 'not-found');
});

test('multi-segment variables and ** bind the matched segments', () => {
  assert.deepEqual(router.match('GET', '/v1/shelves/s1/books/b2'), { kind: 'found', value: 'book', params: { name: 'shelves/s1/books/b2' } });
  assert.deepEqual(router.match('GET', '/v1/files/a/b/c.txt'), { kind: 'found', value: 'file', params: { path: 'a/b/c.txt' } });
  assert.deepEqual(router.match('GET', '/v1/b7/pages/3'), { kind: 'found', value: 'page', params: { 'book.id': 'b7' } });
});

test('the wrong method is told apart from an unknown path', () => {
  assert.deepEqual(router.match('DELETE', '/accounts/1'), { kind: 'method-not-allowed', allowed: ['GET'] });
  assert.equal(router.match('GET', '/nope').kind, 'not-found');
  assert.equal(router.match('GET', '/accounts/1/summary/extra').kind, 'not-found');
  assert.equal(router.match('GET', 'no-slash').kind, 'not-found');
  assert.equal(router.match('GET', '/').kind, 'found');
});

test('malformed templates are rejected with a reason', () => {
  assert.throws(() => parseTemplate('accounts'), TemplateError);
  assert.throws(() => parseTemplate('/a/{id'), /unbalanced/);
  assert.throws(() => parseTemplate('/a/**/b'), /only as its last segment/);
  assert.throws(() => parseTemplate('/a//b'), /empty segment/);
  assert.throws(() => parseTemplate('/a/{x}/{x}'), /twice/);
  assert.throws(() => createRouter([{ method: 'GET', template: '/a/{x}', value: 1 }, { method: 'GET', template: '/a/{y}', value: 2 }]), /duplicate/);
});
