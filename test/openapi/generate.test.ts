import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfigDir, loadConfigFiles } from '../../src/config/loader.js';
import type { FerryConfig } from '../../src/config/types.js';
import { generateOpenApi, openApiPath } from '../../src/openapi/index.js';
import { parseTemplate } from '../../src/router/index.js';
import { OPS_PYTHON } from '../support/ops-python.js';

/** Validates an OpenAPI document with Python's openapi-spec-validator (scripts/setup-ops.sh). Returns '' or the error. */
function specErrors(doc: object): string {
  const script = [
    'import sys, json',
    'from openapi_spec_validator import validate',
    'from openapi_spec_validator.validation.exceptions import OpenAPIValidationError',
    'try:',
    '    validate(json.load(sys.stdin))',
    '    print("")',
    'except OpenAPIValidationError as e:',
    '    print(str(e).splitlines()[0])',
  ].join('\n');
  return execFileSync(OPS_PYTHON, ['-c', script], { input: JSON.stringify(doc), encoding: 'utf8' }).trim();
}

/** Checks JSON values against `#/components/schemas/<name>` with jsonschema's Draft 2020-12 validator. */
function schemaAccepts(doc: Record<string, any>, name: string, values: unknown[]): boolean[] {
  const script = [
    'import sys, json',
    'from jsonschema import Draft202012Validator',
    'data = json.load(sys.stdin)',
    'root = {"$ref": "#/components/schemas/" + data["name"], "components": data["components"]}',
    'v = Draft202012Validator(root)',
    'print(json.dumps([v.is_valid(x) for x in data["values"]]))',
  ].join('\n');
  const out = execFileSync(OPS_PYTHON, ['-c', script], { input: JSON.stringify({ name, components: doc['components'], values }), encoding: 'utf8' });
  return JSON.parse(out) as boolean[];
}

const MAPPING = `
services:
  shop:
    protocol: dubbo
    interface: com.example.shop.OrderService
    endpoints: [127.0.0.1:20880]
types:
  com.example.shop.Color:
    enum: [RED, GREEN]
  com.example.shop.Line:
    fields:
      sku: String
      qty: int
      price: java.math.BigDecimal
  com.example.shop.Order:
    fields:
      id: long
      placedAt: java.util.Date
      deliverOn: java.time.LocalDate
      lines: List<com.example.shop.Line>
      tags: Set<String>
      extras: Map<String, java.math.BigInteger>
      color: com.example.shop.Color
      parent: com.example.shop.Order
      photo: byte[]
routes:
  - id: get-order
    http: GET /orders/{id}
    call: shop.getOrder
    returns: com.example.shop.Order
    args:
      - { from: path.id, type: long }
      - { from: query.verbose, type: boolean, required: false }
      - { from: header.x-user, type: String }
      - { from: cookie.session, type: String, required: false }
    attachments:
      tenant: header.x-tenant
    errors:
      com.example.shop.OrderNotFoundException: 404
      com.example.shop.Forbidden: 403
  - id: place-order
    http: POST /orders
    call: shop.place
    args:
      - { from: body, type: com.example.shop.Order }
  - id: rename
    http: PATCH /v1/{name=shelves/*}:rename
    call: shop.rename
    args:
      - { from: path.name, type: String }
      - { from: body.title.text, type: String }
      - { from: body.color, type: com.example.shop.Color, required: false }
`;

