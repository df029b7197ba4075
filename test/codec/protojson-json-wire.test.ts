/**
 * The compiled request encoder (src/codec/protojson/json-wire.ts) against the general path it stands
 * in front of (jsonBodyText → lossless or JSON.parse → fromJson → draft encoder): for random messages
 * of every sample-proto type and of KitchenSink, written as JSON in random spellings (proto or JSON
 * field names, enum numbers, integers as strings or bare numbers with every int64 digit, base64url
 * without padding, escapes, whitespace, explicit nulls, shuffled keys), the compiled bytes decode to
 * the same message (the same canonical JSON through the reply writer), and are the same bytes when the
 * keys come in declaration order. Broken and hostile bodies: the compiled encoder either gives up (the
 * general path then answers, so the error is the general path's by construction, checked through
 * compileRequestMapping) or gives exactly the general path's message.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Type } from 'protobufjs';
import { createProtoJson } from '../../src/codec/protojson/index.js';
import { isFerryError } from '../../src/errors/index.js';
import type { GatewayRequest } from '../../src/exchange/index.js';
import { compileRequestMapping } from '../../src/mapping/grpc/request.js';
import { jsonBodyText } from '../../src/mapping/request-view.js';
import { allTypes, randomBody, speller, loadSampleProtos } from '../support/protojson-random.js';

const root = loadSampleProtos();
const pj = createProtoJson(root);
const KS = root.lookupType('example.kitchen.v1.KitchenSink');
const SOURCE = { argument: 'body', jsonPath: '$' };

type Outcome = { bytes: Uint8Array } | { error: { code: string; message: string; argument: unknown; jsonPath: unknown } };

/** The general path of a `body: "*"` request, as compileRequestMapping runs it. */
function general(type: Type, body: Buffer): Outcome {
  try {
    const text = jsonBodyText(body);
    if (text.trim() === '') return { bytes: new Uint8Array(0) };
    return { bytes: pj.encode(type, pj.fromJson(type, pj.parseText(type, text, SOURCE), SOURCE)) };
  } catch (err) {
    if (!isFerryError(err)) throw err;
    return { error: { code: err.code, message: err.message, argument: err.details?.['argument'], jsonPath: err.details?.['jsonPath'] } };
  }
}

/** The message as canonical JSON text (the reply writer reads any field order the same way). */
function canonical(type: Type, bytes: Uint8Array): string {
  return pj.writer(type, { emitDefaults: true })(bytes);
}

/** JSON.stringify escapes only lone surrogates, which the compiled encoder leaves to the general path. */
const LONE_SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/**
 * Checks one body: when the compiled encoder answers, the general path must accept the body and mean
 * the same message (the same bytes if `canonicalOrder`). Returns whether the compiled encoder answered.
 */
function check(type: Type, text: string, canonicalOrder: boolean, what: string): boolean {
  const body = Buffer.from(text, 'utf8');
  const compiled = pj.bodyEncoder(type)!(body);
  const before = general(type, body);
  if (compiled === undefined) return false;
  assert.ok('bytes' in before, `${what}: the compiled encoder took a body the general path refuses (${JSON.stringify(before)}): ${text}`);
  assert.equal(canonical(type, compiled), canonical(type, before.bytes), `${what}: the compiled bytes mean another message: ${text}`);
  if (canonicalOrder) {
    assert.equal(
      Buffer.from(compiled).toString('hex'),
      Buffer.from(before.bytes).toString('hex'),
      `${what}: other bytes for keys in declaration order: ${text}`,
    );
  }
  return true;
}

