/**
 * The allowlisted fields of a business exception in the problem body (`errors: {X: {status, fields}}`):
 * only listed fields, in allowlist order, values under the JSON policy, and a size budget.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exposedFields, MAX_EXPOSED_EXCEPTION_CHARS } from '../../src/mapping/dubbo.js';
import { JavaObject } from '../../src/codec/hessian/reader.js';
import { FerryError, toProblem } from '../../src/errors/index.js';
import { loadConfigFiles } from '../../src/config/loader.js';
import { ConfigError, formatProblem } from '../../src/config/errors.js';

const opts = { longs: 'auto' as const };

const exception = (fields: Record<string, unknown>): JavaObject => new JavaObject('com.x.LabException', fields);

test('only allowlisted fields, in allowlist order, longs beyond 2^53 as strings; an absent field is left out', () => {
  const ex = exception({ detailMessage: 'm', internalNote: 'secret', details: ['a'], code: 'E1', big: 2n ** 60n });
  assert.deepEqual(exposedFields(ex, ['code', 'big', 'details', 'missing'], opts), {
    exceptionFields: { code: 'E1', big: '1152921504606846976', details: ['a'] },
  });
  assert.deepEqual(Object.keys(exposedFields(ex, ['details', 'code'], opts).exceptionFields), ['details', 'code']);
});

test(`fields past ${MAX_EXPOSED_EXCEPTION_CHARS} JSON characters are named as omitted (input: a 9000-character field)`, () => {
  const ex = exception({ code: 'E1', dump: 'x'.repeat(9000), after: 1 });
  assert.deepEqual(exposedFields(ex, ['code', 'dump', 'after'], opts), {
    exceptionFields: { code: 'E1', after: 1 },
    exceptionFieldsOmitted: ['dump'],
  });
});

test('a field named __proto__ is an own key of the result, not a prototype change', () => {
  const fields = Object.create(null) as Record<string, unknown>;
  fields['__proto__'] = 'p';
  const got = exposedFields(exception(fields), ['__proto__'], opts).exceptionFields;
  assert.equal(Object.getPrototypeOf(got), Object.prototype);
  assert.equal(JSON.stringify(got), '{"__proto__":"p"}');
});

test('the problem body carries the fields under exception.fields for a mapped 4xx, and never for a 5xx in safe mode', () => {
  const details = { exceptionClass: 'com.x.LabException', exceptionFields: { code: 'E1' } };
  const mapped = new FerryError('FERRY_UPSTREAM_EXCEPTION', 'lab failure', { ...details, status: 422 });
  assert.deepEqual(toProblem(mapped).exception, { class: 'com.x.LabException', message: 'lab failure', fields: { code: 'E1' } });
  const unmapped = new FerryError('FERRY_UPSTREAM_EXCEPTION', 'lab failure', details);
  assert.equal(toProblem(unmapped).exception, undefined);
});

test('errors: takes a status or { status, fields }; an unknown key or a bad field name is a load error at file:line:col', () => {
  const file = (errors: string) => `services:
  s:
    protocol: dubbo
    interface: com.x.S
    endpoints: [127.0.0.1:1]
routes:
  - id: r
    http: POST /r
    call: s.m
    errors:
${errors}`;
  const ok = loadConfigFiles([{ file: 'a.yaml', text: file('      com.x.A: 404\n      com.x.B: { status: 422, fields: [code, details] }\n') }], '.');
  const r = ok.routes[0]!;
  assert.ok(r.protocol === 'dubbo', 'a dubbo route');
  assert.deepEqual(r.errors, { 'com.x.A': 404, 'com.x.B': 422 });
  assert.deepEqual(r.errorFields, { 'com.x.B': ['code', 'details'] });
  for (const bad of [
    '      com.x.B: { status: 422, expose: [code] }\n',
    '      com.x.B: { status: 422, fields: ["a b"] }\n',
    '      com.x.B: { fields: [code] }\n',
  ]) {
    assert.throws(
      () => loadConfigFiles([{ file: 'a.yaml', text: file(bad) }], '.'),
      (e: unknown) => e instanceof ConfigError && e.problems.every((p) => /^a\.yaml:11:\d+: /.test(formatProblem(p))),
      bad,
    );
  }
});
