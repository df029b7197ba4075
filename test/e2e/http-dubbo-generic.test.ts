/**
 * Generic invocation ($invoke) for providers whose classes Ferry does not know: the same routes as
 * the direct mapping, called through Dubbo's GenericFilter on the real Java provider.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';

let provider: JavaProvider;
let ferry: TestFerry;

before(async () => {
  provider = await startJavaProvider({ name: 'generic' });
  ferry = await startTestFerry({
    dubboAddress: provider.address,
    extra: {
      'generic.yaml': [
        'services:',
        '  accounts-generic:',
        '    protocol: dubbo',
        '    interface: com.example.bank.AccountService',
        '    version: 1.0.0',
        '    generic: true',
        `    endpoints: [${provider.address}]`,
        'routes:',
        '  - id: generic-get-account',
        '    http: GET /generic/accounts/{id}',
        '    call: accounts-generic.getAccount',
        '    args: [{ from: path.id, type: long }]',
        '    errors: { com.example.bank.AccountNotFoundException: 404 }',
        '  - id: generic-transfer',
        '    http: POST /generic/accounts/{id}/transfers',
        '    call: accounts-generic.transfer',
        '    args:',
        '      - { from: path.id, type: long }',
        '      - { from: body, type: com.example.bank.Transfer }',
        '      - { from: header.x-request-id, type: String, required: false }',
        '  - id: generic-greet-times',
        '    http: GET /generic/greet/{name}/times/{times}',
        '    call: accounts-generic.greet',
        '    args: [{ from: path.name, type: String }, { from: path.times, type: int }]',
        '',
      ].join('\n'),
    },
  });
});

after(async () => {
  await ferry?.close();
  await provider?.stop();
});

test('a POJO result through $invoke matches the direct call field for field', async () => {
  const generic = await http(ferry.base, 'GET', '/generic/accounts/9223372036854775807');
  const direct = await http(ferry.base, 'GET', '/accounts/9223372036854775807');
  assert.equal(generic.status, 200, generic.text);
  assert.deepEqual(generic.json, direct.json);
  assert.match(generic.text, /"id":"9223372036854775807"/);
  assert.match(generic.text, /"balance":"12345678901234567890.12"/);
});

test('a POJO argument with BigDecimal, enum, LocalDateTime and List through $invoke', async () => {
  const body = '{"to":7,"amount":100.10,"currency":"USD","memo":"rent","executeAt":"2024-02-29T09:30:00","tags":["home"]}';
  const r = await http(ferry.base, 'POST', '/generic/accounts/3/transfers', body, { 'x-request-id': 'g-1' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.amount, '100.10');
  assert.equal(r.json.currency, 'USD');
  assert.equal(r.json.executeAt, '2024-02-29T09:30');
  assert.equal(r.json.requestId, 'g-1');
  assert.match(r.text, /"transferId":"9007199254740996"/);
});

test('an overloaded method is picked by the declared parameter types', async () => {
  const r = await http(ferry.base, 'GET', '/generic/greet/Bo/times/3');
  assert.equal(r.json, 'Hello, Bo Hello, Bo Hello, Bo');
});

test('a declared exception through $invoke keeps its class and mapped status', async () => {
  const r = await http(ferry.base, 'GET', '/generic/accounts/5000');
  assert.equal(r.status, 404, r.text);
  assert.equal(r.json.code, 'FERRY_UPSTREAM_EXCEPTION');
  assert.match(r.json.exception.class, /AccountNotFoundException/);
});
