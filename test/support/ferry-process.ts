/**
 * Runs `ferry serve` (the real command line, from the TypeScript sources) as its own process, so
 * that a test can measure what Ferry alone holds (RSS and its peak, from /proc) while it is
 * attacked, and read its JSON log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { writeTestMappings, type TestMappingOptions } from './ferry.js';

export interface FerryProcess {
  readonly pid: number;
  /** The HTTPS port when `--tls-cert` was given, else the HTTP port. */
  readonly httpPort: number;
  /** The plain HTTP port beside HTTPS (`--plain-port`). */
  readonly plainHttpPort: number | undefined;
  readonly adminPort: number;
  /** 0 unless `--ext-proc-port` was given. */
  readonly extProcPort: number;
  readonly base: string;
  /** Log lines (parsed JSON) written so far. */
  readonly logs: Array<Record<string, unknown>>;
  /** Current resident set size, bytes. */
  rss(): number;
  /** Peak resident set size since start (VmHWM), bytes. */
  peakRss(): number;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** Starts `ferry serve --port 0 --admin-port 0 --no-watch ...args` over the test mappings; resolves once it listens. */
export async function startFerryProcess(
  mappings: TestMappingOptions,
  args: readonly string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<FerryProcess> {
  const dir = await writeTestMappings(mappings);
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/app/cli.ts', 'serve', '--mappings', dir, '--port', '0', '--admin-port', '0', '--no-watch', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FERRY_LOG_LEVEL: 'info', ...env } },
  );
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let pending = '';
  const listening = new Promise<Record<string, unknown>>((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`ferry serve did not start: ${stderr}`)), 60_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      pending += d;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        logs.push(entry);
        if (entry['msg'] === 'ferry listening') {
          clearTimeout(guard);
          resolve(entry);
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(guard);
      reject(new Error(`ferry serve exited with ${code}: ${stderr}`));
    });
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const up = await listening;
  const pid = child.pid!;
  const httpsPort = up['https'] as number | undefined;
  const httpPort = httpsPort ?? (up['http'] as number);
  return {
    pid,
    httpPort,
    plainHttpPort: httpsPort !== undefined ? (up['http'] as number | undefined) : undefined,
    adminPort: up['admin'] as number,
    extProcPort: (up['extProc'] as number | undefined) ?? 0,
    base: `${httpsPort !== undefined ? 'https' : 'http'}://127.0.0.1:${httpPort}`,
    logs,
    rss: () => statusField(pid, 'VmRSS'),
    peakRss: () => statusField(pid, 'VmHWM'),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await exited;
      await rm(dir, { recursive: true, force: true });
      return code;
    },
  };
}
