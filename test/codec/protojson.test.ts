/** Pure pieces of the proto3 JSON codec (the whole mapping is checked against Python in test/e2e/grpc-json-conformance.test.ts). */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { protoJsonName } from '../../src/codec/protojson/index.js';

it('json names follow protoc (underscore removed, next letter upper-cased)', () => {
  assert.equal(protoJsonName('currency_code'), 'currencyCode');
  assert.equal(protoJsonName('a_b_c'), 'aBC');
  assert.equal(protoJsonName('field_1_x'), 'field1X');
  assert.equal(protoJsonName('already'), 'already');
});
