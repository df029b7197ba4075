/**
 * Where a reload's main-thread work goes: the config compile (src/config/loader.ts) and the route
 * binding (src/gateway/engine.ts and the binders) of (a) five 1 MiB mapping files (the issue's 5 MB
 * mapping, split at the per-file cap) and (b) a realistic folder of many service files and one file
 * of shared types. First a full compile and bind of parse results made beforehand (the parse runs in
 * the parse worker in a reload), with the functions that took the most self time (V8's sampling
 * profiler through node:inspector); then a reload of the folder from disk after one file was edited,
 * everything again (as main's code does, though with this code's cheaper per-route compile) and incrementally (`previous` given), alternating. The
 * figures are CPU time of this thread (process.threadCpuUsage: the parse worker's is not in them),
 * median of rounds. Under tsx, `__name` is tsx's keep-names helper (not in the compiled dist/).
 *
 *   node --import tsx bench/reload-profile.ts [--rounds 5] [--top 12]
 */
import { Session } from 'node:inspector/promises';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { compileParsed, loadConfigDir, loadStats, parseMappingFile, type ParsedFile } from '../src/config/loader.js';
import { bindStats } from '../src/gateway/engine.js';
import { buildEngine } from '../src/app/main.js';
import type { FerryConfig } from '../src/config/types.js';
import { mappingOfSize } from '../test/support/hostile-mappings.js';
import { summariseProfile, type CpuProfile } from './cpu-profile.js';
import { mappingSet, serviceFile, serviceFileName } from '../test/support/mapping-set.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, top: { type: 'string', default: '12' } } });
const ROUNDS = Number(values.rounds);
const TOP = Number(values.top);
const ENDPOINT = '127.0.0.1:20880';

/** Each set, and one of its files edited (`round` alternates two edits, so every reload sees a change). */
const sets: Array<{ name: string; files: Record<string, string>; edit: (round: number) => [string, string] }> = [
  {
    name: '5 x 1 MiB files (one service each)',
    files: Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`big-${i}.yaml`, mappingOfSize(1024 * 1024 - 100, ENDPOINT, `big${i}`)])),
    edit: (round) => ['big-2.yaml', mappingOfSize(1024 * 1024 - 100, ENDPOINT, `big2${round % 2 === 0 ? 'x' : 'y'}`)],
  },
  {
    name: '60 service files x 40 routes + shared types',
    files: mappingSet(60, 40, ENDPOINT),
    edit: (round) => [serviceFileName(7), serviceFile(7, 40, ENDPOINT, round % 2 === 0 ? 'x' : 'y')],
  },
];

/** CPU time of this thread, ms. */
function cpuMs(): number {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const noClients = {
  clientFor: () => {
    throw new Error('the profile calls no upstream');
  },
};

console.log(`command: node --import tsx bench/reload-profile.ts --rounds ${ROUNDS} --top ${TOP}`);
console.log(
  `load average: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
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
    for (const [fn, ms] of summariseProfile(profile as CpuProfile, TOP).self) console.log(`    ${ms.toFixed(1).padStart(7)} ms  ${fn}`);
  }
  await reloadOneEdited(set);
}
session.disconnect();

/** Reloads of the set from disk with one file edited before each: everything again, then incrementally, alternating. */
async function reloadOneEdited(set: (typeof sets)[number]): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ferry-reload-profile-'));
  try {
    for (const [file, text] of Object.entries(set.files)) await writeFile(path.join(dir, file), text);
    // The machine is shared: a parse of 1 MiB can take far longer than the 30 s default under load.
    const limits = { parseTimeoutMs: 600_000 };
    let config = await loadConfigDir(dir, { limits });
    let engine = buildEngine(config, noClients).engine;
    const full: number[] = [];
    const incremental: number[] = [];
    let work = '';
    for (let r = 0; r < 2 * ROUNDS; r++) {
      const [file, text] = set.edit(r);
      await writeFile(path.join(dir, file), text);
      const again = r % 2 === 0;
      const t = cpuMs();
      // CPU of this thread only: the awaits of the parse worker cost none of it.
      config = await loadConfigDir(dir, again ? { limits } : { limits, previous: config });
      engine = buildEngine(config, { ...noClients, ...(again ? {} : { previous: engine }) }).engine;
      (again ? full : incremental).push(cpuMs() - t);
      if (!again) {
        const l = loadStats(config)!;
        const b = bindStats(engine)!;
        work = `${l.filesParsed} of ${l.files} files parsed, ${l.routesCompiled} routes compiled (${l.routesReused} reused), ${b.bound} bound (${b.reused} reused)`;
      }
    }
    console.log(`  reload from disk, one file edited (${set.edit(0)[0]}), CPU of the main thread, median of ${ROUNDS}:`);
    console.log(`    everything again (no previous):       ${median(full).toFixed(0)} ms`);
    console.log(`    incremental:                          ${median(incremental).toFixed(0)} ms  (${work})`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
