/**
 * Load drivers shared by the benches: wrk for HTTP (C, microsecond latencies) and an in-process
 * closed loop for direct RPC baselines.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';

export interface LoadResult {
  rps: number;
  /** Calls or requests completed in the run. */
  requests: number;
  /** Median and 99th percentile latency, ms. */
  p50: number;
  p99: number;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

/** Closed loop: `inFlight` workers, each sending its next call when the last one answers. */
export async function closedLoop(call: () => Promise<unknown>, inFlight: number, durationMs: number): Promise<LoadResult> {
  const latencies: number[] = [];
  const end = performance.now() + durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await call();
      latencies.push(performance.now() - t0);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return { rps: latencies.length / elapsed, requests: latencies.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

/** Installs Debian's wrk when it is missing. */
export function ensureWrk(): void {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (err) {
    // wrk prints its version and exits 1; only a missing binary is a problem.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      execFileSync('bash', ['-c', 'apt-get update -qq && apt-get install -y -qq wrk'], { stdio: 'inherit' });
  }
}

/** Parses wrk's "50%  123.45us" style figures into milliseconds. */
export function wrkMs(text: string, label: string): number {
  const m = new RegExp(`\\s${label}\\s+([0-9.]+)(us|ms|s)\\b`).exec(text);
  if (!m) throw new Error(`wrk printed no ${label} figure:\n${text}`);
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : n * 1000;
}

/** Runs wrk with `connections` keep-alive connections (one request in flight each) against `url`. */
export async function wrk(url: string, connections: number, durationMs: number): Promise<LoadResult> {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('wrk', ['-t1', `-c${connections}`, `-d${Math.round(durationMs / 1000)}s`, '--latency', url]);
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}: ${text}`))));
  });
  if (/Non-2xx/.test(out)) throw new Error(`the server answered non-2xx responses:\n${out}`);
  const rps = /Requests\/sec:\s+([0-9.]+)/.exec(out);
  const total = /(\d+) requests in/.exec(out);
  return { rps: Number(rps![1]), requests: Number(total![1]), p50: wrkMs(out, '50%'), p99: wrkMs(out, '99%') };
}

/**
 * Warms both paths up, then measures the direct call and Ferry (over HTTP at `url`) at 1 and at 64
 * requests in flight: the four rows printComparison expects.
 */
export async function measureDirectAndFerry(direct: () => Promise<unknown>, url: string, durationMs: number): Promise<Array<[string, LoadResult]>> {
  await closedLoop(direct, 8, 2000);
  await wrk(url, 8, 2000);
  return [
    ['direct, 1 in flight', await closedLoop(direct, 1, durationMs)],
    ['ferry,  1 in flight', await wrk(url, 1, durationMs)],
    ['direct, 64 in flight', await closedLoop(direct, 64, durationMs)],
    ['ferry,  64 in flight', await wrk(url, 64, durationMs)],
  ];
}

/** Prints the four-row comparison table every "through Ferry vs direct" bench prints. */
export function printComparison(
  title: string,
  command: string,
  rows: Array<[string, LoadResult]>,
  targets: { addedMedianMs?: number; minRatio?: number } = {},
): void {
  const fmt = (n: number, d = 2): string => n.toFixed(d).padStart(10);
  console.log(`\n${title}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}`);
  console.log(`command: ${command}\n`);
  console.log('                          req/s    p50 ms    p99 ms');
  for (const [name, r] of rows) console.log(`${name.padEnd(22)}${fmt(r.rps, 0)}${fmt(r.p50)}${fmt(r.p99)}`);
  const [d1, f1, d64, f64] = rows.map((r) => r[1]);
  const target = (t: number | undefined, s: string): string => (t === undefined ? '' : ` (target ${s} ${t})`);
  console.log(`\nadded median latency at low load: ${(f1!.p50 - d1!.p50).toFixed(3)} ms${target(targets.addedMedianMs, '≤')}`);
  console.log(`throughput at saturation, ferry / direct: ${(f64!.rps / d64!.rps).toFixed(2)}${target(targets.minRatio, '≥')}`);
}
