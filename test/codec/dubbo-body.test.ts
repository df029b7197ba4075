/**
 * Dubbo request/response bodies (protocols.md B and C): field order, generic `$invoke` layout
 * against the hessian.js-produced vector in protocols.md, all six result flags, trailing bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAll, HessianDecodeError, HessianWriter, JavaMap, LIST_TYPE, toJson } from '../../src/codec/hessian/index.js';
import {
  decodeErrorMessage,
  decodeResponseBody,
  encodeGenericRequestBody,
  encodeRequestBody,
  GENERIC_DESCRIPTOR,
  withRequestAttachment,
} from '../../src/codec/dubbo-body.js';

// The generic request from protocols.md B.1 (made with hessian.js); its body starts after the 16-byte header.
const VECTOR = Buffer.from(
  'dabbc20000000000000000010000010105322e302e3217636f6d2e6578616d706c652e44656d6f5365727669636505312e302e300724696e766f6b6530384c6a' +
    '6176612f6c616e672f537472696e673b5b4c6a6176612f6c616e672f537472696e673b5b4c6a6176612f6c616e672f4f626a6563743b0873617948656c6c6f71' +
    '075b737472696e67106a6176612e6c616e672e537472696e6771075b6f626a65637405776f726c64480767656e65726963047472756509696e74657266616365' +
    '17636f6d2e6578616d706c652e44656d6f53657276696365047061746817636f6d2e6578616d706c652e44656d6f536572766963650774696d656f7574043330' +
    '30300776657273696f6e05312e302e305a',
  'hex',
).subarray(16);

function mapToObject(m: unknown): Record<string, unknown> {
  assert.ok(m instanceof JavaMap);
  return Object.fromEntries([...m].map(([k, v]) => [String(k), v]));
}

test('generic $invoke body carries the same values as the protocols.md vector', () => {
  const w = new HessianWriter();
  const mine = encodeGenericRequestBody(
    w,
    {
      path: 'com.example.DemoService',
      version: '1.0.0',
      method: 'sayHello',
      descriptor: 'ignored',
      attachments: {},
      timeoutMs: 3000,
    },
    ['java.lang.String'],
    (wr) => wr.writeString('world'),
  );
  const theirs = decodeAll(VECTOR);
  const ours = decodeAll(mine);
  assert.equal(ours.length, 9);
  assert.deepEqual(ours.slice(0, 8), theirs.slice(0, 8), 'version, path, service version, $invoke, descriptor, method, types, args');
  assert.equal(ours[4], GENERIC_DESCRIPTOR);
  assert.equal((ours[6] as { [LIST_TYPE]?: string })[LIST_TYPE], '[string');
  assert.equal((ours[7] as { [LIST_TYPE]?: string })[LIST_TYPE], '[object');
  assert.deepEqual(mapToObject(ours[8]), mapToObject(theirs[8]), 'attachments (the vector sorts keys; Java does not care)');
});

test('declared-signature body: head, one value per parameter, attachments with path/interface/version/group/timeout', () => {
  const w = new HessianWriter();
  const body = encodeRequestBody(
    w,
    {
      path: 'com.example.bank.AccountService',
      group: 'retail',
      method: 'transfer',
      descriptor: 'JLjava/lang/String;',
      attachments: { traceparent: '00-abc-def-01', path: 'evil' },
      timeoutMs: 2500,
    },
    (wr) => {
      wr.writeLong(42);
      wr.writeString('memo');
    },
  );
  const v = decodeAll(body);
  assert.deepEqual(v.slice(0, 7), ['2.0.2', 'com.example.bank.AccountService', '0.0.0', 'transfer', 'JLjava/lang/String;', 42n, 'memo']);
  assert.deepEqual(
    mapToObject(v[7]),
    {
      traceparent: '00-abc-def-01',
      path: 'com.example.bank.AccountService',
      interface: 'com.example.bank.AccountService',
      group: 'retail',
      timeout: '2500',
    },
    'a caller attachment cannot override path',
  );
  assert.equal(v.length, 8);
  // The writer is reset per body: a second body starts a fresh class-definition table.
  const again = encodeRequestBody(w, { path: 'p', method: 'm', descriptor: '', attachments: {} }, () => undefined);
  assert.deepEqual(decodeAll(again).slice(0, 5), ['2.0.2', 'p', '0.0.0', 'm', '']);
});

function responseBody(write: (w: HessianWriter) => void): Buffer {
  const w = new HessianWriter();
  write(w);
  return w.finish();
}

function attachments(w: HessianWriter): void {
  w.writeMapBegin(null);
  w.writeString('dubbo');
  w.writeString('2.0.2');
  w.writeMapEnd();
}

test('response bodies: all six flags, attachments, trailing bytes ignored', () => {
  const ex = (w: HessianWriter): void => {
    w.writeObjectBegin('java.lang.IllegalStateException', ['detailMessage']);
    w.writeString('boom');
  };
  const cases: Array<[number, (w: HessianWriter) => void, string, unknown, Record<string, string>]> = [
    [0, ex, 'exception', { detailMessage: 'boom' }, {}],
    [1, (w) => w.writeLong(9223372036854775807n), 'value', '9223372036854775807', {}],
    [2, () => undefined, 'null', undefined, {}],
    [
      3,
      (w) => {
        ex(w);
        attachments(w);
      },
      'exception',
      { detailMessage: 'boom' },
      { dubbo: '2.0.2' },
    ],
    [
      4,
      (w) => {
        w.writeString('ok');
        attachments(w);
      },
      'value',
      'ok',
      { dubbo: '2.0.2' },
    ],
    [5, attachments, 'null', undefined, { dubbo: '2.0.2' }],
  ];
  for (const [flag, rest, kind, value, att] of cases) {
    const body = responseBody((w) => {
      w.writeInt(flag);
      rest(w);
      w.writeNull(); // dubbo-go appends an N after the body
    });
    const r = decodeResponseBody(body);
    assert.equal(r.kind, kind, `flag ${flag}`);
    if (r.kind !== 'null') assert.deepEqual(toJson(r.value, { longs: 'auto' }), value, `flag ${flag}`);
    assert.deepEqual(r.attachments, att, `flag ${flag}`);
  }
});

test('response body errors: unknown flag, truncated value, non-map attachments (inputs named in each case)', () => {
  assert.throws(
    () => decodeResponseBody(responseBody((w) => w.writeInt(7))),
    (e: unknown) => e instanceof HessianDecodeError && /unknown Dubbo result flag 7/.test(e.message),
  );
  assert.throws(() => decodeResponseBody(Buffer.from('9103', 'hex')), HessianDecodeError, 'flag 1 then a string cut short');
  assert.throws(
    () =>
      decodeResponseBody(
        responseBody((w) => {
          w.writeInt(5);
          w.writeString('x');
        }),
      ),
    /response attachments must be a map/,
  );
  assert.throws(() => decodeResponseBody(Buffer.alloc(0)), HessianDecodeError, 'empty body');
});

test('status != 20 bodies hold one string', () => {
  assert.equal(decodeErrorMessage(responseBody((w) => w.writeString('Not found exported service: x'))), 'Not found exported service: x');
  assert.equal(decodeErrorMessage(Buffer.from([0x4e])), '');
  assert.throws(() => decodeErrorMessage(Buffer.from([0x91])), /an error body must hold a string/);
});

test('reply budgets: more than MAX_REPLY_ATTACHMENTS attachments (input: 5 000 pairs) and a value budget (input: a list of 20 ints, maxValues 10) are coded errors', async () => {
  const { decodeResponseBody } = await import('../../src/codec/dubbo-body.js');
  const { HessianReader, HessianDecodeError } = await import('../../src/codec/hessian/reader.js');
  const { MAX_REPLY_ATTACHMENTS } = await import('../../src/codec/hessian/constants.js');
  const pairs: Buffer[] = [Buffer.from([0x94, 0x02, 0x6f, 0x6b, 0x48])]; // flag 4, "ok", map
  for (let i = 0; i < 5000; i++) {
    const k = i.toString(36);
    pairs.push(Buffer.from([k.length]), Buffer.from(k, 'latin1'), Buffer.from([0x01, 0x76]));
  }
  pairs.push(Buffer.from([0x5a]));
  assert.throws(
    () => decodeResponseBody(Buffer.concat(pairs)),
    (e: unknown) =>
      e instanceof HessianDecodeError &&
      e.code === 'FERRY_UPSTREAM_PROTOCOL_ERROR' &&
      e.message.includes(`more than ${MAX_REPLY_ATTACHMENTS} attachments`),
  );
  const list = Buffer.concat([Buffer.from([0x58, 0xa4]), Buffer.alloc(20, 0x91)]); // untyped fixed list of 20 (X, int 20), each int 1
  assert.throws(
    () => new HessianReader(list, { maxValues: 10 }).read(),
    (e: unknown) => e instanceof HessianDecodeError && e.overBudget && /more than 10 values/.test(e.message),
  );
});

test('a result flag that is a list holding a long (input: bytes 0x79 0xd8, found by fuzzing) is a coded error, not a TypeError', async () => {
  const { decodeResponseBody } = await import('../../src/codec/dubbo-body.js');
  const { HessianDecodeError } = await import('../../src/codec/hessian/reader.js');
  assert.throws(
    () => decodeResponseBody(Buffer.from([0x79, 0xd8])),
    (e: unknown) => e instanceof HessianDecodeError && /unknown Dubbo result flag a list/.test(e.message),
  );
});

test('reply budgets as settings: 10 attachments (input) over maxAttachments 5, 100 characters over maxAttachmentChars 50, a list of 20 over maxValues 10; the defaults take all three', async () => {
  const { decodeResponseBody } = await import('../../src/codec/dubbo-body.js');
  const { HessianDecodeError } = await import('../../src/codec/hessian/reader.js');
  const { dubboReplyBudgets } = await import('../../src/codec/hessian/constants.js');
  const withAttachments = (n: number, value: string): Buffer => {
    const parts: Buffer[] = [Buffer.from([0x94, 0x02, 0x6f, 0x6b, 0x48])]; // flag 4, "ok", map
    for (let i = 0; i < n; i++) parts.push(Buffer.from([2, 0x6b, 0x30 + i]), Buffer.from([value.length]), Buffer.from(value, 'latin1'));
    return Buffer.concat([...parts, Buffer.from([0x5a])]);
  };
  const overBudget = (pattern: RegExp) => (e: unknown) => e instanceof HessianDecodeError && e.overBudget && pattern.test(e.message);
  assert.throws(() => decodeResponseBody(withAttachments(10, 'v'), dubboReplyBudgets({ maxAttachments: 5 })), overBudget(/more than 5 attachments/));
  assert.throws(
    () => decodeResponseBody(withAttachments(5, 'x'.repeat(18)), dubboReplyBudgets({ maxAttachmentChars: 50 })),
    overBudget(/longer than 50 characters/),
  );
  const list = Buffer.concat([Buffer.from([0x91, 0x58, 0xa4]), Buffer.alloc(20, 0x91)]); // flag 1, a list of 20 ints
  assert.throws(() => decodeResponseBody(list, dubboReplyBudgets({ maxValues: 10 })), overBudget(/more than 10 values/));
  assert.equal(Object.keys(decodeResponseBody(withAttachments(10, 'v')).attachments).length, 10);
  assert.equal(Object.keys(decodeResponseBody(withAttachments(5, 'x'.repeat(18))).attachments).length, 5);
  const decoded = decodeResponseBody(list);
  assert.ok(decoded.kind === 'value' && Array.isArray(decoded.value) && decoded.value.length === 20, 'the default budgets decode the list of 20');
});

test('reply budgets refuse what is not a positive integer (inputs: 0, -1, 1.5, NaN), naming the budget', async () => {
  const { dubboReplyBudgets, DEFAULT_DUBBO_REPLY_BUDGETS } = await import('../../src/codec/hessian/constants.js');
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => dubboReplyBudgets({ maxValues: bad }), /Dubbo reply budget maxValues must be a positive integer/);
  }
  assert.deepEqual(dubboReplyBudgets(), DEFAULT_DUBBO_REPLY_BUDGETS);
});

test('hostile nesting (input: the hostile kit’s bodies: lists, maps, objects, an exception cause chain, 100 000 deep) is refused at depth 257, a coded error', async () => {
  const { decodeResponseBody } = await import('../../src/codec/dubbo-body.js');
  const { HessianDecodeError } = await import('../../src/codec/hessian/reader.js');
  const { hostileValueBody } = await import('../support/hostile-dubbo.js');
  for (const mode of ['deepList', 'deepMap', 'deepObject', 'deepException'] as const) {
    assert.throws(
      () => decodeResponseBody(hostileValueBody(mode)),
      (e: unknown) => e instanceof HessianDecodeError && e.code === 'FERRY_UPSTREAM_PROTOCOL_ERROR' && /nesting deeper than 256/.test(e.message),
      mode,
    );
    // At the budget itself the same shapes decode (the limit is the depth, not the shape).
    assert.doesNotThrow(() => decodeResponseBody(hostileValueBody(mode, 255)), mode);
  }
});

test('withRequestAttachment adds one attachment to a finished body (declared and generic), the same values otherwise; a later key wins', () => {
  const w = new HessianWriter();
  const declared = encodeRequestBody(
    w,
    { path: 'com.example.Pay', method: 'pay', descriptor: 'Ljava/lang/String;', attachments: { token: 'route-token', a: 'b' }, timeoutMs: 900 },
    (wr) => wr.writeString('x'),
  );
  const before = decodeAll(declared);
  const after = decodeAll(withRequestAttachment(declared, 'token', 'provider-tok-1'));
  assert.equal(after.length, before.length, 'no value added to the body, only to its attachments');
  assert.deepEqual(after.slice(0, -1), before.slice(0, -1), 'head and arguments unchanged');
  // Java's HashMap keeps the last of a repeated key: the provider's token overrides the route's.
  const entries = [...(after.at(-1) as JavaMap)].filter(([k]) => k === 'token').map(([, v]) => v);
  assert.deepEqual(entries.at(-1), 'provider-tok-1');
  const generic = encodeGenericRequestBody(w, { path: 'p', method: 'm', descriptor: '', attachments: {} }, [], () => undefined);
  assert.equal(mapToObject(decodeAll(withRequestAttachment(generic, 'token', 't2')).at(-1))['token'], 't2');
  // Input: a buffer that does not end with a map end byte (Z) is refused, not corrupted.
  assert.throws(() => withRequestAttachment(Buffer.from('0568656c6c6f', 'hex'), 'token', 't'), RangeError);
});
