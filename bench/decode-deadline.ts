/**
 * Decode work per reply, and what the route's deadline costs while decoding (src/codec/decode-deadline.ts).
 *
 *   node --import tsx bench/decode-deadline.ts [--rounds 7] [--before DIR]
 *
 * Replies of 100 000 and 1 000 000 values (the default `--max-reply-values` budget):
 * - Dubbo: a list of Item {id: int, name: String, price: double} objects (test/support/hostile-dubbo.ts,
 *   the `wide` reply), through the generic path (reader → toJson → JSON.stringify) and the typed
 *   decoder (decode-typed.ts, declared `List<com.example.Item>`);
 * - gRPC: a KitchenSink holding `ids` (packed int64) and the same number of `tags` (strings), through
 *   the compiled reply writer (wire-json.ts).
 * Each figure is the median over rounds of the CPU time (user + system) of one decode; in each round
 * the variants alternate: no deadline, a deadline far away (the checks run but never fire), and with
 * `--before DIR` the same code from another checkout (e.g. /work/main) for before/after in one process.
 * Then the hot path: small replies (1, 20 and 200 Items; KitchenSinks of 4, 80 and 800 values),
 * CPU µs per reply over many calls, the same variants alternating per round, so that the cost of the
 * checks on the replies Ferry mostly serves is read against the old code in the same process.
 * Last, each 1 000 000-value reply is decoded with a deadline 10 ms away: how long decoding went on
 * and how many values it decoded before it stopped.
 */
import path from 'node:path';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { WIDE_ITEM_CLASS, wideReplyBody } from '../test/support/hostile-dubbo.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, before: { type: 'string' } } });
const ROUNDS = Number(values.rounds);
const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

type Decode = (body: Buffer, deadline?: number) => unknown;
interface Decoders {
  readonly generic: Decode;
  readonly typed: Decode;
  readonly grpc: Decode;
  readonly encodeGrpc: (n: number) => Buffer;
}

/** The three decoders of the checkout at `root`, imported from its own src/. */
async function decodersOf(root: string): Promise<Decoders> {
  const src = (p: string) => import(path.join(root, 'src', p));
  const [{ parseJavaType }, { toJson }, { compileTypedJsonDecoder }, { decodeResponseBody }, { createProtoJson }, { loadProtoRoot }] =
    await Promise.all([
      src('codec/hessian/java-types.ts'),
      src('codec/hessian/decode-json.ts'),
      src('codec/hessian/decode-typed.ts'),
      src('codec/dubbo-body.ts'),
      src('codec/protojson/index.ts'),
      src('upstream/grpc/proto-loader.ts'),
    ]);
  const item = {
    kind: 'pojo',
    name: WIDE_ITEM_CLASS,
    fields: ['id:int', 'name:String', 'price:double'].map((f) => ({ name: f.split(':')[0], type: f.split(':')[1], source: {} })),
    source: {},
  };
  const type = parseJavaType(`List<${WIDE_ITEM_CLASS}>`, (n: string) => (n === WIDE_ITEM_CLASS ? item : undefined));
  const typed = compileTypedJsonDecoder(type, new Set(), { longs: 'auto' });
  const protoRoot = loadProtoRoot([path.join(here, 'idl/payments/v1/kitchen_sink.proto')]);
  const sink = protoRoot.lookupType('example.kitchen.v1.KitchenSink');
  const writer = createProtoJson(protoRoot).writer(sink);
  return {
    generic: (body, deadline) => {
      const r = decodeResponseBody(body, undefined, deadline);
      return JSON.stringify(toJson(r.value, deadline === undefined ? { longs: 'auto' } : { longs: 'auto', deadline }));
    },
    typed: (body, deadline) => {
      const out = typed.decodeReplyBody(body, deadline);
      if (out === undefined) throw new Error('the typed decoder gave up on the Item list');
      return out;
    },
    grpc: (body, deadline) => writer(body, deadline),
    encodeGrpc: (n) =>
      Buffer.from(
        sink
          .encode(sink.fromObject({ ids: Array.from({ length: n / 2 }, (_, i) => i * 1000), tags: Array.from({ length: n / 2 }, (_, i) => `t${i}`) }))
          .finish(),
      ),
  };
}

const now = await decodersOf(here);
const before = values.before !== undefined ? await decodersOf(path.resolve(values.before)) : undefined;

