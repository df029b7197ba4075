/**
 * The one JSON nesting limit (MAX_JSON_NESTING) on the gRPC/Triple reply side: a reply nested
 * deeper than the limit, in messages or in google.protobuf.Struct / ListValue, becomes a coded
 * FERRY_UPSTREAM_PROTOCOL_ERROR, not a stack overflow; exactly the limit passes. Replies are
 * hand-built protobuf bytes (encoded by protobufjs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { createProtoJson } from '../../src/codec/protojson/index.js';
import { MAX_JSON_NESTING } from '../../src/exchange/index.js';
import { isFerryError } from '../../src/errors/index.js';

// The bundled google/protobuf/struct.proto first (protobuf.parse does not load imports).
const root = protobuf.Root.fromJSON(protobuf.common.get('google/protobuf/struct.proto')!);
protobuf.parse('syntax = "proto3"; package t; message Node { Node child = 1; repeated Node kids = 2; google.protobuf.Value v = 3; }', root);
root.resolveAll();
const Node = root.lookupType('t.Node');
const Value = root.lookupType('google.protobuf.Value');
const json = createProtoJson(root);

/** Field 1 (length-delimited) holding `inner`. */
function wrap(inner: Uint8Array): Uint8Array {
  const w = protobuf.Writer.create();
  w.uint32(0x0a).bytes(inner);
  return w.finish();
}

/** A Node chain `levels` deep (each Node is one JSON object), built as bytes: protobufjs' fromObject refuses depth too. */
function chain(levels: number): Uint8Array {
  let bytes: Uint8Array = new Uint8Array(0);
  for (let i = 1; i < levels; i++) bytes = wrap(bytes);
  return bytes;
}

/** A Value holding lists nested `levels` deep ([[[...]]]): Value.list_value = 6, ListValue.values = 1. */
function lists(levels: number): Uint8Array {
  let value = protobuf.Writer.create().uint32(0x32).bytes(new Uint8Array(0)).finish();
  for (let i = 1; i < levels; i++) {
    const list = wrap(value);
    value = protobuf.Writer.create().uint32(0x32).bytes(list).finish();
  }
  return value;
}

/** Runs `f` with protobufjs' decode recursion limit raised, so that Ferry's own limit is what refuses. */
function withDeepDecoding<T>(f: () => T): T {
  const before = protobuf.Reader.recursionLimit;
  protobuf.Reader.recursionLimit = 100_000;
  try {
    return f();
  } finally {
    protobuf.Reader.recursionLimit = before;
  }
}

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    assert.ok(isFerryError(err), `not coded: ${String(err)}`);
    assert.equal(err.code, 'FERRY_UPSTREAM_PROTOCOL_ERROR');
    return err.message;
  }
  assert.fail('no error');
}

/** Both reply paths: the general one (decode + walk) and the compiled writer the routes use. */
const PATHS: Array<[string, (type: protobuf.Type, bytes: Uint8Array) => unknown]> = [
  ['general path', (type, bytes) => json.toJson(type, bytes)],
  ['compiled writer', (type, bytes) => json.writer(type)(bytes)],
];

for (const [name, toJson] of PATHS) {
  test(`${name}: messages nested ${MAX_JSON_NESTING} deep convert; ${MAX_JSON_NESTING + 1} (input: a Node chain) is a coded protocol error`, () => {
    withDeepDecoding(() => {
      assert.ok(toJson(Node, chain(MAX_JSON_NESTING)), 'the limit itself converts');
      assert.match(
        refusal(() => toJson(Node, chain(MAX_JSON_NESTING + 1))),
        /deeper than 256/,
      );
    });
  });

  test(`${name}: ListValue nested past the limit (input: 300 nested lists in a google.protobuf.Value) is a coded protocol error`, () => {
    withDeepDecoding(() => {
      assert.match(
        refusal(() => toJson(Value, lists(300))),
        /deeper than 256/,
      );
    });
  });

  test(`${name}: with protobufjs defaults, a very deep reply (input: 5 000 nested messages) is refused as a coded protocol error, not a bare Error`, () => {
    assert.match(
      refusal(() => toJson(Node, chain(5000))),
      /not a valid t\.Node: maximum nesting depth exceeded/,
    );
  });
}

test(`compiled writer: lists nested exactly ${MAX_JSON_NESTING} deep (input: a Value of nested ListValues) convert as the general path does`, () => {
  withDeepDecoding(() => {
    const bytes = lists(MAX_JSON_NESTING);
    assert.equal(json.writer(Value)(bytes), JSON.stringify(json.toJson(Value, bytes)));
  });
});
