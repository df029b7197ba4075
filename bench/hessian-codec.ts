/**
 * Micro-benchmark of the Hessian codec against hessian.js 2.11:
 *  - encode: a typical Dubbo request body (path, version, method, descriptor, a long id, a Transfer
 *    POJO with BigDecimal, LocalDateTime, list and enum, 5 attachments), compiled encoders vs hessian.js;
 *  - decode: a status-20 response holding a List of 20 POJOs, reader + toJson vs hessian.js DecoderV2.
 * Bounded: a fixed time per case (default 1.5 s, FERRY_BENCH_MS to change). Single core, no I/O.
 *
 * Run: node --import tsx bench/hessian-codec.ts
 */
import { createRequire } from 'node:module';
import { parse as losslessParse } from 'lossless-json';
import type { TypeDef } from '../src/config/types.js';
import { compileJsonEncoder, HessianWriter, jvmDescriptor, parseJavaType, toJson } from '../src/codec/hessian/index.js';
import { decodeResponseBody, encodeRequestBody } from '../src/codec/dubbo-body.js';

interface HessianJs {
  EncoderV2: new () => { write(v: unknown): unknown; get(): Buffer; reset(): void };
  DecoderV2: new (buf: Buffer) => { read(): unknown };
}
const hessian = createRequire(import.meta.url)('hessian.js') as HessianJs;
const MS = Number(process.env['FERRY_BENCH_MS'] ?? 1500);

const at = { file: 'bench', line: 1, col: 1 };
const types = new Map<string, TypeDef>([
  [
    'com.example.bank.Transfer',
    {
      kind: 'pojo',
      name: 'com.example.bank.Transfer',
      source: at,
      fields: [
        { name: 'to', type: 'long', source: at },
        { name: 'amount', type: 'java.math.BigDecimal', source: at },
        { name: 'memo', type: 'String', source: at },
        { name: 'tags', type: 'List<String>', source: at },
        { name: 'currency', type: 'com.example.bank.Currency', source: at },
      ],
    },
  ],
  ['com.example.bank.Currency', { kind: 'enum', name: 'com.example.bank.Currency', constants: ['CNY', 'USD', 'EUR'], source: at }],
  [
    'com.example.bank.Account',
    {
      kind: 'pojo',
      name: 'com.example.bank.Account',
      source: at,
      fields: [
        { name: 'id', type: 'long', source: at },
        { name: 'owner', type: 'String', source: at },
        { name: 'balance', type: 'java.math.BigDecimal', source: at },
        { name: 'active', type: 'boolean', source: at },
        { name: 'opened', type: 'java.util.Date', source: at },
        { name: 'currency', type: 'com.example.bank.Currency', source: at },
      ],
    },
  ],
]);
const lookup = (n: string): TypeDef | undefined => types.get(n);
const longT = parseJavaType('long', lookup);
const transferT = parseJavaType('com.example.bank.Transfer', lookup);
const encLong = compileJsonEncoder(longT, { generic: false });
const encTransfer = compileJsonEncoder(transferT, { generic: false });
const descriptor = jvmDescriptor(longT) + jvmDescriptor(transferT);
const body = losslessParse('{"to": 9007199254740993, "amount": 12345.67, "memo": "rent for march", "tags": ["home", "monthly"], "currency": "EUR"}');
const attachments = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tenant: 'acme' };
const head = { path: 'com.example.bank.AccountService', version: '1.0.0', method: 'transfer', descriptor, attachments, timeoutMs: 3000 };

const writer = new HessianWriter();
function ferryEncode(): Buffer {
  return encodeRequestBody(writer, head, (w) => {
    encLong(w, '1234567890123', '$');
    encTransfer(w, body, '$');
  });
}

const hjEncoder = new hessian.EncoderV2();
function hessianJsEncode(): Buffer {
  hjEncoder.reset();
  hjEncoder.write('2.0.2');
  hjEncoder.write(head.path);
  hjEncoder.write(head.version);
  hjEncoder.write(head.method);
  hjEncoder.write(descriptor);
  hjEncoder.write({ $class: 'long', $: '1234567890123' });
  hjEncoder.write({
    $class: 'com.example.bank.Transfer',
    $: {
      to: { $class: 'long', $: '9007199254740993' },
      amount: { $class: 'java.math.BigDecimal', $: { value: '12345.67' } },
      memo: 'rent for march',
      tags: ['home', 'monthly'],
      currency: { $class: 'com.example.bank.Currency', $: { name: 'EUR' } },
    },
  });
  hjEncoder.write({ ...attachments, path: head.path, interface: head.path, version: head.version, timeout: '3000' });
  return hjEncoder.get();
}

// A response: flag 4 (value with attachments), ArrayList of 20 Account objects, attachments.
function buildResponse(): Buffer {
  const w = new HessianWriter();
  const fields = ['id', 'owner', 'balance', 'active', 'opened', 'currency'];
  w.writeInt(4);
  w.writeListBegin(20, null);
  for (let i = 0; i < 20; i++) {
    w.writeObjectBegin('com.example.bank.Account', fields);
    w.writeLong(9007199254740000n + BigInt(i));
    w.writeString(`owner number ${i}`);
    w.writeObjectBegin('java.math.BigDecimal', ['value']);
    w.writeString(`${1000 + i}.25`);
    w.writeBool(i % 2 === 0);
    w.writeDate(1625097599123 + i);
    w.writeObjectBegin('com.example.bank.Currency', ['name']);
    w.writeString('EUR');
  }
  w.writeMapBegin(null);
  w.writeString('dubbo');
  w.writeString('2.0.2');
  w.writeMapEnd();
  return w.finish();
}
const response = buildResponse();
const enumClasses = new Set(['com.example.bank.Currency']);

function ferryDecode(): unknown {
  const r = decodeResponseBody(response);
  return r.kind === 'value' ? toJson(r.value, { longs: 'auto', enumClasses }) : null;
}

function hessianJsDecode(): unknown {
  const d = new hessian.DecoderV2(response);
  d.read();
  const v = d.read();
  d.read();
  return v;
}

function bench(name: string, fn: () => unknown): number {
  for (let i = 0; i < 2000; i++) fn(); // warm-up
  let ops = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(MS) * 1_000_000n;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 200; i++) fn();
    ops += 200;
    now = process.hrtime.bigint();
  }
  const secs = Number(now - start) / 1e9;
  const rate = ops / secs;
  console.log(`${name.padEnd(34)} ${Math.round(rate).toString().padStart(9)} ops/s  ${(1e6 / rate).toFixed(2).padStart(7)} µs/op`);
  return rate;
}

console.log(`node --import tsx bench/hessian-codec.ts   (Node ${process.version}, ${MS} ms per case)`);
console.log(`request body: Ferry ${ferryEncode().length} B, hessian.js ${hessianJsEncode().length} B; response ${response.length} B`);
const e1 = bench('encode request: Ferry', ferryEncode);
const e2 = bench('encode request: hessian.js', hessianJsEncode);
const d1 = bench('decode 20 POJOs + toJson: Ferry', ferryDecode);
const d2 = bench('decode 20 POJOs: hessian.js', hessianJsDecode);
console.log(`speed-up: encode ×${(e1 / e2).toFixed(1)}, decode ×${(d1 / d2).toFixed(1)}`);
