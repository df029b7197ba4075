/**
 * Ferry's proto3 JSON against the reference implementation (Python google.protobuf.json_format,
 * run by samples/grpc-python/json_oracle.py). For each corpus entry Python builds the binary
 * message; then both sides print it as JSON (compared semantically), and each side parses the
 * other's JSON back into a message that must equal the original (compared by Python). Ferry's
 * parse is checked on both of its paths: the general one and the compiled request encoder
 * (json-wire.ts) the routes use, which must give Python's message for every JSON it takes, also
 * for random messages in random spellings.
 *
 * Accepted differences (documented, not hidden): number formatting (Python prints `1e+300`/`0.0`,
 * JavaScript `1e+300`/`0`) is compared after JSON.parse; -0.0 is left out because JSON.stringify
 * cannot print it (Ferry sends 0).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadProtoRoot } from '../../src/upstream/grpc/proto-loader.js';
import { createProtoJson } from '../../src/codec/protojson/index.js';
import { FerryError } from '../../src/errors/index.js';
import { startJsonOracle, type JsonOracle } from '../support/grpc-peer.js';
import { randomBody } from '../support/protojson-random.js';

const IDL = path.resolve('idl');
const root = loadProtoRoot(
  [path.join(IDL, 'payments/v1/kitchen_sink.proto'), path.join(IDL, 'payments/v1/payments.proto'), path.join(IDL, 'bench/v1/orders.proto')],
  { includeDirs: [IDL] },
);
const pj = createProtoJson(root);
const KS = 'example.kitchen.v1.KitchenSink';
const src = { argument: 'body', jsonPath: '$' };

function ferryParse(typeName: string, text: string): Uint8Array {
  const type = root.lookupType(typeName);
  return pj.encode(type, pj.fromJson(type, pj.parseText(type, text, src), src));
}
/** The compiled request encoder's bytes (undefined where it leaves the body to the general path). */
function ferryCompiled(typeName: string, text: string): Uint8Array | undefined {
  return pj.bodyEncoder(root.lookupType(typeName))?.(Buffer.from(text, 'utf8'));
}
/** Both of Ferry's parses of `text` equal Python's message `py`; the compiled one must take `text`. */
async function assertParsesLikePython(oracle: JsonOracle, typeName: string, py: Uint8Array, text: string): Promise<void> {
  assert.ok(await oracle.equal(typeName, py, ferryParse(typeName, text)), `Ferry's general path parsed ${text} into another message than Python`);
  const compiled = ferryCompiled(typeName, text);
  assert.ok(compiled !== undefined, `the compiled encoder should take ${text}`);
  assert.ok(
    await oracle.equal(typeName, py, compiled),
    `the compiled encoder parsed ${text} into another message than Python: ${ferryPrint(typeName, compiled)}`,
  );
}
/** Ferry's JSON of Python's bytes: the compiled writer the routes use, which must print what the general path prints. */
function ferryPrint(typeName: string, bytes: Uint8Array, emitDefaults = false): string {
  const type = root.lookupType(typeName);
  const text = pj.writer(type, { emitDefaults })(bytes);
  assert.equal(text, JSON.stringify(pj.toJson(type, bytes, { emitDefaults })), `compiled writer and general path differ on ${typeName}`);
  return text;
}

