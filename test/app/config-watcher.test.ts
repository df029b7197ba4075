import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfigDir } from '../../src/config/loader.js';
import type { FerryConfig } from '../../src/config/types.js';
import { watchConfig } from '../../src/app/config-watcher.js';
import { aliasBomb, makeFifo, sparseFile } from '../support/hostile-mappings.js';

function mapping(routes: Array<{ id: string; path: string }>): string {
  return [
    'services:',
    '  accounts:',
    '    protocol: dubbo',
    '    interface: com.example.bank.AccountService',
    '    endpoints: [127.0.0.1:20880]',
    'routes:',
    ...routes.flatMap((r) => [
      `  - id: ${r.id}`,
      `    http: GET ${r.path}`,
      '    call: accounts.getAccount',
      '    args:',
      '      - { from: path.id, type: long }',
    ]),
    '',
  ].join('\n');
}

/**
 * Resolves when `check` holds, testing after each event the watcher reports. The 20 s guard only
 * turns a lost event into a failure instead of a hung run; it asserts nothing about speed.
 */
function eventually(check: () => boolean, events: { wake?: () => void }, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (check()) return resolve();
    const guard = setTimeout(() => reject(new Error(`never happened: ${what}`)), 20_000);
    events.wake = () => {
      if (check()) {
        clearTimeout(guard);
        resolve();
      }
    };
  });
}

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

for (const mode of ['auto', 'poll'] as const) {
  describe(`config watcher (${mode})`, () => {
    test('a good change is applied; a bad change (input: a call naming service "acounts", which does not exist) is refused with file and line and the old config stays', async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'ferry-watch-'));
      dirs.push(dir);
      const file = path.join(dir, 'bank.yaml');
      await writeFile(file, mapping([{ id: 'get-account', path: '/accounts/{id}' }]));
      let current: FerryConfig = await loadConfigDir(dir);
      const errors: unknown[] = [];
      const events: { wake?: () => void } = {};
      const watcher = await watchConfig(dir, {
        load: () => loadConfigDir(dir),
        apply(c) {
          current = c;
        },
        onApplied: () => events.wake?.(),
        onError(err) {
          errors.push(err);
          events.wake?.();
        },
        debounceMs: 50,
        pollIntervalMs: 50,
        mode,
      });
      try {
        assert.equal(watcher.mode, mode === 'auto' ? 'watch' : 'poll');
        await writeFile(
          file,
          mapping([
            { id: 'get-account', path: '/accounts/{id}' },
            { id: 'get-account-v2', path: '/v2/accounts/{id}' },
          ]),
        );
        await eventually(() => current.routes.length === 2, events, 'good change applied');
        assert.deepEqual(
          current.routes.map((r) => r.id),
          ['get-account', 'get-account-v2'],
        );

        const applied = current;
        await writeFile(file, mapping([{ id: 'get-account', path: '/accounts/{id}' }]).replace('call: accounts.', 'call: acounts.'));
        await eventually(() => errors.length >= 1, events, 'bad change reported');
        assert.equal(current, applied, 'the old config keeps serving');
        const err = errors[0];
        assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
        assert.ok(err.problems.length >= 1);
        assert.match(err.problems[0]!.file, /bank\.yaml$/);
        assert.equal(err.problems[0]!.line, 9);
        assert.match(err.message, /acounts/);

        // A new file in a sub-folder created after the watch started is seen too.
        await mkdir(path.join(dir, 'more'));
        await writeFile(file, mapping([{ id: 'get-account', path: '/accounts/{id}' }]));
        await writeFile(
          path.join(dir, 'more', 'extra.yaml'),
          'routes:\n  - id: extra\n    http: GET /extra/{id}\n    call: accounts.getAccount\n    args:\n      - { from: path.id, type: long }\n',
        );
        await eventually(() => current.routes.some((r) => r.id === 'extra'), events, 'file in new sub-folder applied');
        assert.deepEqual(current.routes.map((r) => r.id).sort(), ['extra', 'get-account']);
      } finally {
        await watcher.close();
      }
    });
  });
}

test('reloadNow serialises reloads and a failing apply (input: apply throws) is reported, not thrown', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ferry-watch-'));
  dirs.push(dir);
  await writeFile(path.join(dir, 'a.yaml'), mapping([{ id: 'r1', path: '/a/{id}' }]));
  let concurrent = 0;
  let maxConcurrent = 0;
  let loads = 0;
  const errors: unknown[] = [];
  let failApply = false;
  const watcher = await watchConfig(dir, {
    async load() {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      loads++;
      try {
        return await loadConfigDir(dir);
      } finally {
        concurrent--;
      }
    },
    apply() {
      if (failApply) throw new Error('engine build failed');
    },
    onError: (e) => errors.push(e),
    mode: 'poll',
    pollIntervalMs: 60_000,
  });
  try {
    const results = await Promise.all([watcher.reloadNow(), watcher.reloadNow(), watcher.reloadNow()]);
    assert.deepEqual(results, [true, true, true]);
    assert.equal(maxConcurrent, 1);
    assert.equal(loads, 2, 'calls during a reload coalesce into one more reload');
    failApply = true;
    assert.equal(await watcher.reloadNow(), false);
    assert.equal((errors[0] as Error).message, 'engine build failed');
  } finally {
    await watcher.close();
  }
});

