/**
 * Property tests against hessian.js 2.11 (a Hessian implementation nobody here wrote): for generated
 * typed values, HessianWriter produces exactly hessian.js's bytes, and HessianReader decodes
 * hessian.js's bytes back to the generated values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { HessianWriter } from '../../src/codec/hessian/writer.js';
import { HessianReader, JavaDate, JavaMap, JavaObject, LIST_TYPE, type HessianValue } from '../../src/codec/hessian/reader.js';

interface HessianJs {
  EncoderV2: new (opts?: { mapTypes?: Record<string, boolean> }) => { write(v: unknown): unknown; get(): Buffer; reset(): void };
}
const hessian = createRequire(import.meta.url)('hessian.js') as HessianJs;

type Node =
  | { t: 'null' }
  | { t: 'bool'; v: boolean }
  | { t: 'int'; v: number }
  | { t: 'long'; v: bigint }
  | { t: 'double'; v: number }
  | { t: 'string'; v: string }
  | { t: 'date'; v: number }
  | { t: 'bytes'; v: Buffer }
  | { t: 'list'; type: string | null; items: Node[] }
  | { t: 'map'; type: string | null; entries: Array<[Node, Node]> }
  | { t: 'object'; cls: string; values: Node[] };

// Each class name has one fixed field list, as in Java (and as hessian.js requires).
const CLASSES: Record<string, string[]> = {
  'com.example.A': ['id', 'name'],
  'com.example.B': ['x'],
  'com.example.C': ['amount', 'when', 'tags', 'next'],
};

const utf16 = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 }).map((a) => String.fromCharCode(...a));
const asciiOrCjk = fc.oneof(fc.string({ maxLength: 40 }), utf16, fc.constantFrom('😀', '中文字符', 'a\uD83D', '\uDE00b', ''));

const scalar: fc.Arbitrary<Node> = fc.oneof(
  fc.constant<Node>({ t: 'null' }),
  fc.boolean().map((v): Node => ({ t: 'bool', v })),
  fc
    .oneof(fc.integer(), fc.integer({ min: -300000, max: 300000 }), fc.integer({ min: -3000, max: 3000 }), fc.integer({ min: -20, max: 50 }))
    .map((v): Node => ({ t: 'int', v })),
  fc
    .oneof(
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      fc.bigInt({ min: -300000n, max: 300000n }),
      fc.bigInt({ min: -10n, max: 20n }),
      fc.bigInt({ min: -(2n ** 32n), max: 2n ** 32n }),
    )
    .map((v): Node => ({ t: 'long', v })),
  fc
    .oneof(
      fc.double(),
      fc.integer({ min: -40000, max: 40000 }).map((i) => i / 1000),
      fc.integer({ min: -40000, max: 40000 }),
      fc.constantFrom(0, -0, 1, 0.5),
    )
    .map((v): Node => ({ t: 'double', v })),
  asciiOrCjk.map((v): Node => ({ t: 'string', v })),
  fc
    .oneof(
      fc.integer({ min: -8.64e15, max: 8.64e15 }),
      fc.integer({ min: -1e9, max: 1e9 }).map((m) => m * 60000),
    )
    .map((v): Node => ({ t: 'date', v })),
  fc
    .oneof(fc.uint8Array({ maxLength: 20 }), fc.uint8Array({ minLength: 1000, maxLength: 9000 }))
    .map((v): Node => ({ t: 'bytes', v: Buffer.from(v) })),
);

const { node } = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.record({
      t: fc.constant('list' as const),
      type: fc.constantFrom(null, '[int', 'java.util.HashSet', '[string'),
      items: fc.array(tie('node'), { maxLength: 10 }),
    }),
    fc.record({
      t: fc.constant('map' as const),
      type: fc.constantFrom(null, 'java.util.LinkedHashMap'),
      entries: fc.array(fc.tuple(tie('node'), tie('node')), { maxLength: 5 }),
    }),
    fc
      .constantFrom(...Object.keys(CLASSES))
      .chain((cls) => fc.tuple(...(CLASSES[cls] as string[]).map(() => tie('node'))).map((values): Node => ({ t: 'object', cls, values }))),
  ),
}));

function toHessianJs(n: Node): unknown {
  switch (n.t) {
    case 'null':
      return null;
    case 'bool':
      return n.v;
    case 'int':
      return { $class: 'int', $: n.v };
    case 'long':
      return { $class: 'long', $: n.v.toString() };
    case 'double':
      return { $class: 'double', $: n.v };
    case 'string':
      return { $class: 'java.lang.String', $: n.v };
    case 'date':
      return new Date(n.v);
    case 'bytes':
      return n.v;
    case 'list':
      return n.type === null ? n.items.map(toHessianJs) : { $class: n.type, $: n.items.map(toHessianJs) };
    case 'map': {
      const m = new Map(n.entries.map(([k, v]) => [toHessianJs(k), toHessianJs(v)]));
      return n.type === null ? m : { $class: n.type, $: m };
    }
    case 'object': {
      const o: Record<string, unknown> = {};
      (CLASSES[n.cls] as string[]).forEach((f, i) => {
        o[f] = toHessianJs(n.values[i] as Node);
      });
      return { $class: n.cls, $: o };
    }
  }
}

function writeNode(w: HessianWriter, n: Node): void {
  switch (n.t) {
    case 'null':
      return w.writeNull();
    case 'bool':
      return w.writeBool(n.v);
    case 'int':
      return w.writeInt(n.v);
    case 'long':
      return w.writeLong(n.v);
    case 'double':
      return w.writeDouble(n.v);
    case 'string':
      return w.writeString(n.v);
    case 'date':
      return w.writeDate(n.v);
    case 'bytes':
      return w.writeBytes(n.v);
    case 'list':
      w.writeListBegin(n.items.length, n.type);
      for (const i of n.items) writeNode(w, i);
      return;
    case 'map':
      w.writeMapBegin(n.type);
      for (const [k, v] of n.entries) {
        writeNode(w, k);
        writeNode(w, v);
      }
      return w.writeMapEnd();
    case 'object':
      w.writeObjectBegin(n.cls, CLASSES[n.cls] as string[]);
      for (const v of n.values) writeNode(w, v);
      return;
  }
}

/** What HessianReader should give for a node. Doubles: -0 is written as 0x5B (0.0) by every writer. */
function expected(n: Node): HessianValue {
  switch (n.t) {
    case 'null':
      return null;
    case 'bool':
      return n.v;
    case 'int':
      return n.v;
    case 'long':
      return n.v;
    case 'double':
      return Object.is(n.v, -0) ? 0 : n.v;
    case 'string':
      return n.v;
    case 'date':
      return new JavaDate(n.v);
    case 'bytes':
      return n.v;
    case 'list': {
      const a: unknown[] & { [LIST_TYPE]?: string } = n.items.map(expected);
      if (n.type !== null) a[LIST_TYPE] = n.type;
      return a;
    }
    case 'map': {
      const m = new JavaMap();
      m.javaType = n.type;
      for (const [k, v] of n.entries) m.set(expected(k), expected(v));
      return m;
    }
    case 'object': {
      const f: Record<string, unknown> = {};
      (CLASSES[n.cls] as string[]).forEach((name, i) => {
        f[name] = expected(n.values[i] as Node);
      });
      return new JavaObject(n.cls, f);
    }
  }
}

