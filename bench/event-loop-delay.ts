/**
 * Event-loop delay (p50, p99, max) of Ferry and the rate a normal client is served (sequential GETs
 * on a normal route, per second) while (a) nothing else happens, (b) a mapping file at the 1 MiB
 * cap is reloaded over and over, (c) a hostile Dubbo provider answers with 840 000 attachments,
 * (d) hostile replies of every decode kind in turn (attachments, 100 000-deep lists, maps and
 * objects, a reference bomb), (e) 200 slowloris clients drip request headers a byte at a time,
 * (f) (b), (d) and (e) all at once, and, for reference, (g) the same 1 MiB mapping parsed on the
 * event loop (what reloads cost before the parse worker). One run, the same process; the ratios to
 * (a) are what to read, the machine being shared.
 *
 * With `--baseline DIR` (a src/ tree of other code, e.g. main's, under DIR), (h) a folder of many
 * service files (60 x 40 routes and shared types) reloaded over and over with one file edited each
 * time, on this code (incremental reload) and on the baseline's, alternating, in this process
 * (`--only-edit`: (a) and (h) only).
 *
 *   node --import tsx bench/event-loop-delay.ts [--seconds 4] [--baseline DIR [--only-edit]]
 *   (DIR for main: mkdir -p .tmp/main-src && git archive $(git merge-base HEAD main) src | tar -x -C .tmp/main-src)
 *
 * The fake providers (test/support/hostile-dubbo.ts) and the slow clients run in this process too, so
 * their own work (writing 5.8 MB per hostile reply) is in the figures. `max` is the larger of the
 * histogram's and a 10 ms interval timer's worst lateness. A reload parses in the parse worker and
 * compiles and binds the routes in 8 ms slices (src/config/slices.ts) between which traffic is served.
 */
import { connect, type Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigFiles } from '../src/config/loader.js';
import { startTestFerry, writeTestMappings } from '../test/support/ferry.js';
import { mappingSet, serviceFile, serviceFileName } from '../test/support/mapping-set.js';
import { startHostileDubbo } from '../test/support/hostile-dubbo.js';

/** The hostile replies phase (d) cycles through: each refused by a decode budget. */
const HOSTILE_KINDS = ['attachments', 'deepList', 'deepMap', 'deepObject', 'refBomb'] as const;
const SLOW_CLIENTS = 200;
import { mappingOfSize } from '../test/support/hostile-mappings.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '4' }, baseline: { type: 'string' }, 'only-edit': { type: 'boolean', default: false } },
});
const SECONDS = Number(values.seconds);

const calm = await startHostileDubbo({ attachments: 10 });
const hostile = await startHostileDubbo();
const svc = (name: string, address: string, methods: string[]): string =>
  `services:\n  ${name}:\n    protocol: dubbo\n    interface: com.example.${name}.Service\n    endpoints: [${address}]\n    timeout: 5s\nroutes:\n` +
  methods.map((m) => `  - { id: ${name}-${m}, http: GET /${name}/${m}, call: ${name}.${m} }\n`).join('');
const ferry = await startTestFerry({
  withoutSamples: true,
  extra: {
    'calm.yaml': svc('calm', calm.address, ['ok']),
    'hostile.yaml': svc('hostile', hostile.address, [...HOSTILE_KINDS]),
  },
});
const big = mappingOfSize(1024 * 1024 - 100, calm.address, 'big');
// Reloads alternate two texts: an unchanged file is reused whole (incremental reload), not parsed.
const bigEdited = mappingOfSize(1024 * 1024 - 100, calm.address, 'bih');