describe('compiled request encoder = the general path (JSON → draft → bytes)', () => {
  it('on random KitchenSink messages (every kind) in random spellings', () => {
    let answered = 0;
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const b = randomBody(root, pj, KS, seed);
        if (b === undefined) return;
        const took = check(KS, b.text, !b.shuffled, `seed ${seed}`);
        if (took) answered++;
        else {
          const g = general(KS, Buffer.from(b.text));
          assert.ok(!('bytes' in g) || LONE_SURROGATE_ESCAPE.test(b.text), `seed ${seed}: the compiled encoder gave up on a valid body: ${b.text}`);
        }
      }),
      { numRuns: 1200 },
    );
    assert.ok(answered > 600, `the compiled encoder should answer most random bodies, answered ${answered}`);
  });

  it('on random messages of every type of the sample protos (bench Order, greeter, payments, peer, google.*)', () => {
    const types = allTypes(root).filter((t) => pj.bodyEncoder(t) !== undefined);
    assert.ok(types.length > 30, `expected the sample protos to declare many types, got ${types.length}`);
    fc.assert(
      fc.property(fc.integer(), fc.nat(types.length - 1), (seed, k) => {
        const type = types[k]!;
        const b = randomBody(root, pj, type, seed);
        if (b === undefined) return;
        if (!check(type, b.text, !b.shuffled, `seed ${seed} ${type.fullName}`)) {
          const g = general(type, Buffer.from(b.text));
          assert.ok(!('bytes' in g) || LONE_SURROGATE_ESCAPE.test(b.text), `seed ${seed}: gave up on a valid ${type.fullName}: ${b.text}`);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('well-known types with their own JSON are left to the general path (no compiled encoder)', () => {
    for (const name of ['google.protobuf.Struct', 'google.protobuf.Any', 'google.protobuf.Timestamp', 'google.protobuf.Int64Value']) {
      assert.equal(pj.bodyEncoder(root.lookupType(name)), undefined, `${name} as the whole body goes through the general path`);
    }
  });

  it('exact 64-bit digits from bare numbers and strings, NaN/Infinity, base64url, enum numbers, escapes, nulls', () => {
    const bodies = [
      '{"i64": 9223372036854775807, "u64": "18446744073709551615", "fx64": 18446744073709551615, "sfx64": -9223372036854775808, "s64": -9007199254740993}',
      '{"i64": "-1", "u64": 9007199254740993, "counts": {"a": "12345678901234567", "b": -3}}',
      '{"dbl": "NaN", "flt": "-Infinity", "dbls": ["Infinity", 1e308, "-0", -0, 5e-324]}',
      '{"blob": "-_8", "blobs": ["AQID+g==", "AQID-g", "", "_w"]}',
      '{"color": 2, "colors": ["RED", 1, 99, -5], "choice_null": null, "null_enum": "NULL_VALUE"}',
      '{"text": "\\ud83d\\ude00", "tags": ["\\uD83D\\uDE00x"]}',
      '{"text": "caf\\u00e9 \\"q\\" \\\\ \\/ \\n", "renamed": "x", "opt_i32": 0, "w_i32": 0, "w_str": "", "w_dbl": -0}',
      '{"ts": "1970-01-01T00:00:00Z", "dur": "-0.000000001s", "stamps": ["2024-02-29T23:59:59.999999999+14:00"], "mask": "a.bC,d"}',
      '{"i32": 1e2, "u32": "4294967295", "s32": -2147483648, "fx32": 4294967295.0, "sfx32": "-2147483648"}',
      '{"by_int": {"-5": "x", "2147483647": ""}, "by_bool": {"true": {}, "false": {"id": 1}}, "by_long": {"-9223372036854775808": "BLUE"}, "by_ulong": {"18446744073709551615": "AA=="}}',
      '{"val": null, "values": {"k": null, "n": 1.5}, "st": {"a": [1, {"b": null}]}, "list": [true, "x"], "any": {"@type": "type.googleapis.com/example.kitchen.v1.Nested", "id": 3}}',
      '{"nested": {"child": {"child": {"values": ["1", 2, "-3"]}}}, "children": [{}, {"id": -1}], "choice_msg": {}}',
      '  \n ',
      '{}',
    ];
    for (const text of bodies) assert.ok(check(KS, text, false, 'fixed body'), `the compiled encoder should take ${text}`);
  });

  it('a default value is left out as the general path leaves it out, and written where the field has presence', () => {
    const bytes = (text: string) => pj.bodyEncoder(KS)!(Buffer.from(text));
    assert.equal(
      bytes('{"i32": 0, "text": "", "flag": false, "blob": "", "color": "COLOR_UNSPECIFIED", "dbl": 0}')!.length,
      0,
      'proto3 defaults are not sent',
    );
    assert.ok(bytes('{"opt_i32": 0}')!.length > 0, 'a proto3 optional field set to 0 is sent');
    assert.ok(bytes('{"choice_text": ""}')!.length > 0, 'a oneof member set to its default is sent');
    assert.ok(bytes('{"dbl": -0}')!.length > 0, '-0 is not the default of a double');
  });
});

// ---------------------------------------------------------------- broken and hostile bodies

describe('bodies the general path refuses: the compiled encoder never takes them, the error is the general path’s', () => {
  const mapping = compileRequestMapping(pj, { input: KS, body: '*', pathFields: [] });
  const generalMapping = compileRequestMapping(pj, { input: KS, body: '*', pathFields: [], compiled: false });
  const request = (body: Buffer): GatewayRequest => ({ method: 'POST', path: '/', rawQuery: '', headers: {}, body });
  const outcome = (m: typeof mapping, body: Buffer): unknown => {
    try {
      return { bytes: canonical(KS, m.build(request(body), {})) };
    } catch (err) {
      assert.ok(isFerryError(err), `a coded FerryError, not ${String(err)}`);
      return { code: err.code, message: err.message, details: err.details, status: err.status };
    }
  };

  function mutate(text: string, seed: number): string {
    const s = speller(seed);
    const at = s.int(text.length + 1);
    switch (s.int(8)) {
      case 0:
        return text.slice(0, at) + text.slice(at + 1); // a character dropped
      case 1:
        return (
          text.slice(0, at) +
          s.pick(['{', '}', '[', ']', '"', ',', ':', '0', '-', 'x', '\\', ' ', 'null', '01', '1e', '\u0001', '\u00e9']) +
          text.slice(at)
        );
      case 2: {
        // a key given twice (other spelling, or the same)
        const m =
          /"([a-z0-9_]+)"\s*:\s*("[^"]*"|-?[0-9.e+]+|true|false|null)/i.exec(text.slice(at)) ??
          /"([a-z0-9_]+)"\s*:\s*("[^"]*"|-?[0-9.e+]+|true|false|null)/i.exec(text);
        if (m === null) return text + ',';
        return text.replace(/^\{/, `{"${m[1]}": ${m[2]}, `);
      }
      case 3:
        return text.replace(
          /^\{/,
          `{"${s.pick(['nope', 'I32', 'i_32', '__proto__', 'constructor', 'choiceText'])}": ${s.pick(['1', '"x"', 'null', '{}', '[]'])}, `,
        );
      case 4:
        return text.replace(
          /:\s*("[^"]*"|-?[0-9.e+]+|true|false)/,
          `: ${s.pick(['"x"', '1.5', '-1', '99999999999999999999999', 'true', '[]', '{}', '"1e2"', '" 1"', '"2024-13-01T00:00:00Z"', '"toString"', '"==="'])}`,
        );
      case 5:
        return text + s.pick(['x', ' {}', ',', '\u00a0']);
      case 6:
        return Buffer.from(text).toString('latin1'); // non-ASCII re-encoded: other bytes, maybe invalid
      default:
        return '\ufeff' + text;
    }
  }

  it('random mutations of valid bodies: the same answer or the same error as the general path', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer(), (seed, mseed) => {
        const b = randomBody(root, pj, KS, seed);
        if (b === undefined) return;
        const text = mutate(b.text, mseed);
        const body = Buffer.from(text, 'utf8');
        check(KS, text, false, `seed ${seed}/${mseed}`);
        assert.deepEqual(outcome(mapping, body), outcome(generalMapping, body), `seed ${seed}/${mseed}: ${text}`);
      }),
      { numRuns: 1500 },
    );
  });

  it('invalid UTF-8, nesting past the limit and at it, an empty body and junk: the general path’s answers', () => {
    const deep = (n: number) => `{"list": ${'['.repeat(n - 1)}${']'.repeat(n - 1)}}`;
    const nestedMsgs = (n: number) => '{"nested": '.repeat(1) + '{"child": '.repeat(n - 2) + '{}' + '}'.repeat(n - 2) + '}';
    const bodies: Buffer[] = [
      Buffer.from([0x7b, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]), // {"text":"\xc3(" }
      Buffer.from(deep(256)),
      Buffer.from(deep(257)),
      Buffer.from(nestedMsgs(256)),
      Buffer.from(nestedMsgs(257)),
      Buffer.from(''),
      Buffer.from('null'),
      Buffer.from('[]'),
      Buffer.from('"x"'),
      Buffer.from('{"text": "\\ud800"}'),
      Buffer.from('{"text": "\\ud83d\\ude00"}'),
      Buffer.from('{"choice_text": "a", "choice_num": 1}'),
      Buffer.from('{"choice_text": "a", "choiceText": null}'),
      Buffer.from('{"i32": 0, "i32": 1}'),
      Buffer.from('{"counts": {"a": 1, "a": 2}}'),
      Buffer.from('{"ids": [1, null]}'),
      Buffer.from('{"counts": {"a": null}}'),
    ];
    for (const body of bodies) {
      assert.deepEqual(outcome(mapping, body), outcome(generalMapping, body), `body ${body.toString('latin1').slice(0, 80)}`);
    }
    const tooDeep = outcome(mapping, Buffer.from(deep(257))) as { code: string };
    assert.equal(tooDeep.code, 'FERRY_BAD_JSON', 'nesting past MAX_JSON_NESTING is refused as the general path refuses it');
  });

  it('random bytes: an answer or a coded error, the same as the general path', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
        const body = Buffer.concat([Buffer.from('{"text":"'), Buffer.from(bytes)]);
        assert.deepEqual(outcome(mapping, body), outcome(generalMapping, body), `bytes ${body.toString('hex')}`);
      }),
      { numRuns: 2000 },
    );
  });
});

