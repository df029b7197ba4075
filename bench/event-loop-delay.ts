/**
 * Event-loop delay (p99, max) of Ferry on a normal route while (a) nothing else happens, (b) a
 * mapping file at the 1 MiB cap is reloaded over and over, (c) a hostile Dubbo provider answers
 * with 840 000 attachments, and, for reference, (d) the same 1 MiB mapping parsed on the event
 * loop (what reloads cost before the parse worker). One run, the same process; the ratios to (a)
 * are what to read, the machine being shared.
 *
 *   node --import tsx bench/event-loop-delay.ts [--seconds 4]
 *
 * The fake providers (test/support/hostile-dubbo.ts) run in this process too, so their own work
 * (writing 5.8 MB per hostile reply) is in the figures of (c). `max` is the larger of the
 * histogram's and a 10 ms interval timer's worst lateness. A reload also rebuilds the engine on the
 * event loop (binding every route): for a 1 MiB mapping (8 600 routes) that, not YAML, is the stall left.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigFiles } from '../src/config/loader.js';
import { startTestFerry } from '../test/support/ferry.js';
import { startHostileDubbo } from '../test/support/hostile-dubbo.js';
import { mappingOfSize } from '../test/support/hostile-mappings.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '4' } } });
const SECONDS = Number(values.seconds);

const calm = await startHostileDubbo({ attachments: 10 });
const hostile = await startHostileDubbo();
const svc = (name: string, address: string, methods: string[]): string =>
  `services:\n  ${name}:\n    protocol: dubbo\n    interface: com.example.${name}.Service\n    endpoints: [${address}]\n    timeout: 5s\nroutes:\n` +
  methods.map((m) => `  - { id: ${name}-${m}, http: GET /${name}/${m}, call: ${name}.${m} }\n`).join('');
const ferry = await startTestFerry({
  withoutSamples: true,
  extra: { 'calm.yaml': svc('calm', calm.address, ['ok']), 'hostile.yaml': svc('hostile', hostile.address, ['attachments']) },
});
const big = mappingOfSize(1024 * 1024 - 100, calm.address, 'big');

/** Runs `load` beside a loop of sequential GETs on the normal route for SECONDS; returns the loop's delay and the GETs done. */
async function phase(name: string, load: (stop: () => boolean) => Promise<void>): Promise<{ name: string; p99: number; max: number; gets: number }> {
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
      const r = await fetch(`${ferry.base}/calm/ok`);
      await r.text();
      if (r.status === 200) gets++;
    }
  })();
  await Promise.all([traffic, load(stop)]);
  // One more timer turn, so that a stall still going on at the end is recorded too.
  await new Promise((r) => setTimeout(r, 30));
  h.disable();
  clearInterval(sampler);
  return { name, p99: h.percentile(99) / 1e6, max: Math.max(h.max / 1e6, late), gets };
}

const results = [];
results.push(await phase('idle (normal route only)', async () => {}));
results.push(
  await phase('1 MiB mapping reloaded (parse worker)', async (stop) => {
    await writeFile(path.join(ferry.dir, 'big.yaml'), big);
    while (!stop()) await ferry.reload();
  }),
);
results.push(
  await phase('hostile provider: 840 000 attachments', async (stop) => {
    while (!stop()) await (await fetch(`${ferry.base}/hostile/attachments`)).text();
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
await ferry.close();
await calm.close();
await hostile.close();

const base = results[0]!;
console.log(`command: node --import tsx bench/event-loop-delay.ts --seconds ${SECONDS}`);
console.log(
  `load average: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log('phase'.padEnd(52), 'p99 ms'.padStart(9), 'max ms'.padStart(9), 'p99/idle'.padStart(9), 'GETs'.padStart(6));
for (const r of results) {
  console.log(
    r.name.padEnd(52),
    r.p99.toFixed(1).padStart(9),
    r.max.toFixed(1).padStart(9),
    (r.p99 / base.p99).toFixed(1).padStart(9),
    String(r.gets).padStart(6),
  );
}
