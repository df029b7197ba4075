/**
 * `ferry serve --workers N`: one Ferry process per core with node:cluster. Node runs JavaScript on
 * one thread, so a second core only helps through a second process; Ferry replicas share nothing
 * (sticky cookies are signed, not stored), so workers need no coordination. The primary only
 * forks, restarts a worker that dies unexpectedly, and forwards SIGTERM/SIGINT/SIGHUP; the workers
 * listen on the same ports (the primary hands connections to them in turn).
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';

export interface ClusterOptions {
  /** Number of worker processes (0 or absent: one per core). */
  readonly workers?: number;
  /** Where the primary writes its own lines (default: JSON lines on stdout). */
  readonly log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Restarts of crashed workers allowed per minute before the primary gives up (default 10). */
  readonly maxRestartsPerMinute?: number;
  /** Forward SIGTERM/SIGINT/SIGHUP of this process to the workers (default true; tests say false). */
  readonly installSignalHandlers?: boolean;
}

/** What the primary reports: resolves with the exit code once every worker has exited after a stop. */
export interface ClusterPrimary {
  readonly workers: () => readonly Worker[];
  /** Sends `signal` (default SIGTERM) to every worker and restarts none; `done` resolves once all exited. */
  stop(signal?: NodeJS.Signals): void;
  readonly done: Promise<number>;
}

/** True in a worker forked by {@link startClusterPrimary} (the worker then serves as usual). */
export function isClusterWorker(): boolean {
  return cluster.isWorker;
}

/** Resolves the `--workers` value: a positive integer, or one per core for 0 / "auto". */
export function parseWorkers(value: string | undefined): number {
  if (value === undefined || value === '') return 1;
  if (value === 'auto' || value === '0') return availableParallelism();
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new Error(`--workers must be a whole number from 1 to 256, or "auto"; got "${value}"`);
  return n;
}

/**
 * Forks the workers (each runs the same command line) and supervises them. Call only in the primary
 * (`cluster.isPrimary`). SIGTERM/SIGINT go to every worker (each drains as a single process does);
 * SIGHUP too (each reloads its mapping folder).
 */
export function startClusterPrimary(opts: ClusterOptions = {}): ClusterPrimary {
  if (!cluster.isPrimary) throw new Error('startClusterPrimary runs in the primary process only');
  const count = opts.workers && opts.workers > 0 ? opts.workers : availableParallelism();
  const log =
    opts.log ??
    ((msg: string, fields?: Record<string, unknown>) =>
      console.log(JSON.stringify({ time: new Date().toISOString(), level: 'info', msg, ...fields })));
  const maxRestarts = opts.maxRestartsPerMinute ?? 10;
  const restarts: number[] = [];
  let stopping = false;
  let exitCode = 0;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((resolve) => (resolveDone = resolve));

  const live = new Set<Worker>();
  const fork = (): void => {
    const w = cluster.fork();
    live.add(w);
    w.once('exit', (code, signal) => {
      live.delete(w);
      if (stopping) {
        if (code !== 0 && code !== null) exitCode = 1;
        if (live.size === 0) resolveDone(exitCode);
        return;
      }
      const now = Date.now();
      restarts.push(now);
      while (restarts.length > 0 && (restarts[0] as number) < now - 60_000) restarts.shift();
      if (restarts.length > maxRestarts) {
        log('workers keep dying; stopping', { restartsPerMinute: restarts.length });
        stop('SIGTERM', 1);
        return;
      }
      log('worker exited; starting another', { pid: w.process.pid, code, signal });
      fork();
    });
  };

  function stop(signal: NodeJS.Signals, code = 0): void {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    if (live.size === 0) resolveDone(exitCode);
    for (const w of live) w.process.kill(signal);
  }

  for (let i = 0; i < count; i++) fork();
  log('ferry cluster started', { workers: count, pid: process.pid });
  if (opts.installSignalHandlers !== false) {
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGTERM'));
    process.on('SIGHUP', () => {
      for (const w of live) w.process.kill('SIGHUP');
    });
  }
  return { workers: () => [...live], stop: (signal = 'SIGTERM') => stop(signal), done };
}
