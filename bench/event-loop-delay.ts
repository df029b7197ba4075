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
 *   node --import tsx bench/event-loop-delay.ts [--seconds 4]
 *
 * The fake providers (test/support/hostile-dubbo.ts) and the slow clients run in this process too, so
 * their own work (writing 5.8 MB per hostile reply) is in the figures. `max` is the larger of the
 * histogram's and a 10 ms interval timer's worst lateness. A reload parses in the parse worker and
 * compiles and binds the routes in 8 ms slices (src/config/slices.ts) between which traffic is served.
 */
import { connect, type Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigFiles } from '../src/config/loader.js';
import { startTestFerry } from '../test/support/ferry.js';
import { startHostileDubbo } from '../test/support/hostile-dubbo.js';

/** The hostile replies phase (d) cycles through: each refused by a decode budget. */
const HOSTILE_KINDS = ['attachments', 'deepList', 'deepMap', 'deepObject', 'refBomb'] as const;
const SLOW_CLIENTS = 200;
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
  extra: {
    'calm.yaml': svc('calm', calm.address, ['ok']),
    'hostile.yaml': svc('hostile', hostile.address, [...HOSTILE_KINDS]),
  },
});
const big = mappingOfSize(1024 * 1024 - 100, calm.address, 'big');

/** Runs `load` beside a loop of sequential GETs on the normal route for SECONDS; returns the loop's delay and the GETs done. */
async function phase(
  name: string,
  load: (stop: () => boolean) => Promise<void>,
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
  return {
    name,
    p50: h.percentile(50) / 1e6,
    p99: h.percentile(99) / 1e6,
    max: Math.max(h.max / 1e6, late),
    gets,
    seconds: (performance.now() - started) / 1000,
  };
}

/** The 1 MiB mapping written, then reloaded until the phase ends. */
async function reloads(stop: () => boolean): Promise<void> {
  await writeFile(path.join(ferry.dir, 'big.yaml'), big);
  while (!stop()) await ferry.reload();
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