/** Maps with key collisions (same decoded key twice) are legal Hessian but not comparable as Maps. */
function hasDuplicateKeys(n: Node): boolean {
  if (n.t === 'map') {
    const seen = new Set<string>();
    for (const [k] of n.entries) {
      const key = JSON.stringify(expected(k), (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
      if (seen.has(key) || (k.t !== 'null' && k.t !== 'bool' && k.t !== 'int' && k.t !== 'long' && k.t !== 'double' && k.t !== 'string')) return true;
      seen.add(key);
    }
    return n.entries.some(([k, v]) => hasDuplicateKeys(k) || hasDuplicateKeys(v));
  }
  if (n.t === 'list') return n.items.some(hasDuplicateKeys);
  if (n.t === 'object') return n.values.some(hasDuplicateKeys);
  return false;
}

test('HessianWriter writes the same bytes as hessian.js for generated typed values (several per frame)', () => {
  const w = new HessianWriter(16);
  fc.assert(
    // (hessian.js takes maps as JS Maps, which cannot hold a key twice: such inputs are left out.)
    fc.property(
      fc.array(node, { minLength: 1, maxLength: 4 }).filter((ns) => !ns.some(hasDuplicateKeys)),
      (nodes) => {
        const enc = new hessian.EncoderV2({ mapTypes: { 'java.util.LinkedHashMap': true } });
        for (const n of nodes) enc.write(toHessianJs(n));
        const theirs = enc.get();
        w.reset();
        for (const n of nodes) writeNode(w, n);
        assert.equal(w.finish().toString('hex'), theirs.toString('hex'));
      },
    ),
    { numRuns: 400 },
  );
});

test('HessianReader decodes hessian.js bytes back to the generated values', () => {
  fc.assert(
    fc.property(
      fc.array(node, { minLength: 1, maxLength: 4 }).filter((ns) => !ns.some(hasDuplicateKeys)),
      (nodes) => {
        const enc = new hessian.EncoderV2({ mapTypes: { 'java.util.LinkedHashMap': true } });
        for (const n of nodes) enc.write(toHessianJs(n));
        const r = new HessianReader(enc.get());
        const got: HessianValue[] = [];
        while (r.hasMore()) got.push(r.read());
        assert.deepStrictEqual(got, nodes.map(expected));
      },
    ),
    { numRuns: 400 },
  );
});

test('strings over 0x8000 units chunk like hessian.js, never splitting a surrogate pair', () => {
  const cases = [
    'x'.repeat(0x8000),
    'x'.repeat(0x8001),
    'y'.repeat(0x7fff) + '😀' + 'tail',
    'z'.repeat(40000),
    '中'.repeat(70000),
    'a😀'.repeat(30000),
  ];
  const w = new HessianWriter();
  for (const s of cases) {
    const enc = new hessian.EncoderV2();
    enc.write(s);
    w.reset();
    w.writeString(s);
    const mine = w.finish();
    assert.equal(mine.toString('hex'), enc.get().toString('hex'), `string of ${s.length} units`);
    assert.equal(new HessianReader(mine).read(), s);
  }
  // The chunk before a high surrogate is shortened by one unit: R 0x7fff ...
  w.reset();
  w.writeString('y'.repeat(0x7fff) + '😀');
  const b = w.finish();
  assert.equal(b[0], 0x52);
  assert.equal(b.readUInt16BE(1), 0x7fff);
});

test('class definitions are the same bytes in every frame, also when a later frame defines the class with other fields', () => {
  const w = new HessianWriter();
  const frame = (cls: string, fields: string[], values: string[]): string => {
    w.reset();
    w.writeObjectBegin(cls, fields);
    for (const v of values) w.writeString(v);
    return w.finish().toString('hex');
  };
  const theirs = (cls: string, fields: string[], values: string[]): string => {
    const enc = new hessian.EncoderV2();
    const o: Record<string, unknown> = {};
    fields.forEach((f, i) => (o[f] = values[i]));
    enc.write({ $class: cls, $: o });
    return enc.get().toString('hex');
  };
  // Tried: the same class in three frames (the second and third take the definition's cached bytes),
  // then the same class name with other fields, then the first fields again.
  const cls = 'com.example.CacheProbe';
  for (const [fields, values] of [
    [
      ['a', 'b'],
      ['x', 'y'],
    ],
    [
      ['a', 'b'],
      ['x', 'y'],
    ],
    [
      ['a', 'b'],
      ['p', 'q'],
    ],
    [
      ['a', 'b', 'c'],
      ['1', '2', '3'],
    ],
    [
      ['a', 'b'],
      ['x', 'y'],
    ],
  ] as Array<[string[], string[]]>) {
    assert.equal(frame(cls, fields, values), theirs(cls, fields, values), `${cls}(${fields.join(', ')})`);
  }
});

test('ASCII strings long enough for the native write are the bytes hessian.js writes, and non-ASCII ones of the same length too', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ minLength: 20, maxLength: 300 }),
        utf16.map((s) => s.padEnd(30, 'é')),
      ),
      (s) => {
        const enc = new hessian.EncoderV2();
        enc.write(s);
        const w = new HessianWriter(8);
        w.writeString(s);
        assert.equal(w.finish().toString('hex'), enc.get().toString('hex'), `string ${JSON.stringify(s)}`);
      },
    ),
    { numRuns: 500 },
  );
});
