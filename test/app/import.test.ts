/**
 * `ferry import` as a command: writes a new file atomically, never overwrites one (the fresh import
 * goes to FILE.new with the changes listed), and on bad input (a corrupt jar, a class file of an
 * unsupported version, a zip bomb) exits 1 with one clear message and writes nothing at all.
 * Offline: the sample provider's API jar (built by scripts/setup-java.sh) and jars made here.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { ensureJavaTools, javaToolPaths } from '../support/java-build.js';
import { packJar } from '../support/javac.js';

const run = promisify(execFile);
const CLI = path.resolve('src/app/cli.ts');
let dir: string;

before(async () => {
  await ensureJavaTools();
  dir = await mkdtemp(path.join(tmpdir(), 'ferry-import-cli-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function ferry(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', CLI, ...args], { timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout: string; stderr: string };
    return { code: e.code ?? -1, stdout: e.stdout, stderr: e.stderr };
  }
}

const IMPORT = ['import', '--interface', 'com.example.bank.AccountService', '--version', '1.0.0'];

test('import writes a mapping that validates; a second import leaves the edited file alone and lists what changed', async () => {
  const out = path.join(dir, 'bank', 'accounts.yaml');
  await mkdir(path.dirname(out));
  const first = await ferry(...IMPORT, '--jar', javaToolPaths().providerApiJar, '--out', out);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /com\.example\.bank\.AccountService: 13 methods, 4 types → .*accounts\.yaml/);
  const valid = await ferry('validate', path.dirname(out), '--against', javaToolPaths().providerApiJar);
  assert.equal(valid.code, 0, valid.stderr);
  assert.match(valid.stdout, /1 services, 4 types, 13 routes .*13 Dubbo routes match/);

  // A hand edit: a route dropped, a field retyped, a route to a method the provider lacks.
  const original = await readFile(out, 'utf8');
  const edited = original
    .replace(/ {2}- id: AccountService\.ping\n(?: {4}.*\n)+/, '')
    .replace('      memo: String\n      executeAt', '      memo: Long\n      executeAt')
    .concat('  - id: legacy\n    http: POST /legacy\n    call: AccountService.closeAll\n');
  await writeFile(out, edited);
  const second = await ferry(...IMPORT, '--jar', javaToolPaths().providerApiJar, '--out', out);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(await readFile(out, 'utf8'), edited, 'the edited file is untouched');
  assert.equal(await readFile(`${out}.new`, 'utf8'), original, 'the fresh import is in FILE.new');
  assert.match(second.stderr, /exists and was left as it is; the fresh import is .*accounts\.yaml\.new/);
  assert.match(second.stderr, /method added: ping \(no route calls it yet\)/);
  assert.match(second.stderr, /method removed: closeAll \(routes legacy still call it\)/);
  assert.match(second.stderr, /type com\.example\.bank\.Transfer: field memo changed: Long → String/);
  // FILE.new is not .yaml: the folder still loads (only the edited file).
  assert.deepEqual((await readdir(path.dirname(out))).sort(), ['accounts.yaml', 'accounts.yaml.new']);
  // Without --out the mapping goes to stdout.
  const stdout = await ferry(...IMPORT, '--jar', javaToolPaths().providerApiJar);
  assert.equal(stdout.stdout, await readFile(`${out}.new`, 'utf8'));
});

async function refused(jar: string, pattern: RegExp): Promise<void> {
  const out = path.join(dir, `out-${path.basename(jar)}.yaml`);
  const r = await ferry(...IMPORT, '--jar', jar, '--out', out);
  assert.equal(r.code, 1, `${jar}: ${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  const left = (await readdir(dir)).filter((n) => n.includes(`out-${path.basename(jar)}`));
  assert.deepEqual(left, [], 'nothing written, not even a temporary file');
}

test('bad input: a corrupt jar, a class file of an unsupported version, a zip bomb: one clear message, nothing written', async () => {
  const api = javaToolPaths().providerApiJar;
  // Corrupt: the jar cut in half.
  const bytes = await readFile(api);
  const cut = path.join(dir, 'cut.jar');
  await writeFile(cut, bytes.subarray(0, bytes.length >> 1));
  await refused(cut, /cut\.jar is not a usable jar: no end of central directory/);
  // Not a zip at all.
  const text = path.join(dir, 'text.jar');
  await writeFile(text, 'hello');
  await refused(text, /text\.jar is not a usable jar/);

  // A class file claiming Java 26 (version 70).
  const classes = path.join(dir, 'classes-future');
  await mkdir(path.join(classes, 'com/example/bank'), { recursive: true });
  const unpack = path.join(dir, 'unpacked');
  await mkdir(unpack);
  await run('jar', ['--extract', '--file', path.resolve(api)], { cwd: unpack });
  for (const f of await readdir(path.join(unpack, 'com/example/bank')))
    await copyFile(path.join(unpack, 'com/example/bank', f), path.join(classes, 'com/example/bank', f));
  const svc = path.join(classes, 'com/example/bank/AccountService.class');
  const cls = await readFile(svc);
  cls.writeUInt16BE(70, 6);
  await writeFile(svc, cls);
  await refused(await packJar(classes, path.join(dir, 'future.jar')), /AccountService\.class: class file version 70 is not supported/);

  // A zip bomb: the interface's entry inflates to 64 MiB.
  const bomb = path.join(dir, 'classes-bomb');
  await mkdir(path.join(bomb, 'com/example/bank'), { recursive: true });
  await writeFile(path.join(bomb, 'com/example/bank/AccountService.class'), Buffer.alloc(64 * 1024 * 1024));
  await refused(
    await packJar(bomb, path.join(dir, 'bomb.jar')),
    /entry com\/example\/bank\/AccountService\.class declares 67108864 bytes, over the budget/,
  );

  // Usage errors exit 2.
  assert.equal((await ferry('import', '--jar', api)).code, 2);
});
