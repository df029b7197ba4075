/**
 * Hot reload of a Kubernetes ConfigMap volume. The kubelet never edits a mounted file: it writes the
 * new files into a fresh hidden folder `..<timestamp>`, points a new symlink `..data_tmp` at it,
 * renames that over `..data` (one atomic step), adds or removes the top-level symlinks
 * (`bank.yaml -> ..data/bank.yaml`) and deletes the old folder. Nothing at the top level changes
 * for an edited key, so a watcher that looks only at the visible files misses the update; a loader
 * that walks into `..<timestamp>` reads every mapping twice. This file replays that exact sequence
 * with real files and symlinks against a running Ferry (its HTTP front end on a real socket) and
 * against the watcher in polling mode.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFerry } from '../../src/app/main.js';
import { createLogger } from '../../src/app/logger.js';
import { loadConfigDir } from '../../src/config/loader.js';
import type { FerryConfig } from '../../src/config/types.js';
import { watchConfig } from '../../src/app/config-watcher.js';

/** A mapping with one route per path; the service is never called (nothing listens on port 1). */
function mapping(paths: string[]): string {
  return [
    'services:',
    '  accounts:',
    '    protocol: dubbo',
    '    interface: com.example.bank.AccountService',
    '    endpoints: [127.0.0.1:1]',
    'routes:',
    ...paths.flatMap((p, i) => [`  - id: r${i}`, `    http: GET ${p}`, '    call: accounts.getAccount']),
    '',
  ].join('\n');
}

let stamp = 0;
/** The kubelet's atomic update of a ConfigMap volume at `dir` to hold exactly `files`. */
async function kubeletWrite(dir: string, files: Record<string, string>): Promise<void> {
  const entries = await readdir(dir);
  const oldData = entries.includes('..data')
    ? path.join(
        dir,
        entries.find((e) => e.startsWith('..2026_'))!,
      )
    : undefined;
  const tsName = `..2026_12_02_00_00_${String(stamp++).padStart(2, '0')}.${100000000 + stamp}`;
  await mkdir(path.join(dir, tsName));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, tsName, name), text);
  await symlink(tsName, path.join(dir, '..data_tmp'));
  await rename(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  for (const name of Object.keys(files)) {
    if (!entries.includes(name)) await symlink(path.join('..data', name), path.join(dir, name));
  }
  for (const name of entries) {
    if (!name.startsWith('..') && !(name in files)) await unlink(path.join(dir, name));
  }
  if (oldData !== undefined) await rm(oldData, { recursive: true });
}

/** Waits until `check` holds; the 20 s guard turns a missed update into a failure, not a hang. */
async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function configMapVolume(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ferry-configmap-'));
  dirs.push(dir);
  await kubeletWrite(dir, files);
  return dir;
}

test('the kubelet layout loads once: ..data and ..<timestamp> are not read as more mapping files', async () => {
  const dir = await configMapVolume({ 'bank.yaml': mapping(['/v1/accounts/{id}']) });
  const config = await loadConfigDir(dir);
  assert.deepEqual(
    config.routes.map((r) => r.id),
    ['r0'],
  );
});

test('ConfigMap update through the ..data swap: Ferry serves the new routes; a bad update is refused and the old routes keep serving', async () => {
  const dir = await configMapVolume({ 'bank.yaml': mapping(['/v1/accounts/{id}']) });
  const errors: string[] = [];
  const logger = createLogger({
    level: 'error',
    sink: {
      write(line: string) {
        errors.push(line);
      },
    },
  });
  const ferry = await startFerry({ mappingsDir: dir, port: 0, watch: true, logger });
  const status = async (p: string): Promise<number> => (await fetch(`http://127.0.0.1:${ferry.httpPort}${p}`)).status;
  try {
    // A route that exists answers 503 (its upstream is down); one that does not, 404.
    assert.equal(await status('/v1/accounts/1'), 503);
    assert.equal(await status('/v2/accounts/1'), 404);

    // An edited key plus a new key: the visible bank.yaml symlink itself does not change.
    await kubeletWrite(dir, {
      'bank.yaml': mapping(['/v2/accounts/{id}']),
      'extra.yaml': 'routes:\n  - id: extra\n    http: GET /extra\n    call: accounts.ping\n',
    });
    await eventually(async () => (await status('/v2/accounts/1')) === 503, 'the new route /v2/accounts/{id} is served');
    assert.equal(await status('/v1/accounts/1'), 404, 'the old route is gone');
    assert.equal(await status('/extra'), 503, 'the new key extra.yaml is served');

    // A bad update (input: a route calling service "acounts", which does not exist) is refused.
    await kubeletWrite(dir, { 'bank.yaml': mapping(['/v3/accounts/{id}']).replace('call: accounts.', 'call: acounts.') });
    await eventually(() => errors.some((l) => l.includes('config change refused')), 'the bad update is refused');
    assert.match(errors.join('\n'), /acounts/, 'the refusal names what is wrong');
    assert.equal(await status('/v2/accounts/1'), 503, 'the previous routes keep serving');
    assert.equal(await status('/extra'), 503);
    assert.equal(await status('/v3/accounts/1'), 404);
  } finally {
    await ferry.close();
  }
});

test('polling mode notices the ..data swap too (the visible files keep their names and symlink targets)', async () => {
  const dir = await configMapVolume({ 'bank.yaml': mapping(['/v1/a']) });
  let current: FerryConfig = await loadConfigDir(dir);
  const watcher = await watchConfig(dir, {
    mode: 'poll',
    pollIntervalMs: 50,
    debounceMs: 20,
    load: () => loadConfigDir(dir),
    apply: (c) => {
      current = c;
    },
    onError: (err) => assert.fail(`refused: ${String(err)}`),
  });
  try {
    // Same size as before (v1 -> v2): only the target's content and mtime change.
    await kubeletWrite(dir, { 'bank.yaml': mapping(['/v2/a']) });
    await eventually(() => current.routes[0]?.path === '/v2/a', 'the new route is loaded');
  } finally {
    await watcher.close();
  }
});