/** Runs `load` beside a loop of sequential GETs on the normal route for SECONDS; returns the loop's delay and the GETs done. */
async function phase(
  name: string,
  load: (stop: () => boolean) => Promise<void>,
  base = ferry.base,
): Promise<{ name: string; p50: number; p99: number; max: number; gets: number; seconds: number }> {
  const started = performance.now();
  const h = monitorEventLoopDelay({ resolution: 10 });
  const until = Date.now() + SECONDS * 1000;
  const stop = (): boolean => Date.now() >= until;
  let gets = 0;
  // A plain timer beside the histogram: its lateness also catches one stall longer than the phase's turns.
  let late = 0;
  let last = performance.now();
  const sampler = setInterval(() => {
    const now = performance.now();
    late = Math.max(late, now - last - 10);
    last = now;
  }, 10);
  h.enable();
  const traffic = (async () => {
    while (!stop()) {
      const r = await fetch(`${base}/calm/ok`);
      await r.text();
      if (r.status === 200) gets++;
    }
  })();
  await Promise.all([traffic, load(stop)]);
  // One more timer turn, so that a stall still going on at the end is recorded too.
  await new Promise((r) => setTimeout(r, 30));
  h.disable();
  clearInterval(sampler);
  return {
    name,
    p50: h.percentile(50) / 1e6,
    p99: h.percentile(99) / 1e6,
    max: Math.max(h.max / 1e6, late),
    gets,
    seconds: (performance.now() - started) / 1000,
  };
}

/** The 1 MiB mapping written, then reloaded until the phase ends, its text changed before each reload. */
async function reloads(stop: () => boolean): Promise<void> {
  for (let i = 0; !stop(); i++) {
    await writeFile(path.join(ferry.dir, 'big.yaml'), i % 2 === 0 ? big : bigEdited);
    await ferry.reload();
  }
}

/** Hostile replies of each kind in turn, one call at a time. */
async function hostileCalls(stop: () => boolean): Promise<void> {
  for (let i = 0; !stop(); i++) await (await fetch(`${ferry.base}/hostile/${HOSTILE_KINDS[i % HOSTILE_KINDS.length]}`)).text();
}

/**
 * Slowloris: SLOW_CLIENTS connections, each sending its request head a byte every 100 ms and never
 * finishing it (Ferry's request timeout closes them after 60 s by default; a closed one is reopened).
 */
async function slowClients(stop: () => boolean): Promise<void> {
  const head = Buffer.from(`GET /calm/ok HTTP/1.1\r\nHost: bench\r\n${'X-Drip: slow\r\n'.repeat(200)}`);
  const sockets = new Set<Socket>();
  const open = (): void => {
    const s = connect(Number(new URL(ferry.base).port), '127.0.0.1');
    let at = 0;
    const t = setInterval(() => {
      if (s.destroyed || stop()) {
        clearInterval(t);
        return;
      }
      s.write(head.subarray(at % head.length, (at % head.length) + 1));
      at++;
    }, 100);
    s.on('error', () => {});
    s.on('close', () => {
      clearInterval(t);
      sockets.delete(s);
      if (!stop()) open();
    });
    sockets.add(s);
  };
  for (let i = 0; i < SLOW_CLIENTS; i++) open();
  while (!stop()) await new Promise((r) => setTimeout(r, 50));
  for (const s of sockets) s.destroy();
}

const results = [];
results.push(await phase('idle (normal route only)', async () => {}));
if (!values['only-edit']) await phasesBtoG();
async function phasesBtoG(): Promise<void> {
  results.push(await phase('1 MiB mapping reloaded (parse worker, slices)', reloads));
  results.push(
    await phase('hostile provider: 840 000 attachments', async (stop) => {
      while (!stop()) await (await fetch(`${ferry.base}/hostile/attachments`)).text();
    }),
  );
  results.push(await phase('hostile provider: every decode kind in turn', hostileCalls));
  results.push(await phase(`${SLOW_CLIENTS} slowloris clients`, slowClients));
  results.push(
    await phase('all at once: reload + hostile kinds + slowloris', async (stop) => {
      await Promise.all([reloads(stop), hostileCalls(stop), slowClients(stop)]);
    }),
  );
  results.push(
    await phase('reference: 1 MiB mapping parsed on the event loop', async (stop) => {
      while (!stop()) {
        loadConfigFiles([{ file: 'big.yaml', text: big }], ferry.dir);
        await new Promise((r) => setImmediate(r));
      }
    }),
  );
}
if (values.baseline !== undefined) results.push(...(await editOneOfMany(values.baseline)));
await ferry.close();
await calm.close();
await hostile.close();

