/**
 * The real `ferry serve` process with hostile entries in its watched mapping folder: a FIFO named
 * like a mapping (present at start, and one added while it runs), a 50 MB file. Each is skipped or
 * refused with a log line naming it, later edits still apply, and SIGTERM makes the process exit.
 * (Before the fix, reading the FIFO blocked the reload for good and the process never exited.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../support/ports.js';
import { makeFifo, mappingOfSize, sparseFile } from '../support/hostile-mappings.js';

type Log = Record<string, unknown>;

test(
  'FIFOs and a 50 MB file in the watched folder: skipped or refused with the file named, edits apply, SIGTERM exits 0',
  { timeout: 120_000 },
  async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ferry-fifo-'));
    // No provider listens on this port: the routes exist, calls would get 503. Nothing here calls them.
    const endpoint = `127.0.0.1:${await freePort()}`;
    await writeFile(path.join(dir, 'good.yaml'), mappingOfSize(1500, endpoint, 'first'));
    makeFifo(path.join(dir, 'pre.yaml'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/app/cli.ts', 'serve', '--mappings', dir, '--port', '0', '--admin-port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FERRY_LOG_LEVEL: 'info' },
    });
    const logs: Log[] = [];
    const waiters: Array<() => void> = [];
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      pending += d;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          logs.push(JSON.parse(line) as Log);
        } catch {
          continue;
        }
        for (const w of waiters.splice(0)) w();
      }
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    /** The first log line `match` accepts; the guard turns a missing line into a failure, not a hang. */
    const logLine = (match: (l: Log) => boolean, what: string): Promise<Log> =>
      new Promise((resolve, reject) => {
        const guard = setTimeout(() => reject(new Error(`no log line: ${what}; stderr: ${stderr}`)), 60_000);
        const check = (): void => {
          const hit = logs.find(match);
          if (hit !== undefined) {
            clearTimeout(guard);
            resolve(hit);
          } else waiters.push(check);
        };
        check();
      });
    try {
      await logLine((l) => l['msg'] === 'ferry listening', 'ferry listening');
      const pre = await logLine((l) => String(l['msg']).startsWith('mapping skipped:') && /pre\.yaml$/.test(String(l['file'])), 'pre.yaml skipped');
      assert.match(String(pre['msg']), /FIFO/);

      // A FIFO added while it runs, with an edit: the edit applies, the FIFO is named.
      makeFifo(path.join(dir, 'post.yaml'));
      await writeFile(path.join(dir, 'second.yaml'), mappingOfSize(1500, endpoint, 'second'));
      await logLine((l) => l['msg'] === 'config reloaded', 'reload with a new FIFO in the folder');
      await logLine((l) => String(l['msg']).startsWith('mapping skipped:') && /post\.yaml$/.test(String(l['file'])), 'post.yaml skipped');

      // A 50 MB file: refused with its name; the process keeps serving and later edits apply.
      await sparseFile(path.join(dir, 'huge.yaml'), 50_000_000);
      const refused = await logLine((l) => String(l['msg']).startsWith('config change refused'), 'huge.yaml refused');
      assert.match(JSON.stringify(refused), /huge\.yaml.*is 50000000 bytes, over the 1048576-byte limit/);
      await rm(path.join(dir, 'huge.yaml'));
      const reloadsBefore = logs.filter((l) => l['msg'] === 'config reloaded').length;
      await writeFile(path.join(dir, 'third.yaml'), mappingOfSize(1500, endpoint, 'third'));
      await logLine(
        (l) => l['msg'] === 'config reloaded' && logs.filter((x) => x['msg'] === 'config reloaded').length > reloadsBefore,
        'edit after the 50 MB file',
      );

      child.kill('SIGTERM');
      const guard = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 30_000).unref());
      const code = await Promise.race([exited, guard]);
      assert.equal(code, 0, `ferry serve exits 0 on SIGTERM with FIFOs in its folder (got ${String(code)}); stderr: ${stderr}`);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      await rm(dir, { recursive: true, force: true });
    }
  },
);