// ---------------------------------------------------------------- routes: body "field", path variables

describe('request mappings with the compiled encoder = without it', () => {
  const Create = root.lookupType('ferry.bench.v1.CreateOrderRequest');
  const Order = root.lookupType('ferry.bench.v1.Order');
  const specs = [
    { input: Create, body: 'order', pathFields: ['parent'] },
    { input: Create, body: '*', pathFields: ['parent'] },
    { input: Create, body: '*', pathFields: ['order.name', 'parent'] },
    { input: KS, body: '*', pathFields: ['text', 'i64', 'nested.id', 'color'] },
    { input: root.lookupType('ferry.bench.v1.GetOrderRequest'), pathFields: ['name'] },
  ];

  it('random bodies, path values and queries give the same message or the same error', () => {
    const mappings = specs.map((spec) => [compileRequestMapping(pj, spec), compileRequestMapping(pj, { ...spec, compiled: false })] as const);
    fc.assert(
      fc.property(fc.integer(), fc.nat(specs.length - 1), fc.constantFrom('', 'revision=3', 'x=1'), (seed, k, rawQuery) => {
        const spec = specs[k]!;
        const [fast, slow] = mappings[k]!;
        const bodyType = spec.body === 'order' ? Order : spec.input;
        const b = randomBody(root, pj, bodyType, seed);
        const s = speller(seed);
        const params: Record<string, string> = {};
        for (const f of spec.pathFields) params[f] = s.pick(['shops/s1', '', 'é/ü', '12', '-3', 'COLOR_RED', 'x'.repeat(200)]);
        const req: GatewayRequest = {
          method: 'POST',
          path: '/',
          rawQuery,
          headers: {},
          body: spec.body === undefined || b === undefined ? undefined : Buffer.from(b.text),
        };
        const run = (m: typeof fast): unknown => {
          try {
            return { message: pj.writer(spec.input, { emitDefaults: true })(m.build(req, params)) };
          } catch (err) {
            assert.ok(isFerryError(err), `a coded FerryError, not ${String(err)}`);
            return { code: err.code, message: err.message, details: err.details };
          }
        };
        assert.deepEqual(
          run(fast),
          run(slow),
          `seed ${seed}, ${spec.input.name} body ${spec.body}, params ${JSON.stringify(params)}, query ${rawQuery}`,
        );
      }),
      { numRuns: 1500 },
    );
  });

  it('the bench\'s POST: body "order" with the parent from the path gives the general path\'s bytes', () => {
    const spec = { input: Create, body: 'order', pathFields: ['parent'] };
    const text = JSON.stringify({ name: 'shops/s1/orders/o1', items: [{ sku: 'a', quantity: '9007199254740993' }], labels: { region: 'eu' } });
    const req: GatewayRequest = { method: 'POST', path: '/', rawQuery: '', headers: {}, body: Buffer.from(text) };
    const a = compileRequestMapping(pj, spec).build(req, { parent: 'shops/s1' });
    const b = compileRequestMapping(pj, { ...spec, compiled: false }).build(req, { parent: 'shops/s1' });
    assert.equal(canonical(Create, a), canonical(Create, b), 'the same CreateOrderRequest');
    assert.match(canonical(Create, a), /"quantity":"9007199254740993"/, 'every int64 digit kept');
  });
});