/** CPU ms of one call. */
function cpuMs(fn: () => unknown): number {
  const t0 = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1000;
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const FAR = () => performance.now() + 3_600_000;
const sizes = [100_000, 1_000_000];
const kinds = ['generic', 'typed', 'grpc'] as const;
const body = (kind: (typeof kinds)[number], n: number): Buffer => (kind === 'grpc' ? now.encodeGrpc(n) : wideReplyBody(Math.floor((n - 7) / 4)));

console.log(`# node --import tsx bench/decode-deadline.ts --rounds ${ROUNDS}${values.before ? ` --before ${values.before}` : ''}`);
console.log(
  `# node ${process.version}, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}, CPU ms per reply (median of ${ROUNDS})`,
);
console.log(
  `${'decoder'.padEnd(9)}${'values'.padStart(10)}${'bytes'.padStart(10)}${'no deadline'.padStart(13)}${'ns/value'.padStart(10)}${'deadline set'.padStart(14)}${'ratio'.padStart(8)}${before ? 'before'.padStart(10) + 'ratio'.padStart(8) : ''}`,
);
for (const kind of kinds) {
  for (const n of sizes) {
    const b = body(kind, n);
    const plain = now[kind];
    // Both answer the same text, deadline or not (and so does the old code).
    const want = String(plain(b));
    if (String(plain(b, FAR())) !== want) throw new Error(`${kind}: a far deadline changed the answer`);
    if (before && String(before[kind](b)) !== want) throw new Error(`${kind}: the old code answers differently`);
    const t = { none: [] as number[], far: [] as number[], old: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      t.none.push(cpuMs(() => plain(b)));
      t.far.push(cpuMs(() => plain(b, FAR())));
      if (before) t.old.push(cpuMs(() => before[kind](b)));
    }
    const none = median(t.none);
    const far = median(t.far);
    const old = before ? median(t.old) : 0;
    console.log(
      `${kind.padEnd(9)}${String(n).padStart(10)}${String(b.length).padStart(10)}${none.toFixed(1).padStart(13)}${((none * 1e6) / n).toFixed(0).padStart(10)}${far.toFixed(1).padStart(14)}${(far / none).toFixed(3).padStart(8)}${before ? old.toFixed(1).padStart(10) + (none / old).toFixed(3).padStart(8) : ''}`,
    );
  }
}

const CALLS = 2000;
console.log(`\n# small replies: CPU µs per reply (median of ${ROUNDS} rounds of ${CALLS} calls per variant)`);
console.log(
  `${'decoder'.padEnd(9)}${'values'.padStart(10)}${'no deadline'.padStart(13)}${'deadline set'.padStart(14)}${'ratio'.padStart(8)}${before ? 'before'.padStart(10) + 'ratio'.padStart(8) : ''}`,
);
for (const kind of kinds) {
  for (const items of [1, 20, 200]) {
    // Hessian: the flag, the class definition's five, the list, four per Item; gRPC: as many ids and tags.
    const n = kind === 'grpc' ? 4 * items : 7 + 4 * items;
    const b = kind === 'grpc' ? now.encodeGrpc(n) : wideReplyBody(items);
    const many = (fn: (b: Buffer, d?: number) => unknown, withDeadline: boolean) => () => {
      for (let i = 0; i < CALLS; i++) fn(b, withDeadline ? FAR() : undefined);
    };
    const t = { none: [] as number[], far: [] as number[], old: [] as number[] };
    for (let r = 0; r < ROUNDS + 2; r++) {
      // Two warm-up rounds, not counted.
      const keep = r >= 2;
      const a = cpuMs(many(now[kind], false));
      const f = cpuMs(many(now[kind], true));
      const o = before ? cpuMs(many(before[kind], false)) : 0;
      if (keep) {
        t.none.push(a);
        t.far.push(f);
        t.old.push(o);
      }
    }
    const us = (ms: number): string => ((ms * 1000) / CALLS).toFixed(2);
    const none = median(t.none);
    const far = median(t.far);
    const old = before ? median(t.old) : 0;
    console.log(
      `${kind.padEnd(9)}${String(n).padStart(10)}${us(none).padStart(13)}${us(far).padStart(14)}${(far / none).toFixed(3).padStart(8)}${before ? us(old).padStart(10) + (none / old).toFixed(3).padStart(8) : ''}`,
    );
  }
}

console.log('\n# the 1 000 000-value replies with a deadline 10 ms away: wall ms until decoding stopped, values decoded');
for (const kind of kinds) {
  const b = body(kind, 1_000_000);
  const t0 = performance.now();
  let said = 'decoded everything (no stop)';
  try {
    now[kind](b, t0 + 10);
  } catch (err) {
    said = `${(err as Error & { code?: string }).code}: ${(err as Error).message}`;
  }
  console.log(`${kind.padEnd(9)}${(performance.now() - t0).toFixed(1).padStart(8)} ms  ${said}`);
}
