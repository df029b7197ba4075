/**
 * Ferry's memory: RSS with 1,000 open idle client connections (target ≤ 150 MB), and RSS over a
 * bounded soak under wrk load (target: flat). Bounded in time; every process is stopped at the end.
 *
 *   node --import tsx bench/memory.ts [--connections 1000] [--soak-seconds 600] [--sample-seconds 30]
 *
 * Each idle connection sends one keep-alive GET /accounts/2, reads the reply, then stays open
 * (fastify keeps idle connections 72 s by default). RSS is VmRSS of the Ferry process from /proc.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startJavaProvider } from '../test/support/java-provider.js';
import { freePort } from '../test/support/ports.js';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '1000' },
    'soak-seconds': { type: 'string', default: '60' },
    'sample-seconds': { type: 'string', default: '15' },
    route: { type: 'string', default: '/accounts?limit=20' },
  },
});
const CONNS = Number(values.connections);
const SOAK = Number(values['soak-seconds']);
const SAMPLE = Math.min(Number(values['sample-seconds']), SOAK);

const rssMb = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on ${port}`);
}

/** Opens one keep-alive connection, does one request, and leaves it open and idle. */
function idleConnection(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.write('GET /accounts/2 HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n'));
    let got = '';
    const onData = (d: Buffer): void => {
      got += d.toString('latin1');
      const head = got.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(got);
      if (head >= 0 && len && got.length >= head + 4 + Number(len[1])) {
        s.off('data', onData);
        if (!got.startsWith('HTTP/1.1 200')) reject(new Error(`unexpected reply: ${got.slice(0, 200)}`));
        else resolve(s);
      }
    };
    s.on('data', onData);
    s.once('error', reject);
  });
}

const provider = await startJavaProvider({ name: 'memory' });
const dir = await mkdtemp(path.join(tmpdir(), 'ferry-mem-'));
const sockets: Socket[] = [];
let ferry: ReturnType<typeof spawn> | undefined;
try {
  await writeFile(path.join(dir, 'bank.yaml'), (await readFile('mappings/bank.yaml', 'utf8')).replaceAll('127.0.0.1:20880', provider.address));
  const port = await freePort();
  const admin = await freePort();
  const help = await new Promise<string>((resolve) => {
    const h = spawn(process.execPath, ['bin/ferry.js', 'help']);
    let t = '';
    h.stdout.on('data', (d: Buffer) => (t += d.toString()));
    h.on('exit', () => resolve(t));
  });
  const log = openSync(path.join(dir, 'ferry.log'), 'a');
  ferry = spawn(
    process.execPath,
    ['bin/ferry.js', 'serve', '--mappings', dir, '--port', String(port), ...(help.includes('--admin-port') ? ['--admin-port', String(admin)] : [])],
    {
      stdio: ['ignore', log, 'inherit'],
    },
  );
  closeSync(log);
  await waitForPort(port);
  // Warm up (JIT, pools, the first replies) before the baseline.
  const warm = spawn('wrk', ['-t1', '-c8', '-d3s', `http://127.0.0.1:${port}${values.route}`], { stdio: 'ignore' });
  await once(warm, 'exit');
  await sleep(1000);
  const base = rssMb(ferry.pid!);
  for (let i = 0; i < CONNS; i += 100) {
    const batch = await Promise.all(Array.from({ length: Math.min(100, CONNS - i) }, () => idleConnection(port)));
    sockets.push(...batch);
  }
  await sleep(2000);
  const withIdle = rssMb(ferry.pid!);
  console.log(`node ${process.version}; Ferry RSS after warm-up: ${base.toFixed(1)} MB`);
  console.log(`Ferry RSS with ${sockets.length} open idle client connections: ${withIdle.toFixed(1)} MB (target ≤ 150 MB)`);
  for (const s of sockets) s.destroy();
  sockets.length = 0;

  console.log(`\nsoak: wrk -t1 -c16 on ${values.route} for ${SOAK} s, RSS every ${SAMPLE} s`);
  const samples: number[] = [];
  let requests = 0;
  for (let t = 0; t < SOAK; t += SAMPLE) {
    const w = spawn('wrk', ['-t1', '-c16', `-d${SAMPLE}s`, `http://127.0.0.1:${port}${values.route}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    w.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await once(w, 'exit');
    if (/Non-2xx|Socket errors/.test(out)) throw new Error(`errors during the soak:\n${out}`);
    requests += Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
    samples.push(rssMb(ferry.pid!));
    console.log(`  t=${String(t + SAMPLE).padStart(4)} s  RSS ${samples.at(-1)!.toFixed(1)} MB  (${requests} requests so far)`);
  }
  const first = samples[0]!;
  const last = samples.at(-1)!;
  const max = Math.max(...samples);
  console.log(
    `RSS first sample ${first.toFixed(1)} MB, last ${last.toFixed(1)} MB, max ${max.toFixed(1)} MB: ${(((last - first) / first) * 100).toFixed(1)}% over the soak`,
  );
} finally {
  for (const s of sockets) s.destroy();
  if (ferry && ferry.exitCode === null) {
    ferry.kill('SIGTERM');
    await once(ferry, 'exit');
  }
  await provider.stop();
  await rm(dir, { recursive: true, force: true });
}
