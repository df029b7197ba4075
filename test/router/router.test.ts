import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FerryError } from '../../src/errors/index.js';
import { createRouter, parseTemplate, templateKey, TemplateError, variableNames, variablePattern } from '../../src/router/index.js';

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
  assert.throws(
    () =>
      createRouter([
        { method: 'GET', template: '/a/{x}', value: 1 },
        { method: 'GET', template: '/a/{y}', value: 2 },
      ]),
    /duplicate/,
  );
});

// The parser is the only one in Ferry (loader, gRPC mapping and OpenAPI read its result), so the
// shapes those used to parse themselves are pinned here.

test('a multi-segment variable {name=accounts/*/payments/*} spans its segments', () => {
  const t = parseTemplate('/v1/{name=accounts/*/payments/*}');
  assert.deepEqual(
    t.segments.map((s) => s.kind),
    ['literal', 'literal', 'star', 'literal', 'star'],
  );
  assert.deepEqual(t.variables, [{ name: 'name', start: 1, end: 5 }]);
  assert.equal(variablePattern(t, t.variables[0]!), 'accounts/*/payments/*');
  assert.equal(t.verb, '');
  assert.equal(t.text, '/v1/{name=accounts/*/payments/*}');
  assert.ok(Object.isFrozen(t) && Object.isFrozen(t.segments) && Object.isFrozen(t.variables));
});

test('** inside a variable runs to the end of the path, bare ** binds nothing, and ** must be last', () => {
  const inVar = parseTemplate('/v1/files/{path=**}');
  assert.deepEqual(inVar.variables, [{ name: 'path', start: 2, end: -1 }]);
  assert.equal(variablePattern(inVar, inVar.variables[0]!), '**');
  const bare = parseTemplate('/static/**');
  assert.deepEqual(bare.variables, []);
  assert.equal(bare.segments[1]!.kind, 'double-star');
  const r = createRouter([{ method: 'GET', template: bare, value: 'static' }]);
  assert.deepEqual(r.match('GET', '/static/a/b'), { kind: 'found', value: 'static', params: {} });
  assert.throws(() => parseTemplate('/v1/{path=**}/x'), /only as its last segment/);
  assert.throws(() => parseTemplate('/v1/{path=a/**/b}'), /only as its last segment/);
});

test('custom verbs: after a literal or a variable; a ":" elsewhere is part of a segment', () => {
  assert.deepEqual([parseTemplate('/v1/payments:search').verb, variableNames(parseTemplate('/v1/payments:search'))], ['search', []]);
  const capture = parseTemplate('/v1/{name=accounts/*/payments/*}:capture');
  assert.equal(capture.verb, 'capture');
  assert.deepEqual(variableNames(capture), ['name']);
  const midColon = parseTemplate('/v1/a:b/c');
  assert.equal(midColon.verb, '');
  assert.deepEqual(midColon.segments[1], { kind: 'literal', value: 'a:b' });
  assert.equal(parseTemplate('/v1/{name=a:b}').verb, '', 'a ":" inside a variable is no verb');
  assert.throws(() => parseTemplate('/v1/payments:'), /empty ":verb"/);
  const r = createRouter([{ method: 'POST', template: capture, value: 'capture' }]);
  assert.deepEqual(r.match('POST', '/v1/accounts/1/payments/2:capture'), {
    kind: 'found',
    value: 'capture',
    params: { name: 'accounts/1/payments/2' },
  });
});

test('variable names are field paths; spaces and other characters are refused', () => {
  assert.deepEqual(variableNames(parseTemplate('/v1/{payment.name=accounts/*}/{id}')), ['payment.name', 'id']);
  assert.throws(() => parseTemplate('/a/{ id }'), /invalid name " id "/);
  assert.throws(() => parseTemplate('/a/{1x}'), /invalid name "1x"/);
  assert.throws(() => parseTemplate('/a/{x}y'), /malformed variable/);
  assert.throws(() => parseTemplate('/a/{x={y}}'), /unbalanced/);
  assert.throws(() => parseTemplate('/a/b*'), /invalid segment "b\*"/);
});

test('templateKey: variable names do not matter, patterns and verbs do', () => {
  const key = (t: string) => templateKey(parseTemplate(t));
  assert.equal(key('/a/{id}'), key('/a/{key}'));
  assert.equal(key('/a/{id}'), key('/a/*'));
  assert.equal(key('/v1/{name=shelves/*}'), key('/v1/shelves/{x}'));
  assert.notEqual(key('/a/{id}'), key('/a/{id}:get'));
  assert.notEqual(key('/a/{id=**}'), key('/a/*'));
  assert.notEqual(key('/a:b/c'), key('/a/b:c'));
  assert.throws(
    () =>
      createRouter([
        { method: 'GET', template: '/a/*', value: 1 },
        { method: 'GET', template: parseTemplate('/a/{id}'), value: 2 },
      ]),
    (e: unknown) => e instanceof TemplateError && /duplicate/.test(e.message),
  );
});

test('a TemplateError is a FerryError (FERRY_CONFIG_INVALID), placed when the caller says where', () => {
  const bare = (() => {
    try {
      parseTemplate('/a/{id');
    } catch (e) {
      return e;
    }
  })();
  assert.ok(bare instanceof TemplateError && bare instanceof FerryError);
  assert.equal(bare.code, 'FERRY_CONFIG_INVALID');
  assert.equal(bare.reason, 'has unbalanced braces');
  assert.equal(bare.file, undefined);
  assert.throws(
    () => parseTemplate('/a//b', { file: 'm.yaml', line: 7, col: 11 }),
    (e: unknown) =>
      e instanceof TemplateError &&
      e.message === 'm.yaml:7:11: path template "/a//b" has an empty segment ("//")' &&
      e.file === 'm.yaml' &&
      e.line === 7 &&
      e.col === 11,
  );
});
