/**
 * Micro-benchmark: Ferry's proto3 JSON mapping (src/codec/protojson) in both directions on the
 * sample protos, the work a gRPC route does per request without the network. Request side: JSON
 * text → parseText → fromJson → encode (general), and the compiled request encoder the routes use
 * (JSON bytes → protobuf bytes, json-wire.ts); reply side: bytes → toJson → JSON.stringify.
 * Single core, no I/O; each figure is the fastest of many short rounds (see timeIt).
 *
 * Run: node --import tsx bench/proto-json.ts
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createProtoJson } from '../src/codec/protojson/index.js';
import { loadProtoRoot } from '../src/upstream/grpc/proto-loader.js';

const WARMUP = 5_000;
const ROUNDS = 300;
const ROUND_MS = 2;
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = loadProtoRoot(
  ['idl/payments/v1/kitchen_sink.proto', 'idl/payments/v1/payments.proto', 'idl/bench/v1/orders.proto'].map((f) => path.join(repo, f)),
  { includeDirs: [path.join(repo, 'idl')] },
);
const pj = createProtoJson(root);
const source = { argument: 'body', jsonPath: '$' };

const payment = (i: number) => ({
  name: `accounts/1/payments/${i}`,
  amount: { currencyCode: 'EUR', units: String(1000 + i), nanos: 500_000_000 },
  state: 'SETTLED',
  createTime: '2024-02-29T12:00:00.100Z',
  labels: { channel: 'web', region: 'eu-west-1' },
  note: 'monthly rent',
  sequence: '18446744073709551615',
  reference: `ref-${i}`,
});
const cases: Array<[string, string, object]> = [
  ['Payment', 'example.payments.v1.Payment', payment(1)],
  [
    "Order (the gRPC bench's POST body)",
    'ferry.bench.v1.Order',
    {
      name: 'shops/s1/orders/o1',
      customer: 'customer-42',
      items: Array.from({ length: 10 }, (_, i) => ({
        sku: `sku-${i}`,
        title: `Item number ${i}`,
        quantity: String(i + 1),
        unitPrice: 9.99 + i,
        tags: ['red', 'large'],
        inStock: i % 2 === 0,
      })),
      labels: { region: 'eu-west-1', channel: 'web' },
      createTime: '2026-12-01T10:30:00.123Z',
      signature: 'AAECAwQFBgcICQ==',
      revision: 3,
    },
  ],
  [
    'ListPaymentsResponse (20)',
    'example.payments.v1.ListPaymentsResponse',
    { payments: Array.from({ length: 20 }, (_, i) => payment(i)), nextPageToken: 'abc', total: '20' },
  ],
  [
    'KitchenSink (scalars, maps, WKTs)',
    'example.kitchen.v1.KitchenSink',
    {
      i32: -5,
      i64: '-9223372036854775808',
      u64: '18446744073709551615',
      dbl: 1.5,
      flt: 0.1,
      flag: true,
      text: 'hello',
      blob: 'AAECAwQF/w==',
      color: 'BLUE',
      nested: { id: 1, label: 'a', child: { id: 2 }, values: ['1', '-2'] },
      ids: ['1', '2', '3'],
      tags: ['x', 'y'],
      counts: { a: '1', b: '2' },
      byInt: { '1': 'one' },
      values: { n: null, s: 'x', l: [1, { a: true }] },
      choiceText: 'c',
      ts: '2000-01-01T00:00:00.123456789Z',
      dur: '-0.500s',
      mask: 'a,b.cD',
      st: { a: 1, b: 'x', e: { f: -1.5 } },
      wI64: '7',
      wStr: 's',
      customName: 'r',
    },
  ],
];

/**
 * µs per call: the fastest of ROUNDS rounds of about ROUND_MS each (short rounds, so that on a
 * shared machine some of them run without being preempted), after a warm-up.
 */
function timeIt(fn: () => unknown): number {
  const w0 = process.hrtime.bigint();
  for (let i = 0; i < WARMUP; i++) fn();
  const estimate = Number(process.hrtime.bigint() - w0) / WARMUP / 1e6;
  const n = Math.max(1, Math.round(ROUND_MS / estimate));
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / n / 1000);
  }
  return best;
}

console.log(`# node --import tsx bench/proto-json.ts  (node ${process.version}, fastest of ${ROUNDS} rounds of ~${ROUND_MS} ms)`);
console.log(`${'message'.padEnd(36)}${'JSON→bytes µs'.padStart(15)}${'compiled µs'.padStart(13)}${'bytes→JSON µs'.padStart(15)}`);
for (const [label, typeName, value] of cases) {
  const type = root.lookupType(typeName);
  const text = JSON.stringify(value);
  const toBytes = () => pj.encode(type, pj.fromJson(type, pj.parseText(type, text, source), source));
  const bytes = toBytes();
  const toText = () => JSON.stringify(pj.toJson(type, bytes));
  // Round trip must hold, or the figures measure a broken mapping.
  if (Buffer.compare(Buffer.from(pj.encode(type, pj.fromJson(type, pj.parseText(type, toText(), source), source))), Buffer.from(bytes)) !== 0) {
    throw new Error(`${label}: JSON round trip changed the bytes`);
  }
  const body = Buffer.from(text);
  const encoder = pj.bodyEncoder(type)!;
  const compiled = encoder(body);
  if (compiled === undefined || Buffer.compare(Buffer.from(compiled), Buffer.from(bytes)) !== 0)
    throw new Error(`${label}: the compiled encoder's bytes differ`);
  const cells = [timeIt(toBytes), timeIt(() => encoder(body)), timeIt(toText)];
  console.log(`${label.padEnd(36)}${cells[0]!.toFixed(2).padStart(15)}${cells[1]!.toFixed(2).padStart(13)}${cells[2]!.toFixed(2).padStart(15)}`);
}