const T = 'type.googleapis.com/';
/** Canonical-form corpus: each is valid proto3 JSON for the type. */
const CORPUS: Array<[string, string, object]> = [
  [
    'int extremes',
    KS,
    {
      i64: '-9223372036854775808',
      u64: '18446744073709551615',
      s64: '9223372036854775807',
      fx64: '18446744073709551615',
      sfx64: '-9223372036854775808',
      i32: -2147483648,
      u32: 4294967295,
      s32: 2147483647,
      fx32: 4294967295,
      sfx32: -2147483648,
    },
  ],
  ['int64 just past 2^53', KS, { i64: '9007199254740993', ids: ['9007199254740993', '-9007199254740993', '0', '1'] }],
  ['NaN and infinities', KS, { dbl: 'NaN', flt: 'Infinity', dbls: ['-Infinity', 'NaN', 1.5, 1e300, 5e-324, 0.1, 123456789.125] }],
  ['float32 shortest form', KS, { flt: 0.1 }],
  ['float32 tiny', KS, { flt: 1e-45 }],
  ['bytes', KS, { blob: 'AAECAwQF/w==', blobs: ['', 'AA==', '+/8='] }],
  ['enums', KS, { color: 'BLUE', colors: ['RED', 'GREEN', 'COLOR_UNSPECIFIED'] }],
  ['unknown enum number', KS, { color: 7 }],
  ['nested messages', KS, { nested: { id: 1, label: 'a', child: { id: 2, child: {} }, values: ['1', '-2'] }, children: [{}, { id: 3 }] }],
  [
    'maps of every key kind',
    KS,
    {
      counts: { a: '1', b: '-9223372036854775808' },
      byInt: { '-1': 'neg', '2147483647': 'max' },
      byBool: { true: { id: 1 }, false: {} },
      byLong: { '-9223372036854775808': 'RED', '5': 'COLOR_UNSPECIFIED' },
      byUlong: { '18446744073709551615': 'AQI=' },
      values: { n: null, s: 'x', l: [1, { a: true }] },
    },
  ],
  ['oneof string default', KS, { choiceText: '' }],
  ['oneof int64 zero', KS, { choiceNum: '0' }],
  ['oneof empty message', KS, { choiceMsg: {} }],
  ['oneof null value', KS, { choiceNull: null }],
  ['timestamp epoch', KS, { ts: '1970-01-01T00:00:00Z' }],
  ['timestamp min', KS, { ts: '0001-01-01T00:00:00Z' }],
  ['timestamp max nanos', KS, { ts: '9999-12-31T23:59:59.999999999Z' }],
  ['timestamp millis and micros', KS, { stamps: ['2024-02-29T12:00:00.100Z', '1969-12-31T23:59:59.000001Z', '2000-01-01T00:00:00.123456789Z'] }],
  ['duration zero', KS, { dur: '0s' }],
  ['duration negative fraction', KS, { dur: '-0.500s' }],
  ['duration max', KS, { dur: '315576000000.999999999s' }],
  ['duration micros', KS, { dur: '1.000001s' }],
  ['field mask', KS, { mask: 'a,b.cD,fooBar.baz' }],
  ['empty field mask', KS, { mask: '' }],
  ['struct', KS, { st: { a: 1, b: 'x', c: null, d: [true, [], {}], e: { f: -1.5 } } }],
  ['empty struct', KS, { st: {} }],
  ['value number', KS, { val: 1.5 }],
  ['value string', KS, { val: 's' }],
  ['value empty list', KS, { val: [] }],
  ['value nested', KS, { val: { k: [null, false] } }],
  ['value null', KS, { val: null }],
  ['list value', KS, { list: [1, 'a', null, { x: [] }] }],
  ['empty any', KS, { any: {} }],
  ['any of message', KS, { any: { '@type': T + 'example.kitchen.v1.Nested', id: 7, values: ['-9223372036854775808'] } }],
  ['any of timestamp', KS, { any: { '@type': T + 'google.protobuf.Timestamp', value: '2020-01-01T00:00:00Z' } }],
  ['any of any (nested)', KS, { any: { '@type': T + 'google.protobuf.Any', value: { '@type': T + 'google.protobuf.Int64Value', value: '-5' } } }],
  ['any of struct', KS, { any: { '@type': T + 'google.protobuf.Struct', value: { a: [1, 2] } } }],
  ['any of empty', KS, { any: { '@type': T + 'google.protobuf.Empty' } }],
  [
    'any of kitchen sink with any inside',
    KS,
    { anys: [{ '@type': T + KS, i64: '1', any: { '@type': T + 'google.protobuf.Duration', value: '2s' } }, {}] },
  ],
  ['wrappers with defaults', KS, { wDbl: 0, wFlt: 0, wI64: '0', wU64: '0', wI32: 0, wU32: 0, wBool: false, wStr: '', wBytes: '' }],
  [
    'wrappers with values',
    KS,
    { wDbl: 'NaN', wFlt: 1.5, wI64: '-1', wU64: '18446744073709551615', wI32: -7, wU32: 7, wBool: true, wStr: 'x', wBytes: 'AQ==' },
  ],
  ['empty message field', KS, { empty: {} }],
  ['json_name', KS, { customName: 'x' }],
  ['proto3 optional zero', KS, { optI32: 0 }],
  ['unicode strings', KS, { text: 'h\u00e9llo \u2028 \ud83d\ude00 "q" \\ \u0000 </script>', tags: ['', 'a'] }],
  ['everything default', KS, {}],
  [
    'payment',
    'example.payments.v1.Payment',
    {
      name: 'accounts/1/payments/2',
      amount: { currencyCode: 'EUR', units: '9007199254740993', nanos: 500000000 },
      state: 'SETTLED',
      createTime: '2024-05-06T07:08:09.123Z',
      labels: { k: 'v' },
      note: 'memo via json_name',
      sequence: '18446744073709551615',
      reference: 'r',
    },
  ],
];

