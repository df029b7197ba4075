import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createExtProcCodec, loadExtProcService } from '../../../src/frontends/ext-proc/protocol.js';
import { continueHeaders, modeOverride, passOnChunk, toImmediateResponse, toStreamedAnswer } from '../../../src/frontends/ext-proc/adapt.js';

// The server's fast codec (protobufjs message types) must produce the same bytes as
// @grpc/proto-loader's conversion of the same objects, and read requests the same way.
// (The wire format itself is checked against Envoy's generated Go types in the e2e tests.)
const codec = createExtProcCodec();
const reference = loadExtProcService().Process;
assert.ok(reference, 'proto-loader knows the Process method');

test('encodeResponse gives the same bytes as proto-loader for every reply shape the session sends', async () => {
  const replies = [
    continueHeaders(),
    continueHeaders(modeOverride('NONE')),
    continueHeaders(modeOverride('BUFFERED')),
    { request_body: { response: { status: 'CONTINUE' as const } } },
    { request_trailers: {} },
    { response_headers: { response: { status: 'CONTINUE' as const } } },
    { response_body: { response: { status: 'CONTINUE' as const } } },
    { response_trailers: {} },
    (await toImmediateResponse({
      status: 422,
      headers: { 'content-type': 'application/problem+json', 'set-cookie': ['a=1', 'b=2'] },
      body: '{"code":"FERRY_UPSTREAM_EXCEPTION"}',
    }))!,
    (await toImmediateResponse({ status: 499, headers: {}, body: '' }))!,
    // FULL_DUPLEX_STREAMED: the pieces of a streamed local reply, and a chunk handed back.
    toStreamedAnswer({ status: 200, headers: { 'content-type': 'application/x-ndjson', 'set-cookie': ['a=1', 'b=2'] }, body: '' }).first,
    { streamed_immediate_response: { body_response: { body: Buffer.from('{"n":1}\n'), end_of_stream: false } } },
    { streamed_immediate_response: { body_response: { body: Buffer.alloc(0), end_of_stream: true } } },
    passOnChunk(Buffer.from('chunk'), true),
  ];
  for (const r of replies) {
    assert.deepEqual(codec.encodeResponse(r), reference.responseSerialize(r), JSON.stringify(r));
  }
});

test('decodeRequest reads what proto-loader reads: oneof member, headers, body, protocol_config, observability', () => {
  const msgs = [
    {
      request_headers: {
        headers: {
          headers: [
            { key: ':path', raw_value: Buffer.from('/a?b=1') },
            { key: 'x', value: 'old' },
          ],
        },
        end_of_stream: true,
      },
      protocol_config: { request_body_mode: 'STREAMED', response_body_mode: 'NONE' },
    },
    { request_body: { body: Buffer.from('{"a":1}'), end_of_stream: false }, observability_mode: true },
    { request_trailers: { trailers: { headers: [] } } },
    {},
  ];
  for (const m of msgs) {
    const bytes = reference.requestSerialize(m);
    const ours = codec.decodeRequest(bytes);
    const theirs = reference.requestDeserialize(bytes) as Record<string, any>;
    assert.equal(ours.request, theirs['request']);
    assert.equal(ours.observability_mode, theirs['observability_mode']);
    assert.equal(ours.protocol_config?.request_body_mode, theirs['protocol_config']?.request_body_mode);
    if (ours.request_headers) {
      assert.equal(ours.request_headers.end_of_stream, theirs['request_headers'].end_of_stream);
      const h = ours.request_headers.headers!.headers!.map((x) => [x.key, x.value, Buffer.from(x.raw_value ?? []).toString()]);
      const t = theirs['request_headers'].headers.headers.map((x: any) => [x.key, x.value, Buffer.from(x.raw_value).toString()]);
      assert.deepEqual(h, t);
    }
    if (ours.request_body) {
      assert.equal(Buffer.from(ours.request_body.body!).toString(), theirs['request_body'].body.toString());
      assert.equal(ours.request_body.end_of_stream, theirs['request_body'].end_of_stream);
    }
  }
});

test('decodeRequest reads attributes and forwarded metadata (Struct values: string, number, bool, list, nested) as plain values', () => {
  const struct = (fields: Record<string, unknown>) => ({ fields });
  const bytes = reference.requestSerialize({
    request_headers: { headers: { headers: [] }, end_of_stream: true },
    attributes: {
      'envoy.filters.http.ext_proc': struct({
        'xds.route_name': { stringValue: 'orders' },
        'source.port': { numberValue: 40123 },
        'connection.mtls': { boolValue: true },
        list: { listValue: { values: [{ stringValue: 'a' }] } },
        nested: { structValue: struct({ k: { stringValue: 'v' } }) },
        __proto__: { stringValue: 'a field, not a prototype' },
      }),
    },
    metadata_context: { filter_metadata: { 'ferry.gateway': struct({ team: { stringValue: 'blue' } }) } },
  });
  const m = codec.decodeRequest(bytes);
  const attrs = m.attributes?.['envoy.filters.http.ext_proc'];
  assert.equal(attrs?.['xds.route_name'], 'orders');
  assert.equal(attrs?.['source.port'], 40123);
  assert.equal(attrs?.['connection.mtls'], true);
  assert.deepEqual(attrs?.['list'], ['a']);
  assert.equal((attrs?.['nested'] as Record<string, unknown>)['k'], 'v');
  assert.equal(Object.getPrototypeOf(attrs), null);
  assert.equal(m.metadata_context?.['ferry.gateway']?.['team'], 'blue');
  assert.equal(codec.decodeRequest(reference.requestSerialize({ request_body: {} })).attributes, undefined, 'none sent, none read');
});
