/**
 * What the admin console costs on the request path: Ferry's CPU per request on get-account (HTTP →
 * Dubbo, the Java sample provider) while a loop reads the console's JSON API at its poll rate, against
 * the same with the console closed, in one run. Ferry runs as `ferry serve` in its own process (its
 * CPU read from /proc/<pid>/stat, so the load generator's CPU is not counted); autocannon drives it
 * from this process. Rounds alternate closed/open so that a change of machine load hits both alike;
 * the best round of each is kept.
 *
 *   node --import tsx bench/console.ts [--requests 20000] [--rounds 3] [--connections 16]
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { startFerryProcess } from '../test/support/ferry-process.js';
import { startJavaProvider } from '../test/support/java-provider.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '16' },
  },
});
const REQUESTS = Number(values.requests);
const ROUNDS = Number(values.rounds);
const CONNECTIONS = Number(values.connections);
/** The console's poll interval (console/src/main.ts POLL_MS). */
const POLL_MS = 2000;
/** Every poll reads all four state answers: more than the console asks for (metrics and one page). */
const POLLED = ['/admin/api/metrics', '/admin/api/routes', '/admin/api/upstreams', '/admin/api/config'];
const TICKS_PER_SECOND = 100; // Linux USER_HZ

function cpuSeconds(pid: number): number {
  // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const provider = await startJavaProvider({ name: 'bench-console' });
const ferry = await startFerryProcess({ dubboAddress: provider.address, withoutSamples: false });
const admin = `http://127.0.0.1:${ferry.adminPort}`;
const url = `${ferry.base}/accounts/2`;

async function round(consoleOpen: boolean): Promise<{ cpuUsPerRequest: number; polls: number }> {
  let polls = 0;
  let stop = false;
  const poller = (async () => {
    while (consoleOpen && !stop) {
      await Promise.all(POLLED.map(async (p) => (await fetch(admin + p)).arrayBuffer()));
      polls++;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  })();
  const before = cpuSeconds(ferry.pid);
  const r = await autocannon({ url, connections: CONNECTIONS, amount: REQUESTS });
  const used = cpuSeconds(ferry.pid) - before;
  stop = true;
  await poller;
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`get-account failed: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return { cpuUsPerRequest: (used * 1e6) / REQUESTS, polls };
}

try {
  // Warm-up: JIT, pools connected.
  await autocannon({ url, connections: CONNECTIONS, amount: 5000 });
  const loadBefore = load();
  const closed: number[] = [];
  const open: number[] = [];
  let polls = 0;
  for (let i = 0; i < ROUNDS; i++) {
    closed.push((await round(false)).cpuUsPerRequest);
    const o = await round(true);
    open.push(o.cpuUsPerRequest);
    polls += o.polls;
  }
  const best = (xs: number[]): number => Math.min(...xs);
  console.log(`command: node --import tsx bench/console.ts --requests ${REQUESTS} --rounds ${ROUNDS} --connections ${CONNECTIONS}`);
  console.log(`load average before ${loadBefore}, after ${load()}; ${REQUESTS} requests of GET /accounts/2 per round, ${CONNECTIONS} connections`);
  console.log(`console closed: ${closed.map((x) => x.toFixed(1)).join(', ')} µs CPU/request (best ${best(closed).toFixed(1)})`);
  console.log(
    `console open:   ${open.map((x) => x.toFixed(1)).join(', ')} µs CPU/request (best ${best(open).toFixed(1)}; ${polls} polls of ${POLLED.length} API reads)`,
  );
  console.log(`ratio open/closed (best rounds): ×${(best(open) / best(closed)).toFixed(3)}`);
} finally {
  await ferry.stop();
  await provider.stop();
}