/** Non-canonical inputs that both sides must accept, producing the same message. */
const ACCEPTED: Array<[string, string]> = [
  ['int64 as a JSON number past 2^53', '{"i64": 9007199254740993, "u64": 18446744073709551615, "ids": [-9223372036854775808]}'],
  ['integers written with exponent / fraction zero', '{"i32": 1e3, "i64": 1.0e2, "u32": 5.0}'],
  ['integers as strings', '{"i32": "-12", "u32": "4294967295", "sfx32": "7"}'],
  ['enum by number', '{"color": 2, "colors": [1, "BLUE"]}'],
  ['URL-safe base64 without padding', '{"blob": "_-8", "blobs": ["AQID", "AQI"]}'],
  ['original proto names', '{"renamed": "y", "by_int": {"5": "x"}, "w_i64": "3", "choice_num": "4", "opt_i32": 1}'],
  ['numbers as strings for doubles', '{"dbl": "1.5", "flt": "-2.25"}'],
  ['timestamp with offset', '{"ts": "2024-01-01T01:00:00+01:00", "stamps": ["2024-01-01T00:00:00.5-02:30"]}'],
  ['duration without fixed digits', '{"dur": "1.5s", "w_dbl": 1}'],
  ['null means unset', '{"nested": null, "text": null, "ids": null, "counts": null, "any": null, "ts": null}'],
  ['map key forms', '{"byLong": {"-1": 1}, "byBool": {"false": {"id": 2}}}'],
  [
    'surrogate pairs (an emoji) escaped and raw, in a string, a map key and a Struct',
    '{"text": "\\ud83d\\ude00", "counts": {"😀": 1}, "st": {"\\ud83d\\ude00": "😀"}}',
  ],
];

