/**
 * Micro-benchmark: reply decoding per declared return type, the specialised decoder
 * (decode-typed.ts) against the generic path (reader → toJson → JSON.stringify) on the same
 * hessian.js-written reply bodies. Each case first checks that both answer the same bytes.
 * Single core, no I/O, a fixed number of iterations per case.
 *
 * Run: node --import tsx bench/typed-decoder.ts
 */
import { createRequire } from 'node:module';
import { parseJavaType } from '../src/codec/hessian/java-types.js';
import { toJson } from '../src/codec/hessian/decode-json.js';
import { compileTypedJsonDecoder } from '../src/codec/hessian/decode-typed.js';
import { decodeResponseBody } from '../src/codec/dubbo-body.js';

interface HessianJs {
  EncoderV2: new () => { write(v: unknown): unknown; get(): Buffer };
}
const hessian = createRequire(import.meta.url)('hessian.js') as HessianJs;
const HANDLES = 'com.alibaba.com.caucho.hessian.io.java8.';
const ITERATIONS = 200_000;

/** A Dubbo reply body: flag 4 (value with attachments), the value, the attachments. */
function replyBody(value: unknown): Buffer {
  const enc = new hessian.EncoderV2();
  enc.write({ $class: 'int', $: 4 });
  enc.write(value);
  enc.write(new Map([['dubbo', '2.0.2']]));
  return enc.get();
}

const instant = (seconds: number, nanos: number) => ({
  $class: HANDLES + 'InstantHandle',
  $: { nanos: { $class: 'int', $: nanos }, seconds: { $class: 'long', $: String(seconds) } },
});

const cases: Array<[string, Buffer]> = [
  ['java.time.Instant', replyBody(instant(1709208000, 500_000_000))],
  ['List<java.time.Instant>', replyBody(Array.from({ length: 20 }, (_, i) => instant(1709208000 + i, i * 1000)))],
  ['byte[]', replyBody(Buffer.alloc(1024, 7))],
  ['byte[] (64 KiB, chunked)', replyBody(Buffer.alloc(65536, 7))],
];

/** Mean µs per call after a warm-up. */
function timeIt(fn: () => unknown): number {
  for (let i = 0; i < ITERATIONS / 10; i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) fn();
  return Number(process.hrtime.bigint() - t0) / ITERATIONS / 1000;
}

console.log(`# node --import tsx bench/typed-decoder.ts  (node ${process.version}, ${ITERATIONS} calls per figure)`);
console.log(`${'declared type'.padEnd(28)}${'generic µs'.padStart(12)}${'typed µs'.padStart(12)}${'ratio'.padStart(8)}`);
for (const [declared, body] of cases) {
  const typeText = declared.replace(/ \(.*\)$/, '');
  const decoder = compileTypedJsonDecoder(
    parseJavaType(typeText, () => undefined),
    new Set(),
    { longs: 'auto' },
  );
  if (!decoder) throw new Error(`${typeText} has no specialised decoder`);
  const generic = (): Buffer => {
    const r = decodeResponseBody(body);
    return Buffer.from(JSON.stringify(r.kind === 'value' ? toJson(r.value, { longs: 'auto' }) : null));
  };
  const typed = decoder.decodeReplyBody(body);
  if (typed === undefined || !typed.equals(generic())) throw new Error(`${declared}: the two paths answer differently`);
  const g = timeIt(generic);
  const t = timeIt(() => decoder.decodeReplyBody(body));
  console.log(`${declared.padEnd(28)}${g.toFixed(2).padStart(12)}${t.toFixed(2).padStart(12)}${(g / t).toFixed(2).padStart(7)}×`);
}
