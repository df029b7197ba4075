/** Direct tests of the pure pieces of the gRPC binding: tables, template fields, route derivation. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createProtoJson } from '../../src/codec/protojson/index.js';
import { compileRequestMapping } from '../../src/mapping/grpc/request.js';
import { parseTemplate, variableNames } from '../../src/router/index.js';
import { httpBindingsOf } from '../../src/mapping/grpc/routes.js';
import { connectionLost, grpcCodeName, grpcErrorToFerry, grpcStatusOfHttp, httpStatusForGrpc, neverSent } from '../../src/upstream/grpc/status.js';
import { TransportError } from '../../src/errors/transport.js';
import { loadProtoRoot } from '../../src/upstream/grpc/proto-loader.js';
import { FerryError } from '../../src/errors/index.js';
import { Metadata } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

describe('gRPC pure helpers', () => {
  it('path fields are the template variables the router parses, with or without a pattern', () => {
    assert.deepEqual(variableNames(parseTemplate('/v1/{payment.name=accounts/*/payments/*}/x/{id}/{rest=**}')), ['payment.name', 'id', 'rest']);
    assert.deepEqual(variableNames(parseTemplate('/v1/payments:search')), []);
  });

  it('grpc → HTTP status table and names', () => {
    assert.equal(httpStatusForGrpc(5), 404);
    assert.equal(httpStatusForGrpc(1), 499);
    assert.equal(httpStatusForGrpc(16), 401);
    assert.equal(httpStatusForGrpc(99), 500);
    assert.equal(grpcCodeName(14), 'UNAVAILABLE');
    assert.equal(grpcCodeName(99), 'CODE_99');
    // An HTTP reply without grpc-status (a proxy in the way), inputs 400, 404, 503, 500:
    assert.deepEqual([400, 404, 503, 500].map(grpcStatusOfHttp), [13, 12, 14, 2]);
  });

  it('grpc errors normalise once (inputs: deadline, local unavailable, server unavailable, non-gRPC error)', () => {
    const md = new Metadata();
    assert.equal(grpcErrorToFerry({ code: 4, details: 'Deadline exceeded', metadata: md }, 'h:1').code, 'FERRY_UPSTREAM_TIMEOUT');
    // Transport failures are told apart by the client, which names them:
    const local = neverSent('h:1', 'no connection');
    assert.ok(local instanceof TransportError && local.code === 'FERRY_UPSTREAM_UNAVAILABLE' && local.sent === false, 'never sent');
    assert.equal(local.status, 503);
    const dropped = connectionLost('h:1', 'socket closed');
    assert.ok(
      dropped instanceof TransportError && dropped.code === 'FERRY_UPSTREAM_CONNECTION_LOST' && dropped.sent === true,
      'sent, then the connection broke',
    );
    // The server answered UNAVAILABLE (grpcio's abort sends only grpc-status and grpc-message): an
    // unwell endpoint, 503, resent only for idempotent routes.
    {
      const trailers = new Metadata();
      trailers.set('x-from', 'server');
      const fromServer = grpcErrorToFerry({ code: 14, details: 'draining', metadata: trailers }, 'h:1');
      assert.ok(fromServer instanceof TransportError && fromServer.sent === true);
      assert.equal(fromServer.code, 'FERRY_UPSTREAM_UNAVAILABLE');
      assert.equal(fromServer.status, 503);
    }
    const bare = grpcErrorToFerry({ code: 14, details: 'g3 failed on purpose', metadata: new Metadata() }, 'h:1');
    assert.ok(
      bare instanceof TransportError && bare.sent === true && bare.code === 'FERRY_UPSTREAM_UNAVAILABLE',
      'an answer without trailers is still an answer',
    );
    assert.equal(grpcErrorToFerry(new Error('boom'), undefined).code, 'FERRY_UPSTREAM_PROTOCOL_ERROR');
  });

  // @grpc/proto-loader (used by the ext_proc front end in the same process) registers extra
  // protobuf.common files; loading must not trip over them.
  protoLoader.loadSync(path.resolve('idl/google/rpc/status.proto'), { includeDirs: [path.resolve('idl')] });
  const root = loadProtoRoot([path.resolve('idl/payments/v1/payments.proto')]);
  it('reads google.api.http options including custom kinds and additional bindings', () => {
    const svc = root.lookupService('example.payments.v1.Payments');
    assert.deepEqual(httpBindingsOf(svc.methods['CapturePayment']!), [
      { method: 'POST', path: '/v1/{name=accounts/*/payments/*}:capture', body: '*' },
      { method: 'POST', path: '/v1/captures/{name=**}', body: 'amount' },
    ]);
    assert.deepEqual(httpBindingsOf(svc.methods['HeadPayment']!), [{ method: 'HEAD', path: '/v1/{name=accounts/*/payments/*}' }]);
    assert.deepEqual(httpBindingsOf(svc.methods['Ping']!), []);
  });

  it('request mapping rejects a body field that does not exist, at compile time (input body "nope")', () => {
    const json = createProtoJson(root);
    assert.throws(
      () => compileRequestMapping(json, { input: root.lookupType('example.payments.v1.CreatePaymentRequest'), body: 'nope', pathFields: [] }),
      FerryError,
    );
  });

  it('a repeated query parameter for a singular field is a 400 (input page_size=1&page_size=2)', () => {
    const json = createProtoJson(root);
    const m = compileRequestMapping(json, { input: root.lookupType('example.payments.v1.ListPaymentsRequest'), pathFields: [] });
    assert.throws(
      () => m.build({ method: 'GET', path: '/', rawQuery: 'page_size=1&page_size=2', headers: {}, body: undefined }, {}),
      (e: unknown) => e instanceof FerryError && e.status === 400 && e.details.argument === 'query.page_size',
    );
  });
});