describe('hostile files in a watched folder', () => {
  test(
    'after a 50 MB file, a 5 MB file, a FIFO named x.yaml and an alias bomb, each refused or skipped, a later edit still applies',
    { timeout: 120_000 },
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'ferry-watch-hostile-'));
      dirs.push(dir);
      const file = path.join(dir, 'bank.yaml');
      await writeFile(file, mapping([{ id: 'r0', path: '/r0/{id}' }]));
      let current: FerryConfig = await loadConfigDir(dir);
      const errors: unknown[] = [];
      const skipped: string[] = [];
      const events: { wake?: () => void } = {};
      const watcher = await watchConfig(dir, {
        load: () => loadConfigDir(dir, { onSkipped: (f) => skipped.push(f) }),
        apply(c) {
          current = c;
        },
        onApplied: () => events.wake?.(),
        onError(err) {
          errors.push(err);
          events.wake?.();
        },
        debounceMs: 50,
      });
      try {
        const steps: Array<[string, () => Promise<void>, RegExp]> = [
          ['huge.yaml (50 MB)', () => sparseFile(path.join(dir, 'huge.yaml'), 50_000_000), /huge\.yaml:1:1: is 50000000 bytes/],
          ['big.yaml (5 MB)', () => sparseFile(path.join(dir, 'big.yaml'), 5_000_000), /big\.yaml:1:1: is 5000000 bytes/],
          ['bomb.yaml', () => writeFile(path.join(dir, 'bomb.yaml'), aliasBomb()), /bomb\.yaml:1:1: cannot be parsed/],
        ];
        let edit = 1;
        for (const [what, drop, refusedAs] of steps) {
          const before = errors.length;
          await drop();
          await eventually(() => errors.length > before, events, `${what} refused`);
          assert.match((errors.at(-1) as Error).message, refusedAs, what);
          await rm(path.join(dir, what.split(' ')[0]!));
          // The old config kept serving; a later good edit applies.
          const id = `r${edit++}`;
          await writeFile(file, mapping([{ id, path: `/${id}/{id}` }]));
          await eventually(() => current.routes.some((r) => r.id === id), events, `edit after ${what} applied`);
        }
        makeFifo(path.join(dir, 'x.yaml'));
        await writeFile(file, mapping([{ id: 'after-fifo', path: '/after-fifo/{id}' }]));
        await eventually(() => current.routes.some((r) => r.id === 'after-fifo'), events, 'edit with a FIFO in the folder applied');
        assert.ok(
          skipped.some((f) => /x\.yaml$/.test(f)),
          `the FIFO was named as skipped: ${JSON.stringify(skipped)}`,
        );
      } finally {
        await watcher.close();
      }
    },
  );

  test('a reload stuck past reloadTimeoutMs (input: a load that never settles) is abandoned with a coded error; the next one applies; close() does not wait for it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ferry-watch-stuck-'));
    dirs.push(dir);
    await writeFile(path.join(dir, 'a.yaml'), mapping([{ id: 'r1', path: '/a/{id}' }]));
    const config = await loadConfigDir(dir);
    let stuck = true;
    let applied = 0;
    const errors: unknown[] = [];
    const watcher = await watchConfig(dir, {
      load: () => (stuck ? new Promise<FerryConfig>(() => {}) : Promise.resolve(config)),
      apply: () => void applied++,
      onError: (e) => errors.push(e),
      mode: 'poll',
      pollIntervalMs: 60_000,
      reloadTimeoutMs: 200,
    });
    assert.equal(await watcher.reloadNow(), false);
    assert.equal(applied, 0);
    const err = errors[0];
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.code, 'FERRY_CONFIG_INVALID');
    assert.match(err.message, /the reload did not finish within 200 ms .*previous config keeps serving/);
    stuck = false;
    assert.equal(await watcher.reloadNow(), true, String(errors[1]));
    assert.equal(applied, 1);
    stuck = true;
    const pending = watcher.reloadNow();
    await watcher.close(); // returns although the reload is stuck
    assert.equal(await pending, false);
    assert.equal(applied, 1, 'nothing was applied after close');
  });
});
