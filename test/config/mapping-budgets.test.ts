/**
 * The mapping folder's budgets: files over the per-file or per-folder size cap are refused by
 * fstat before they are read, entries that are not regular files are skipped unopened, alias bombs
 * and parse timeouts are coded config errors naming the file. Each test names the input it tried.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../src/config/errors.js';
import { DEFAULT_MAPPING_LIMITS, loadConfigDir } from '../../src/config/loader.js';
import { aliasBomb, makeFifo, mappingOfSize, sparseFile } from '../support/hostile-mappings.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function folder(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ferry-budget-'));
  dirs.push(dir);
  await writeFile(path.join(dir, 'good.yaml'), mappingOfSize(2000));
  return dir;
}

async function refusal(dir: string, options?: Parameters<typeof loadConfigDir>[1]): Promise<ConfigError> {
  try {
    await loadConfigDir(dir, options);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'FERRY_CONFIG_INVALID');
    return err;
  }
  assert.fail('the folder loaded');
}

test('the default caps are 1 MiB per file and 8 MiB per folder', () => {
  assert.equal(DEFAULT_MAPPING_LIMITS.maxFileBytes, 1024 * 1024);
  assert.equal(DEFAULT_MAPPING_LIMITS.maxTotalBytes, 8 * 1024 * 1024);
});

for (const [label, bytes] of [
  ['50 MB', 50_000_000],
  ['5 MB', 5_000_000],
] as const) {
  test(`a ${label} mapping file (input: a sparse file of ${bytes} bytes) is refused by its size, naming the file`, async () => {
    const dir = await folder();
    await sparseFile(path.join(dir, 'huge.yaml'), bytes);
    const err = await refusal(dir);
    assert.match(err.file, /huge\.yaml$/);
    assert.match(err.message, new RegExp(`is ${bytes} bytes, over the 1048576-byte limit per mapping file`));
  });
}

test('the per-file cap is a setting (input: a 3 000-byte file with maxFileBytes 2 500)', async () => {
  const dir = await folder();
  await writeFile(path.join(dir, 'more.yaml'), mappingOfSize(3000, undefined, 'more'));
  const err = await refusal(dir, { limits: { maxFileBytes: 2500 } });
  assert.match(err.file, /more\.yaml$/);
  assert.match(err.message, /over the 2500-byte limit/);
});

test('the folder cap counts every file (input: two files of ~2 000 bytes, maxTotalBytes 3 000)', async () => {
  const dir = await folder();
  await writeFile(path.join(dir, 'second.yaml'), mappingOfSize(2000, undefined, 'second'));
  const err = await refusal(dir, { limits: { maxTotalBytes: 3000 } });
  assert.match(err.file, /second\.yaml$/);
  assert.match(err.message, /over the 3000-byte limit per folder/);
});

test('a FIFO named x.yaml (input: mkfifo) is skipped unopened and named once; the folder loads', { timeout: 30_000 }, async () => {
  const dir = await folder();
  makeFifo(path.join(dir, 'x.yaml'));
  // A symlink named like a mapping that leads to the FIFO is resolved and skipped as well (opened non-blocking).
  await symlink(path.join(dir, 'x.yaml'), path.join(dir, 'y.yaml'));
  const skipped: Array<[string, string]> = [];
  const config = await loadConfigDir(dir, { onSkipped: (file, reason) => skipped.push([file, reason]) });
  assert.ok(config.routes.length > 0, 'the regular file was loaded');
  assert.equal(skipped.length, 2, JSON.stringify(skipped));
  assert.match(skipped[0]![0], /x\.yaml$/);
  assert.match(skipped[0]![1], /FIFO/);
  assert.match(skipped[1]![0], /y\.yaml$/);
  assert.match(skipped[1]![1], /FIFO/);
});

test('an alias bomb (input: billion laughs, 10^9 expansions) is a config error naming the file', async () => {
  const dir = await folder();
  await writeFile(path.join(dir, 'bomb.yaml'), aliasBomb());
  const err = await refusal(dir);
  assert.match(err.file, /bomb\.yaml$/);
  assert.match(err.message, /cannot be parsed: .*alias/i);
});

test('deeply nested YAML (input: 20 000 nested flow sequences) is a config error, not a crash', async () => {
  const dir = await folder();
  await writeFile(path.join(dir, 'deep.yaml'), `services: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`);
  const err = await refusal(dir);
  assert.match(err.file, /deep\.yaml$/);
});

test('parsing past the parse timeout is refused naming the file (input: a 500 kB mapping, parseTimeoutMs 1)', async () => {
  const dir = await folder();
  await writeFile(path.join(dir, 'slow.yaml'), mappingOfSize(500_000, undefined, 'slow'));
  const err = await refusal(dir, { limits: { parseTimeoutMs: 1 } });
  assert.match(err.message, /parsing did not finish within 1 ms/);
});

test('a mapping just under the 1 MiB cap loads (parsed in the worker thread)', async () => {
  const dir = await folder();
  await writeFile(path.join(dir, 'big.yaml'), mappingOfSize(1024 * 1024 - 100, undefined, 'big'));
  const config = await loadConfigDir(dir);
  assert.ok(config.routes.length > 5000, `${config.routes.length} routes`);
  const last = config.routes.at(-1)!;
  assert.match(last.source.file, /good\.yaml$|big\.yaml$/);
  assert.ok(last.source.line > 1, 'positions survive the worker boundary');
});