/** Inputs both sides must reject, with the JSON path Ferry must name. */
const REJECTED: Array<[string, string, string]> = [
  ['unknown enum name', '{"color": "PURPLE"}', '$.color'],
  // A protobuf string is UTF-8: JSON's lone surrogate escapes have no UTF-8 form.
  ['a lone high surrogate in a string', '{"text": "a\\ud800"}', '$.text'],
  ['a lone low surrogate in a map key', '{"counts": {"\\udc00": 1}}', '$.counts["\\udc00"]'],
  ['a lone surrogate in a Struct value', '{"st": {"k": "\\ud83d"}}', '$.st.k'],
  ['a lone surrogate in a Struct key', '{"st": {"\\ud83d": 1}}', '$.st'],
  ['two members of a oneof', '{"choiceText": "a", "choiceNum": "1"}', '$.choiceNum'],
  ['int32 overflow', '{"i32": 2147483648}', '$.i32'],
  ['negative uint32', '{"u32": -1}', '$.u32'],
  ['int64 overflow', '{"i64": "9223372036854775808"}', '$.i64'],
  ['negative uint64', '{"u64": "-1"}', '$.u64'],
  ['fraction for an integer', '{"i32": 1.5}', '$.i32'],
  ['float out of range', '{"flt": 1e39}', '$.flt'],
  ['string for a nested int', '{"nested": {"id": "abc"}}', '$.nested.id'],
  ['unknown field', '{"unknownField": 1}', '$.unknownField'],
  ['month 13', '{"ts": "2024-13-01T00:00:00Z"}', '$.ts'],
  ['timestamp without T and zone', '{"ts": "2024-01-01 00:00:00"}', '$.ts'],
  ['duration without s', '{"dur": "1.5"}', '$.dur'],
  ['Any of an unknown type', '{"any": {"@type": "type.googleapis.com/no.such.Type"}}', '$.any.@type'],
  ['bad bool map key', '{"byBool": {"yes": {}}}', '$.byBool["yes"]'],
  ['bad int map key', '{"byInt": {"x": "a"}}', '$.byInt["x"]'],
  ['quoted bool', '{"flag": "true"}', '$.flag'],
  ['number for a string', '{"text": 5}', '$.text'],
  ['null inside a repeated field', '{"ids": [null]}', '$.ids[0]'],
];

/**
 * Inputs Ferry rejects although Python's json_format lets them through (Python drops characters
 * outside the base64 alphabet, and iterates an array as if it were an object's keys). Ferry is
 * stricter on purpose: such input is a client mistake, not data.
 */
const STRICTER_THAN_PYTHON: Array<[string, string, string]> = [
  ['invalid base64', '{"blob": "!!!"}', '$.blob'],
  ['array for a message', '{"nested": []}', '$.nested'],
];

