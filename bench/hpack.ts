/**
 * Micro-benchmark of src/upstream/http2/hpack.ts on the gRPC path: per reply (headers + trailers)
 * decode time once the dynamic table holds the reply's fields, a first reply (Huffman literals
 * that insert), and encodeHeaderBlock of a unary request. The blocks are what Python's hpack
 * encoder (Huffman on, as grpc-go and grpcio send) produced for the same fields.
 *
 *   node --import tsx bench/hpack.ts [iterations]
 */
import { HpackDecoder, encodeHeaderBlock } from '../src/upstream/http2/hpack.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
// :status 200, content-type application/grpc | grpc-status 0, grpc-message '' (the first reply: literals, inserted).
const FIRST_HEADERS = hex('885f8b1d75d0620d263d4c4d6564');
const FIRST_TRAILERS = hex('40889acac8b21234da8f810740899acac8b5254207317f80');
// The same fields from the second reply on: dynamic-table references. Python hpack sends grpc-message ''
// as a name reference with a literal '' (it never matches an empty value), which inserts again each time;
// an encoder that does match it (grpc-go's) sends two indexed fields.
const WARM_HEADERS = hex('88c0');
const WARM_TRAILERS = hex('bf7e80');
const WARM_TRAILERS_INDEXED = hex('bfbe');
const BUDGETS = { maxListBytes: 16384 };
const REQUEST = [
  ':method',
  'POST',
  ':scheme',
  'http',
  ':path',
  '/ferry.peer.v1.Peer/Whoami',
  ':authority',
  '127.0.0.1:50051',
  'content-type',
  'application/grpc',
  'te',
  'trailers',
  'grpc-timeout',
  '4999m',
];

const iterations = Number(process.argv[2] ?? 2_000_000);
let sink = 0;

function time(label: string, fn: () => void): void {
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / iterations);
  }
  console.log(`${label.padEnd(58)} ${best.toFixed(1).padStart(7)} ns`);
}

const warm = new HpackDecoder();
warm.decode(FIRST_HEADERS, BUDGETS);
warm.decode(FIRST_TRAILERS, BUDGETS);
time('warm reply (headers 88c0 + trailers bf7e80), per reply', () => {
  sink += warm.decode(WARM_HEADERS, BUDGETS).length + warm.decode(WARM_TRAILERS, BUDGETS).length;
});
const indexed = new HpackDecoder();
indexed.decode(FIRST_HEADERS, BUDGETS);
indexed.decode(FIRST_TRAILERS, BUDGETS);
time('warm reply (headers 88c0 + trailers bfbe), per reply', () => {
  sink += indexed.decode(WARM_HEADERS, BUDGETS).length + indexed.decode(WARM_TRAILERS_INDEXED, BUDGETS).length;
});
time('first reply on a new decoder (Huffman literals, 4 inserts)', () => {
  const d = new HpackDecoder();
  sink += d.decode(FIRST_HEADERS, BUDGETS).length + d.decode(FIRST_TRAILERS, BUDGETS).length;
});
time('encodeHeaderBlock of a unary gRPC request (7 fields)', () => {
  sink += encodeHeaderBlock(REQUEST).length;
});
if (sink === 0) console.log('unreachable');
