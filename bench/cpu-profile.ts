/**
 * Summaries of a V8 CPU profile (node --cpu-prof, or the inspector's Profiler.stop) for the benches:
 * where the samples' time went by function, as self time and as inclusive time (each function counted
 * once per sample however often it is on the stack), optionally only the samples inside a time window.
 */

export interface CpuProfile {
  readonly nodes: ReadonlyArray<{
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
    readonly children?: readonly number[];
  }>;
  /** Microseconds, on the same monotonic clock as process.hrtime (both CLOCK_MONOTONIC on Linux). */
  readonly startTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface ProfileSummary {
  /** Milliseconds of samples that were work (not idle, not the profiler, not GC). */
  readonly busyMs: number;
  readonly gcMs: number;
  /** [function, ms], largest first. */
  readonly self: ReadonlyArray<readonly [string, number]>;
  readonly inclusive: ReadonlyArray<readonly [string, number]>;
}

/** Not work: the idle loop and the profiler's own frames. */
function notWork(functionName: string, url: string): boolean {
  return url.startsWith('node:inspector') || functionName === '(idle)' || functionName === '(program)';
}

function label(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const { functionName, url, lineNumber } = frame;
  // Under tsx every module is one line: the file is what there is to say.
  const where = url === '' ? '' : ` ${url.replace(/^.*\/(src|dist|node_modules)\//, '$1/')}${lineNumber > 0 ? `:${lineNumber + 1}` : ''}`;
  return `${functionName || '(anonymous)'}${where}`;
}

/**
 * Self and inclusive time by function, largest first. `window` (µs on the profile's clock) keeps only
 * the samples taken inside it, e.g. the load run without start-up and warm-up.
 */
export function summariseProfile(profile: CpuProfile, top: number, window?: { readonly fromUs: number; readonly toUs: number }): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let at = profile.startTime;
  let busy = 0;
  let gc = 0;
  for (let i = 0; i < samples.length; i++) {
    const dt = deltas[i] ?? 0;
    at += dt;
    if (window !== undefined && (at < window.fromUs || at > window.toUs)) continue;
    const node = byId.get(samples[i]!);
    if (node === undefined || notWork(node.callFrame.functionName, node.callFrame.url)) continue;
    const ms = dt / 1000;
    busy += ms;
    if (node.callFrame.functionName === '(garbage collector)') gc += ms;
    const key = label(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + ms);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const k = label(byId.get(id)!.callFrame);
      if (k === '(root)' || seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + ms);
    }
  }
  const largest = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  return { busyMs: busy, gcMs: gc, self: largest(self), inclusive: largest(inclusive) };
}

/** The summary as lines: ms and share of busy time per function. */
export function printProfileSummary(s: ProfileSummary, indent = '  '): void {
  const share = (ms: number) => `${((100 * ms) / Math.max(s.busyMs, 1e-9)).toFixed(1).padStart(5)}%`;
  console.log(`${indent}busy ${s.busyMs.toFixed(0)} ms, of which garbage collection ${share(s.gcMs)}`);
  console.log(`${indent}most self time:`);
  for (const [fn, ms] of s.self) console.log(`${indent}  ${ms.toFixed(1).padStart(8)} ms ${share(ms)}  ${fn}`);
  console.log(`${indent}most inclusive time:`);
  for (const [fn, ms] of s.inclusive) console.log(`${indent}  ${ms.toFixed(1).padStart(8)} ms ${share(ms)}  ${fn}`);
}
