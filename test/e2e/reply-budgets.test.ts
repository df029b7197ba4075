/**
 * The Dubbo reply budgets are settings: the same reply (10 attachments, from the hostile fake
 * provider) is answered under the defaults and refused by `ferry serve --max-reply-attachments 5`
 * (the real command line), with the coded 502, while the service's other calls answer.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFerryProcess, type FerryProcess } from '../support/ferry-process.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';
import { startHostileDubbo, type HostileDubbo } from '../support/hostile-dubbo.js';

let provider: HostileDubbo;
let strict: FerryProcess;
let defaults: TestFerry;

const mapping = (address: string): string =>
  `services:\n  svc:\n    protocol: dubbo\n    interface: com.example.Budget\n    endpoints: [${address}]\n    timeout: 5s\nroutes:\n` +
  '  - { id: attachments, http: GET /budget/attachments, call: svc.attachments }\n' +
  '  - { id: ok, http: GET /budget/ok, call: svc.ok }\n';

before(async () => {
  provider = await startHostileDubbo({ attachments: 10 });
  const extra = { 'budget.yaml': mapping(provider.address) };
  strict = await startFerryProcess({ withoutSamples: true, extra }, ['--max-reply-attachments', '5']);
  defaults = await startTestFerry({ withoutSamples: true, extra });
});
after(async () => {
  await strict?.stop();
  await defaults?.close();
  await provider?.close();
});

test('10 attachments (input) pass the default budget of 1 024', async () => {
  const r = await http(defaults.base, 'GET', '/budget/attachments');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json, 'ok');
});

test('10 attachments (input) over --max-reply-attachments 5 are a coded 502; the next call of the service answers', async () => {
  const r = await http(strict.base, 'GET', '/budget/attachments');
  assert.equal(r.status, 502, r.text);
  assert.equal(r.json?.code, 'FERRY_UPSTREAM_PROTOCOL_ERROR', r.text);
  const ok = await http(strict.base, 'GET', '/budget/ok');
  assert.equal(ok.status, 200, ok.text);
});
