/**
 * HessianReader on hostile and unusual input: truncation, random bytes, deep nesting, bad references,
 * 4-byte UTF-8, and the variable-length lists (0x55 / 0x57) that hessian.js cannot read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeAll, HessianDecodeError, HessianReader, HessianWriter, LIST_TYPE, JavaObject } from '../../src/codec/hessian/index.js';

function sampleObject(): Buffer {
  const w = new HessianWriter();
  w.writeObjectBegin('com.x.Dto', ['id', 'name', 'tags', 'when', 'blob', 'm']);
  w.writeLong(9223372036854775807n);
  w.writeString('中文 😀');
  w.writeListBegin(2, '[string');
  w.writeString('a');
  w.writeString('b'.repeat(40));
  w.writeDate(1625097599123);
  w.writeBytes(Buffer.alloc(20, 1));
  w.writeMapBegin(null);
  w.writeInt(300000);
  w.writeDouble(1.5);
  w.writeMapEnd();
  return w.finish();
}

test('every strict prefix of a single encoded object fails with HessianDecodeError (input: truncated POJO bytes)', () => {
  const full = sampleObject();
  assert.ok(new HessianReader(full).read() instanceof JavaObject);
  for (let n = 0; n < full.length; n++) {
    assert.throws(() => new HessianReader(full.subarray(0, n)).read(), HessianDecodeError, `prefix of ${n} bytes`);
  }
});

test('random bytes never throw anything but HessianDecodeError, and always finish (input: fast-check byte arrays)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        decodeAll(Buffer.from(bytes));
      } catch (e) {
        if (!(e instanceof HessianDecodeError)) throw e;
      }
    }),
    { numRuns: 3000 },
  );
});

test('nesting deeper than the limit is refused (input: 300 nested one-item lists)', () => {
  const bytes = Buffer.concat([Buffer.alloc(300, 0x79), Buffer.from([0x4e])]);
  assert.throws(
    () => decodeAll(bytes),
    (e: unknown) => e instanceof HessianDecodeError && /nesting deeper than 256/.test(e.message),
  );
  assert.doesNotThrow(() => decodeAll(bytes, { maxDepth: 400 }));
});

test('bad references, unknown codes, 4-byte UTF-8 and huge claimed lengths are decode errors', () => {
  const cases: Array<[string, RegExp]> = [
    ['5191', /reference 1 points to nothing/], // Q 1 with no objects
    ['6091', /class definition 0, which was never defined/],
    ['40', /unexpected byte 0x40/],
    ['01f09f9880', /bad UTF-8 byte 0xf0/], // "😀" as standard 4-byte UTF-8
    ['58d7ffff', /claims 262143 items/],
    ['7191', /type reference 1 points to nothing/],
    ['48', /a map has no end marker/],
  ];
  for (const [hex, re] of cases) {
    assert.throws(
      () => decodeAll(Buffer.from(hex, 'hex')),
      (e: unknown) => e instanceof HessianDecodeError && re.test(e.message),
      `input ${hex}`,
    );
  }
});

test('variable-length lists 0x55 (typed) and 0x57 (untyped), as Java writes Iterators', () => {
  const typed = new HessianReader(Buffer.from('55045b696e7491925a', 'hex')).read() as unknown[] & { [LIST_TYPE]?: string };
  assert.deepEqual([...typed], [1, 2]);
  assert.equal(typed[LIST_TYPE], '[int');
  assert.deepEqual(decodeAll(Buffer.from('5791925a5791', 'hex').subarray(0, 4)), [[1, 2]]);
});

test('references register containers before their children (a list that contains itself)', () => {
  const v = new HessianReader(Buffer.from('79' + '5190', 'hex')).read() as unknown[];
  assert.equal(v[0], v);
});
