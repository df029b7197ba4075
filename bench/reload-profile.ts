/**
 * Where a reload's main-thread work goes: the config compile (src/config/loader.ts) and the route
 * binding (src/gateway/engine.ts and the binders) of (a) five 1 MiB mapping files (the issue's 5 MB
 * mapping, split at the per-file cap) and (b) a realistic folder of many service files and one file
 * of shared types. Parsing is done beforehand (it runs in the parse worker in a reload); the figures
 * are CPU time on this thread, median of rounds, and the functions that took the most self time
 * (V8's sampling profiler through node:inspector).
 *
 *   node --import tsx bench/reload-profile.ts [--rounds 5] [--top 12]
 */
import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { compileParsed, parseMappingFile, type ParsedFile } from '../src/config/loader.js';
import { buildEngine } from '../src/app/main.js';
import type { FerryConfig } from '../src/config/types.js';
import { mappingOfSize } from '../test/support/hostile-mappings.js';
import { mappingSet } from '../test/support/mapping-set.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, top: { type: 'string', default: '12' } } });
const ROUNDS = Number(values.rounds);
const TOP = Number(values.top);
const ENDPOINT = '127.0.0.1:20880';

const sets: Array<{ name: string; files: Record<string, string> }> = [
  {
    name: '5 x 1 MiB files (one service each)',
    files: Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`big-${i}.yaml`, mappingOfSize(1024 * 1024 - 100, ENDPOINT, `big${i}`)])),
  },
  { name: '60 service files x 40 routes + shared types', files: mappingSet(60, 40, ENDPOINT) },
];

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const noClients = {
  clientFor: () => {
    throw new Error('the profile calls no upstream');
  },
};

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** Self time by function (name, file:line) from a V8 CPU profile, largest first. */
function topSelf(profile: { nodes: ProfileNode[]; samples?: number[]; timeDeltas?: number[] }, n: number): Array<[string, number]> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const node = byId.get(samples[i]!);
    if (node === undefined) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url === '' ? '' : ` ${url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${lineNumber + 1}`;
    const key = `${functionName || '(anonymous)'}${where}`;
    self.set(key, (self.get(key) ?? 0) + (deltas[i] ?? 0) / 1000);
  }
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, n);
}

console.log(`command: node --import tsx bench/reload-profile.ts --rounds ${ROUNDS} --top ${TOP}`);
console.log(`load average: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 200 });
for (const set of sets) {
  const parsed = Object.entries(set.files).map(([file, text]) => parseMappingFile({ file, text }) as ParsedFile);
  const compile: number[] = [];
  const bind: number[] = [];
  let config: FerryConfig | undefined;
  let routes = 0;
  for (let r = 0; r < ROUNDS; r++) {
    let t = cpuMs();
    config = compileParsed(parsed, '.');
    compile.push(cpuMs() - t);
    t = cpuMs();
    routes = buildEngine(config, noClients).engine.routes.length;
    bind.push(cpuMs() - t);
  }
  await session.post('Profiler.start');
  config = compileParsed(parsed, '.');
  const { profile: compileProfile } = await session.post('Profiler.stop');
  await session.post('Profiler.start');
  buildEngine(config, noClients);
  const { profile: bindProfile } = await session.post('Profiler.stop');
  const bytes = Object.values(set.files).reduce((n, t) => n + t.length, 0);
  console.log(`\n${set.name}: ${Object.keys(set.files).length} files, ${(bytes / 1024 / 1024).toFixed(2)} MiB, ${routes} routes`);
  console.log(`  compile: ${median(compile).toFixed(0)} ms CPU (median of ${ROUNDS}), ${((median(compile) * 1000) / routes).toFixed(1)} µs/route`);
  console.log(`  bind:    ${median(bind).toFixed(0)} ms CPU (median of ${ROUNDS}), ${((median(bind) * 1000) / routes).toFixed(1)} µs/route`);
  for (const [what, profile] of [
    ['compile', compileProfile],
    ['bind', bindProfile],
  ] as const) {
    console.log(`  ${what}: most self time (one profiled run)`);
    for (const [fn, ms] of topSelf(profile as never, TOP)) console.log(`    ${ms.toFixed(1).padStart(7)} ms  ${fn}`);
  }
}
session.disconnect();