describe('OpenAPI 3.1 generation', () => {
  let dir: string;
  let config: FerryConfig;
  let doc: Record<string, any>;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ferry-openapi-'));
    await writeFile(path.join(dir, 'shop.yaml'), MAPPING);
    config = await loadConfigDir(dir);
    doc = generateOpenApi(config, { title: 'Shop', version: '1.2.3', servers: ['https://api.example.com'] });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('the document is valid OpenAPI 3.1 (openapi-spec-validator)', () => {
    assert.equal(doc['openapi'], '3.1.0');
    assert.equal(specErrors(doc), '');
    // The checker does reject a broken document (input: info without title and version).
    assert.notEqual(specErrors({ openapi: '3.1.0', info: {}, paths: {} }), '');
  });

  test('the shipped mappings/ give a valid document with one operation per route', async () => {
    const shipped = await loadConfigDir('mappings');
    const d = generateOpenApi(shipped) as Record<string, any>;
    assert.equal(specErrors(d), '');
    const ops = Object.values(d['paths'] as Record<string, Record<string, { operationId: string }>>).flatMap((item) => Object.values(item));
    assert.equal(ops.length, shipped.routes.length);
    assert.deepEqual(new Set(ops.map((o) => o.operationId)), new Set(shipped.routes.map((r) => r.id)));
  });

  test('parameters come from path, query, header, cookie and attachment sources', () => {
    const op = doc['paths']['/orders/{id}']['get'];
    const params = op.parameters.map((p: any) => `${p.in}:${p.name}:${p.required}`);
    assert.deepEqual(params.sort(), ['cookie:session:false', 'header:x-tenant:false', 'header:x-user:true', 'path:id:true', 'query:verbose:false']);
    const id = op.parameters.find((p: any) => p.name === 'id');
    assert.deepEqual(id.schema, { $ref: '#/components/schemas/long' });
    assert.deepEqual(doc['components']['schemas']['long']['type'], ['integer', 'string']);
    assert.equal(doc['components']['schemas']['long']['format'], 'int64');
    assert.equal(op.operationId, 'get-order');
    assert.equal(op.requestBody, undefined);
  });

  test('declared types become components: POJOs (recursive too), enums, lists, sets, maps, dates, bytes', () => {
    const s = doc['components']['schemas'];
    const order = s['com.example.shop.Order'];
    assert.equal(order.type, 'object');
    assert.deepEqual(order.properties.id, { $ref: '#/components/schemas/long' });
    assert.deepEqual(order.properties.parent, { $ref: '#/components/schemas/com.example.shop.Order' });
    assert.deepEqual(order.properties.lines, { type: 'array', items: { $ref: '#/components/schemas/com.example.shop.Line' } });
    assert.deepEqual(order.properties.tags, { type: 'array', items: { type: 'string' }, uniqueItems: true });
    assert.deepEqual(order.properties.extras, { type: 'object', additionalProperties: { $ref: '#/components/schemas/java.math.BigInteger' } });
    assert.deepEqual(order.properties.deliverOn.format, 'date');
    assert.equal(order.properties.photo.contentEncoding, 'base64');
    assert.deepEqual(s['com.example.shop.Color'].enum, ['RED', 'GREEN']);
    assert.equal(s['java.util.Date'].format, 'date-time');
    assert.deepEqual(s['java.math.BigDecimal'].type, ['string', 'number']);
    assert.equal(s['java.math.BigDecimal'].format, 'decimal');
    // The declared return type documents the 200 body.
    assert.deepEqual(doc['paths']['/orders/{id}']['get'].responses['200'].content['application/json'].schema, {
      $ref: '#/components/schemas/com.example.shop.Order',
    });
  });

  test('schemas accept what Ferry accepts and refuse the rest (checked with jsonschema 2020-12)', () => {
    const line = [
      { sku: 'a', qty: 2, price: '12345678901234567.89' }, // decimal string keeps every digit
      { sku: 'a', qty: '2', price: 1.5 }, // numbers are accepted too
      { price: '1.2e3' },
      { price: '1,5' }, // input: a comma decimal
      { qty: 2147483648 }, // input: int overflow
      { qty: 'two' }, // input: not a number
    ];
    assert.deepEqual(schemaAccepts(doc, 'com.example.shop.Line', line), [true, true, true, false, false, false]);
    const order = [
      { id: '9223372036854775807', placedAt: '2025-01-02T03:04:05+08:00', color: 'RED' },
      { id: 42, placedAt: 1735787045000 },
      { id: '12x' }, // input: long with a letter
      { color: 'BLUE' }, // input: unknown enum constant
      { lines: [{ qty: 'x' }] }, // input: bad nested value
    ];
    assert.deepEqual(schemaAccepts(doc, 'com.example.shop.Order', order), [true, true, false, false, false]);
  });

  test('body sources: whole body is the type; body.a.b builds nested objects with required fields', () => {
    const place = doc['paths']['/orders']['post'];
    assert.deepEqual(place.requestBody.content['application/json'].schema, { $ref: '#/components/schemas/com.example.shop.Order' });
    assert.equal(place.requestBody.required, true);
    const rename = doc['paths']['/v1/{name}:rename']['patch'];
    const body = rename.requestBody.content['application/json'].schema;
    assert.deepEqual(body.required, ['title']);
    assert.deepEqual(body.properties.title, { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] });
    assert.deepEqual(body.properties.color, { $ref: '#/components/schemas/com.example.shop.Color' });
    assert.ok(rename.responses['413'] && rename.responses['415']);
  });

  test('errors: problem+json with the FERRY codes; mapped Java exceptions get their status', () => {
    const r = doc['paths']['/orders/{id}']['get'].responses;
    assert.deepEqual(Object.keys(r).sort(), ['200', '400', '403', '404', '502', '503', '504']);
    assert.match(r['404'].description, /OrderNotFoundException/);
    assert.deepEqual(r['404'].content['application/problem+json'].schema.allOf[1].properties.code.enum, ['FERRY_UPSTREAM_EXCEPTION']);
    assert.deepEqual(r['503'], { $ref: '#/components/responses/ServiceUnavailable' });
    const unavailable = doc['components']['responses']['ServiceUnavailable'].content['application/problem+json'].schema.allOf[1].properties.code.enum;
    assert.deepEqual(unavailable.sort(), [
      'FERRY_GRPC_SCHEMA_UNAVAILABLE',
      'FERRY_NO_TAGGED_ENDPOINT',
      'FERRY_SHUTTING_DOWN',
      'FERRY_TOO_MANY_CONNECTIONS',
      'FERRY_UPSTREAM_OVERLOADED',
      'FERRY_UPSTREAM_TLS',
      'FERRY_UPSTREAM_UNAVAILABLE',
    ]);
    const problem = doc['components']['schemas']['Problem'];
    assert.ok(problem.properties.code.enum.includes('FERRY_BAD_ARGUMENT'));
    assert.deepEqual(problem.required, ['type', 'title', 'status', 'detail', 'code']);
  });

  test('gRPC routes: generic proto3 JSON objects by default, the schemaForGrpcRoute hook when given', () => {
    const grpc = loadConfigFiles(
      [
        {
          file: 'p.yaml',
          text: 'services:\n  pay:\n    protocol: grpc\n    proto: payments/v1/payments.proto\n    service: example.payments.v1.Payments\n    endpoints: [127.0.0.1:50051]\nroutes:\n  - id: search\n    http: POST /v1/payments:search\n    call: pay.SearchPayments\n    body: "*"\n',
        },
      ],
      path.resolve('idl'),
    );
    const plain = generateOpenApi(grpc) as Record<string, any>;
    const op = plain['paths']['/v1/payments:search']['post'];
    assert.match(
      op.requestBody.content['application/json'].schema.description,
      /proto3 JSON of the request message of example\.payments\.v1\.Payments\.SearchPayments/,
    );
    assert.equal(specErrors(plain), '');
    const seen: string[] = [];
    const hooked = generateOpenApi(grpc, {
      schemaForGrpcRoute(route, service) {
        seen.push(`${service.service}/${route.rpcMethod}`);
        return {
          requestBody: { $ref: '#/components/schemas/example.payments.v1.SearchRequest' },
          response: { type: 'object', properties: { payments: { type: 'array' } } },
          queryParameters: [{ name: 'page_size', schema: { type: 'integer' } }],
          components: { 'example.payments.v1.SearchRequest': { type: 'object', properties: { query: { type: 'string' } } } },
        };
      },
    }) as Record<string, any>;
    assert.deepEqual(seen, ['example.payments.v1.Payments/SearchPayments']);
    const hop = hooked['paths']['/v1/payments:search']['post'];
    assert.deepEqual(hop.requestBody.content['application/json'].schema, { $ref: '#/components/schemas/example.payments.v1.SearchRequest' });
    assert.deepEqual(
      hop.parameters.map((p: any) => `${p.in}:${p.name}`),
      ['query:page_size'],
    );
    assert.equal(hop.responses['200'].content['application/json'].schema.properties.payments.type, 'array');
    assert.equal(specErrors(hooked), '');
  });

  test('path templates: google.api.http variables become plain OpenAPI parameters, ** and verbs kept', () => {
    assert.deepEqual(openApiPath(parseTemplate('/accounts/{id}')), { path: '/accounts/{id}', variables: [{ name: 'id' }] });
    assert.deepEqual(openApiPath(parseTemplate('/v1/{name=shelves/*/books/*}:get')), {
      path: '/v1/{name}:get',
      variables: [{ name: 'name', pattern: 'shelves/*/books/*' }],
    });
    assert.deepEqual(openApiPath(parseTemplate('/v1/files/{path=**}')), { path: '/v1/files/{path}', variables: [{ name: 'path', pattern: '**' }] });
    assert.deepEqual(openApiPath(parseTemplate('/v1/{parent=accounts/*}/payments:search')), {
      path: '/v1/{parent}/payments:search',
      variables: [{ name: 'parent', pattern: 'accounts/*' }],
    });
  });

  test('an undeclared type (input: com.example.Nope) is documented as unreadable instead of failing the document', async () => {
    const d2 = await mkdtemp(path.join(tmpdir(), 'ferry-openapi-'));
    try {
      await writeFile(
        path.join(d2, 'x.yaml'),
        'services:\n  s:\n    protocol: dubbo\n    interface: a.B\n    endpoints: [127.0.0.1:1]\nroutes:\n  - id: r\n    http: POST /r\n    call: s.m\n    args:\n      - { from: body, type: com.example.Nope }\n',
      );
      const d = generateOpenApi(await loadConfigDir(d2)) as Record<string, any>;
      const schema = d['paths']['/r']['post'].requestBody.content['application/json'].schema;
      assert.match(schema.description, /com\.example\.Nope/);
      assert.equal(specErrors(d), '');
    } finally {
      await rm(d2, { recursive: true, force: true });
    }
  });
});
