/**
 * The admin console in a real browser: Debian's Chromium, headless, driven by playwright-core, against
 * Ferry (the composition root, with the console built by scripts/build.mjs) and the Apache Dubbo sample
 * provider. Every request the page makes to a host other than the admin port is aborted and counted,
 * and so is any request that fails: the console must work with no network beyond the admin port.
 * Screenshots of each page (1280 px and 375 px wide) go to .tmp/console-shots/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.resolve('.tmp/console-shots');
const WAIT_MS = 30_000;

let provider: JavaProvider;
let ferry: TestFerry;
let browser: Browser;
let page: Page;
let admin: string;
/** Requests to other hosts (aborted) and requests that failed, as `METHOD url (why)`. */
const offHost: string[] = [];
const failed: string[] = [];

async function shoot(name: string): Promise<void> {
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  await page.screenshot({ path: path.join(SHOTS, `${name}-full.png`), fullPage: true });
  await page.setViewportSize({ width: 375, height: 812 });
  // Let the page settle at the new width (charts resize on the resize event).
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  await page.screenshot({ path: path.join(SHOTS, `${name}-375.png`) });
  await page.setViewportSize({ width: 1280, height: 900 });
}

before(async () => {
  // The console is served from dist/console: build it (quick when current), never rely on a stale one.
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/setup-browser.sh installs Debian's chromium`);
  mkdirSync(SHOTS, { recursive: true });
  provider = await startJavaProvider({ name: 'console' });
  ferry = await startTestFerry({ dubboAddress: provider.address, adminPort: 0, watch: true });
  admin = `http://127.0.0.1:${ferry.adminPort}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const adminHost = new URL(admin).host;
  await context.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    if (url.host === adminHost) return route.continue();
    offHost.push(`${route.request().method()} ${url.href}`);
    return route.abort('blockedbyclient');
  });
  page = await context.newPage();
  page.on('requestfailed', (r) => failed.push(`${r.method()} ${r.url()} (${r.failure()?.errorText ?? '?'})`));
});

after(async () => {
  await browser?.close();
  await ferry?.close();
  await provider?.stop();
});

describe('admin console in Chromium', () => {
  test('the routes page lists the sample routes with their types, where they were written and live figures', async () => {
    for (let i = 0; i < 5; i++)
      assert.equal((await http(ferry.base, 'GET', `/accounts/${i + 1}`)).status, 200, 'the sample provider answers get-account');
    assert.equal((await http(ferry.base, 'GET', '/accounts/abc')).status, 400, 'a bad id is refused with FERRY_BAD_ARGUMENT');
    await page.goto(`${admin}/console/#routes`);
    const row = page.locator('tr[data-route="get-account"]');
    await row.waitFor({ timeout: WAIT_MS });
    const text = await row.innerText();
    assert.match(text, /GET\s+\/accounts\/\{id\}/, `the get-account row shows its method and path: ${text}`);
    assert.match(text, /com\.example\.bank\.AccountService\.getAccount/, `the row names the Java interface and method: ${text}`);
    assert.match(text, /\(long\)\s*→\s*com\.example\.bank\.Account/, `the row shows the declared argument and return types: ${text}`);
    assert.match(text, /bank\.yaml:\d+:\d+/, `the row says where the route was written: ${text}`);
    // The error column fills from the metrics registry (the bad id above).
    await page.waitForFunction(
      () => document.querySelector('tr[data-route="get-account"]')?.textContent?.includes('FERRY_BAD_ARGUMENT 1'),
      undefined,
      {
        timeout: WAIT_MS,
      },
    );
    // A second poll gives a window: traffic during it shows as a rate.
    for (let i = 0; i < 20; i++) await http(ferry.base, 'GET', `/accounts/${(i % 5) + 1}`);
    await page.waitForFunction(
      () => {
        const cell = document.querySelector('tr[data-route="get-account"] td[data-label="Rate /s"]');
        return cell !== null && /^\d+\.\d\d/.test(cell.textContent ?? '') && !(cell.textContent ?? '').startsWith('0.00');
      },
      undefined,
      { timeout: WAIT_MS },
    );
    assert.ok((await page.locator('tr[data-route]').count()) > 40, 'every shipped route is listed (bank, lab, payments)');
    await shoot('routes');
  });

  test('the upstreams page shows the provider going down when it stops and up when it is back', async () => {
    await page.goto(`${admin}/console/#upstreams`);
    const state = page.locator(`[data-service="accounts"] tr[data-endpoint="${provider.address}"] td.state`);
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent === 'up',
      `[data-service="accounts"] tr[data-endpoint="${provider.address}"] td.state`,
      {
        timeout: WAIT_MS,
      },
    );
    await shoot('upstreams-up');
    await provider.stop();
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent === 'down',
      `[data-service="accounts"] tr[data-endpoint="${provider.address}"] td.state`,
      {
        timeout: WAIT_MS,
      },
    );
    assert.equal(await state.innerText(), 'down', 'the stopped provider is shown down');
    await shoot('upstreams-down');
    await provider.restart();
    // The pool reconnects with back-off; the page shows it when it has.
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent === 'up',
      `[data-service="accounts"] tr[data-endpoint="${provider.address}"] td.state`,
      {
        timeout: 60_000,
      },
    );
    assert.equal(await state.innerText(), 'up', 'the restarted provider is shown up again');
  });

  test('the config page shows a refused reload with its file, line and column', async () => {
    await page.goto(`${admin}/console/#config`);
    await page.locator('#files tbody tr').first().waitFor({ timeout: WAIT_MS });
    assert.match(await page.locator('#files').innerText(), /bank\.yaml/, 'the loaded mapping files are listed');
    // Input: a route that calls a service no file defines, in a new file (line 4 col 5 is `- id:`).
    await ferry.writeMapping(
      'broken.yaml',
      'routes:\n  # a route to a service nobody defines\n\n  - id: broken-route\n    http: GET /broken\n    call: nowhere.nothing\n',
    );
    await page.locator('#refused-reload').waitFor({ timeout: WAIT_MS });
    const refused = await page.locator('#refused-reload').innerText();
    assert.match(refused, /was refused/, `the refused reload is called so: ${refused}`);
    assert.match(refused, /broken\.yaml:\d+:\d+/, `the problem is shown at its file:line:col: ${refused}`);
    assert.match(refused, /nowhere/, `the problem names the missing service: ${refused}`);
    assert.equal((await http(ferry.base, 'GET', '/accounts/1')).status, 200, 'the previous config keeps serving');
    await shoot('config-refused');
  });

  test("try it: the OpenAPI UI calls the real HTTP port and shows the provider's answer; the validate form shows problems at their line", async () => {
    await page.goto(`${admin}/console/#try`);
    const op = page.locator('#operations-default-get-account, [id$="-get-account"]').first();
    await op.waitFor({ timeout: WAIT_MS });
    await op.locator('.opblock-summary').click();
    // The console opens operations with "Try it out" on (tryItOutEnabled).
    await op.locator('input[placeholder="id"]').fill('7');
    await op.locator('button.execute').click();
    const body = op.locator('.live-responses-table .response-col_description pre').first();
    await body.waitFor({ timeout: WAIT_MS });
    const answer = await body.innerText();
    assert.match(answer, /"owner":\s*"owner-7"/, `the provider's answer for account 7 is shown: ${answer}`);
    await op.locator('.live-responses-table').scrollIntoViewIfNeeded();
    await shoot('try-it');

    // Input: a Dubbo service without `interface` (the schema's required key).
    await page.locator('#validate-text').fill('services:\n  x:\n    protocol: dubbo\n    endpoints: [127.0.0.1:1]\n');
    await page.locator('#validate-form button').click();
    await page.locator('#validate-problems').waitFor({ timeout: WAIT_MS });
    const problems = await page.locator('#validate-problems').innerText();
    assert.match(problems, /pasted\.yaml:\d+:\d+/, `the validate form shows each problem at its line: ${problems}`);
    assert.match(problems, /interface/, `the problem names the missing key: ${problems}`);
    await page.locator('#validate-problems').scrollIntoViewIfNeeded();
    await shoot('try-validate');
  });

  test('nothing was requested from another host and no request failed', () => {
    assert.deepEqual(offHost, [], 'requests to hosts other than the admin port');
    assert.deepEqual(failed, [], 'requests that failed');
  });
});