describe('proto3 JSON conformance against Python json_format', { timeout: 60_000 }, () => {
  let oracle: JsonOracle;
  before(async () => {
    oracle = await startJsonOracle();
  });
  after(async () => {
    await oracle?.stop();
  });

  for (const [name, type, value] of CORPUS) {
    it(`round-trips: ${name}`, async () => {
      const bin = await oracle.parse(type, JSON.stringify(value));
      for (const emitDefaults of [false, true]) {
        const pyJson = await oracle.print(type, bin, emitDefaults);
        const ferryJson = ferryPrint(type, bin, emitDefaults);
        assert.deepStrictEqual(
          JSON.parse(ferryJson),
          JSON.parse(pyJson),
          `printed JSON differs (emitDefaults=${emitDefaults})\nferry:  ${ferryJson}\npython: ${pyJson}`,
        );
        // int64 digits must survive exactly: compare the raw text of every quoted integer too.
        await assertParsesLikePython(oracle, type, bin, pyJson);
        const pyFromFerry = await oracle.parse(type, ferryJson);
        assert.ok(await oracle.equal(type, bin, pyFromFerry), `Python parsed Ferry's JSON into a different message: ${ferryJson}`);
      }
    });
  }

  for (const [name, text] of ACCEPTED) {
    it(`accepts like Python: ${name}`, async () => {
      const py = await oracle.parse(KS, text);
      const ferry = ferryParse(KS, text);
      assert.ok(await oracle.equal(KS, py, ferry), `messages differ for ${text}: ferry printed ${ferryPrint(KS, ferry)}`);
      const compiled = ferryCompiled(KS, text);
      if (compiled !== undefined) assert.ok(await oracle.equal(KS, py, compiled), `the compiled encoder's message differs for ${text}`);
    });
  }

  for (const [name, text, jsonPath] of REJECTED) {
    it(`rejects like Python: ${name} (input ${text})`, async () => {
      await assert.rejects(oracle.parse(KS, text), `Python accepted ${text}`);
      assert.throws(
        () => ferryParse(KS, text),
        (err: unknown) => {
          assert.ok(err instanceof FerryError, `not a FerryError: ${String(err)}`);
          assert.equal(err.status, 400);
          assert.equal(err.code, 'FERRY_BAD_ARGUMENT');
          assert.equal(err.details.jsonPath, jsonPath);
          return true;
        },
      );
    });
  }

  for (const [name, text, jsonPath] of STRICTER_THAN_PYTHON) {
    it(`rejects although Python accepts: ${name} (input ${text})`, async () => {
      await oracle.parse(KS, text); // documents that Python accepts it
      assert.throws(
        () => ferryParse(KS, text),
        (err: unknown) => err instanceof FerryError && err.details.jsonPath === jsonPath,
      );
    });
  }

  it("random KitchenSink messages and bench Orders in random JSON spellings: the compiled encoder gives Python's message", async () => {
    let compared = 0;
    for (let seed = 1; compared < 150 && seed < 1000; seed++) {
      const typeName = seed % 3 === 0 ? 'ferry.bench.v1.Order' : KS;
      // no explicit nulls: Python refuses a null for a second oneof member, which Ferry takes as "not set"
      const b = randomBody(root, pj, root.lookupType(typeName), seed, { nulls: false });
      if (b === undefined) continue;
      const compiled = ferryCompiled(typeName, b.text);
      if (compiled === undefined) continue; // left to the general path (checked in the corpus above)
      let py: Uint8Array;
      try {
        py = await oracle.parse(typeName, b.text);
      } catch (err) {
        // Python refuses float32 max written as 3.4028235e38, its own printed form (see the test below)
        if (/Float value too large/.test(String(err))) continue;
        assert.fail(`Python refused a body Ferry's compiled encoder took (seed ${seed}): ${b.text}: ${String(err)}`);
      }
      // Where Ferry's general path itself differs from Python (it trims FieldMask paths: "  ,a" → ",a"),
      // the compiled encoder must give the general path's message; everywhere else, Python's.
      const generalBytes = ferryParse(typeName, b.text);
      assert.ok(await oracle.equal(typeName, generalBytes, compiled), `seed ${seed}: the compiled encoder and the general path differ for ${b.text}`);
      if (!(await oracle.equal(typeName, py, generalBytes))) continue;
      assert.ok(await oracle.equal(typeName, py, compiled), `seed ${seed}: the compiled encoder's message differs from Python's for ${b.text}`);
      compared++;
    }
    assert.ok(compared >= 100, `compared ${compared} random bodies with Python`);
  });

  it('prints float32 max like Python and reads it back (Python itself refuses to re-read its own output)', async () => {
    const bin = await oracle.parse(KS, '{"flt": 3.4028234663852886e38}');
    const py = await oracle.print(KS, bin);
    const ferry = ferryPrint(KS, bin);
    assert.deepStrictEqual(JSON.parse(ferry), JSON.parse(py));
    assert.ok(await oracle.equal(KS, bin, ferryParse(KS, py)));
    await assert.rejects(oracle.parse(KS, py), /too large/);
  });

  it('rejects malformed JSON text with FERRY_BAD_JSON (input {"i64": )', () => {
    assert.throws(
      () => ferryParse(KS, '{"i64": '),
      (err: unknown) => err instanceof FerryError && err.code === 'FERRY_BAD_JSON' && err.status === 400,
    );
  });

  it('keeps int64 digits exact through a lossless parse (input i64 = 2^63-1 as a bare number)', () => {
    const bin = ferryParse(KS, '{"i64": 9223372036854775807}');
    assert.equal(ferryPrint(KS, bin), '{"i64":"9223372036854775807"}');
  });
});