/**
 * (h): two Ferries in this process on copies of one folder (calm.yaml, 60 service files of 40 routes,
 * shared types), this code's and the baseline's. Each in turn: idle, then reloaded over and over
 * with one service file edited before each reload, while its calm route is fetched; two rounds.
 */
async function editOneOfMany(baselineDir: string): Promise<Awaited<ReturnType<typeof phase>>[]> {
  const baselineMain = (await import(path.resolve(baselineDir, 'src/app/main.ts'))) as typeof import('../src/app/main.js');
  const files = { 'calm.yaml': svc('calm', calm.address, ['ok']), ...mappingSet(60, 40, calm.address) };
  const limits = { parseTimeoutMs: 600_000 }; // a loaded machine parses slowly; the phase is not about the parse budget
  const mine = await startTestFerry({ withoutSamples: true, extra: files, mappingLimits: limits });
  const baselineFolder = await writeTestMappings({ withoutSamples: true, extra: files });
  const theirs = await baselineMain.startFerry({ port: 0, mappingsDir: baselineFolder, mappingLimits: limits });
  const variants = [
    { name: 'baseline', base: `http://127.0.0.1:${theirs.httpPort}`, dir: baselineFolder, reload: () => theirs.reload() },
    { name: 'this code', base: mine.base, dir: mine.dir, reload: () => mine.reload() },
  ];
  const out: Awaited<ReturnType<typeof phase>>[] = [];
  let edits = 0;
  const reloadsDone: string[] = [];
  for (let round = 1; round <= 2; round++) {
    for (const v of variants) {
      out.push(await phase(`${v.name}: idle (round ${round})`, async () => {}, v.base));
      out.push(
        await phase(
          `${v.name}: 1 of 61 files edited, reloaded (round ${round})`,
          async (stop) => {
            let n = 0;
            while (!stop()) {
              await writeFile(path.join(v.dir, serviceFileName(7)), serviceFile(7, 40, calm.address, `v${edits++}`));
              await v.reload();
              n++;
            }
            reloadsDone.push(`${v.name} round ${round}: ${n} reloads`);
          },
          v.base,
        ),
      );
    }
  }
  await mine.close();
  await theirs.close();
  await rm(baselineFolder, { recursive: true, force: true });
  console.log(`reloads done in the edit phases (${SECONDS} s each): ${reloadsDone.join('; ')}`);
  return out;
}

const base = results[0]!;
console.log(
  `command: node --import tsx bench/event-loop-delay.ts --seconds ${SECONDS}${values.baseline !== undefined ? ` --baseline ${values.baseline}` : ''}`,
);
console.log(
  `load average: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(
  'phase'.padEnd(52),
  'p50 ms'.padStart(8),
  'p99 ms'.padStart(8),
  'max ms'.padStart(9),
  'p99/idle'.padStart(9),
  'GETs/s'.padStart(7),
  'vs idle'.padStart(8),
);
const rate = (r: { gets: number; seconds: number }): number => r.gets / r.seconds;
for (const r of results) {
  console.log(
    r.name.padEnd(52),
    r.p50.toFixed(1).padStart(8),
    r.p99.toFixed(1).padStart(8),
    r.max.toFixed(1).padStart(9),
    (r.p99 / base.p99).toFixed(1).padStart(9),
    rate(r).toFixed(0).padStart(7),
    (rate(r) / rate(base)).toFixed(2).padStart(8),
  );
}
