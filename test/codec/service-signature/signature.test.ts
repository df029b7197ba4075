/**
 * Service signatures from class files javac wrote (with and without -parameters) and from a Dubbo
 * service definition; the mapping text written from them; the changes reported on re-import; and
 * `validate --against`'s checks with their file:line:col messages.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { SignatureSourceError } from '../../../src/errors/index.js';
import { loadConfigFiles } from '../../../src/config/loader.js';
import { formatProblem } from '../../../src/config/errors.js';
import { signatureFromClasses } from '../../../src/codec/service-signature/from-classes.js';
import { signatureFromDefinition } from '../../../src/codec/service-signature/from-definition.js';
import { mappingYaml } from '../../../src/codec/service-signature/to-mapping.js';
import { signatureChanges } from '../../../src/codec/service-signature/diff.js';
import { checkAgainstProvider } from '../../../src/codec/service-signature/check.js';
import { openClassSource } from '../../../src/app/import.js';
import { compileJava } from '../../support/javac.js';
import { API_SOURCES } from '../classfile/fixtures.js';

let withNames: string;
let withoutNames: string;
before(async () => {
  withNames = await compileJava(API_SOURCES, ['-parameters']);
  withoutNames = await compileJava(API_SOURCES);
});
after(async () => {
  for (const d of [withNames, withoutNames]) if (d) await rm(path.dirname(d), { recursive: true, force: true });
});

test('from classes: methods with generic types and names, the POJOs and enums they reach, superclass fields first', () => {
  const sig = signatureFromClasses(openClassSource(withNames), 'com.acme.shop.OrderService');
  const byName = new Map(sig.methods.map((m) => [m.name, m]));
  assert.deepEqual(byName.get('get'), {
    name: 'get',
    params: [{ name: 'orderId', type: 'long' }],
    returns: 'com.acme.shop.Order',
    descriptor: 'J',
    namesKnown: true,
    exceptions: [{ name: 'com.acme.shop.OrderMissing', fields: [] }], // throws, from the Exceptions attribute
  });
  assert.deepEqual(byName.get('list')!.params, [
    { name: 'limit', type: 'int' },
    { name: 'status', type: 'com.acme.shop.Status' },
  ]);
  assert.equal(byName.get('list')!.returns, 'List<com.acme.shop.Order>');
  assert.equal(byName.get('cancel')!.returns, undefined);
  assert.deepEqual(
    byName.get('index')!.params.map((p) => p.type),
    ['String[]', 'byte[]'],
  );
  assert.equal(byName.get('index')!.returns, 'Map<String,List<Long>>');
  assert.equal(byName.get('index')!.descriptor, '[Ljava/lang/String;[B');
  assert.equal(byName.get('same')!.params[0]!.type, 'com.acme.shop.Order'); // T extends Order
  assert.equal(byName.get('page')!.returns, 'com.acme.shop.Page');
  // name(long) is declared twice (here and in Named): one method.
  assert.equal(sig.methods.filter((m) => m.name === 'name').length, 1);
  assert.ok(!byName.has('none'), 'static methods are not service methods');
  assert.deepEqual(sig.skipped, [
    {
      method: 'when(J)',
      why: "uses java.util.Optional, which cannot travel over Dubbo's Hessian (it is not Serializable: hessian-lite refuses to write it)",
    },
  ]);

  assert.deepEqual([...sig.types.keys()], ['com.acme.shop.Line', 'com.acme.shop.Order', 'com.acme.shop.Page', 'com.acme.shop.Status']);
  assert.deepEqual(sig.types.get('com.acme.shop.Order'), {
    kind: 'pojo',
    name: 'com.acme.shop.Order',
    fields: [
      { name: 'id', type: 'long' }, // Base's, first; static and transient fields left out
      { name: 'customer', type: 'String' },
      { name: 'lines', type: 'List<com.acme.shop.Line>' },
      { name: 'totals', type: 'Map<String,java.math.BigDecimal>' },
      { name: 'status', type: 'com.acme.shop.Status' },
      { name: 'signature', type: 'byte[]' },
      { name: 'grid', type: 'int[][]' },
      { name: 'numbers', type: 'Set<Long>' },
      { name: 'placedAt', type: 'java.time.Instant' },
    ],
  });
  assert.deepEqual(sig.types.get('com.acme.shop.Status'), { kind: 'enum', name: 'com.acme.shop.Status', constants: ['NEW', 'PAID', 'SHIPPED'] });
  // A field typed by the class's own variable becomes Object: the mapping names classes, not instantiations.
  assert.deepEqual(sig.types.get('com.acme.shop.Page'), {
    kind: 'pojo',
    name: 'com.acme.shop.Page',
    fields: [
      { name: 'items', type: 'List<Object>' },
      { name: 'first', type: 'Object' },
      { name: 'total', type: 'long' },
    ],
  });
  // Without -parameters: arg0, arg1, …
  const bare = signatureFromClasses(openClassSource(withoutNames), 'com.acme.shop.OrderService');
  assert.deepEqual(
    bare.methods.find((m) => m.name === 'list')!.params.map((p) => p.name),
    ['arg0', 'arg1'],
  );
  assert.equal(bare.methods.find((m) => m.name === 'list')!.namesKnown, false);
});

test('from classes: a missing interface, a class instead of an interface, a POJO whose superclass is not there', () => {
  const src = openClassSource(withNames);
  assert.throws(
    () => signatureFromClasses(src, 'com.acme.shop.Nope'),
    (e: unknown) => e instanceof SignatureSourceError && /holds no class com\.acme\.shop\.Nope/.test(e.message),
  );
  assert.throws(() => signatureFromClasses(src, 'com.acme.shop.Order'), /is a class, not an interface/);
  const partial = { where: 'partial', load: (n: string) => (n === 'com.acme.shop.Base' ? undefined : src.load(n)) };
  assert.throws(
    () => signatureFromClasses(partial, 'com.acme.shop.OrderService'),
    /com\.acme\.shop\.Order extends com\.acme\.shop\.Base, which partial does not hold/,
  );
});

test('the mapping written from a signature loads, validates, and declares exactly the reachable types', () => {
  const sig = signatureFromClasses(openClassSource(withNames), 'com.acme.shop.OrderService');
  const text = mappingYaml([{ signature: sig, version: '2.1.0' }], { endpoints: ['10.0.0.1:20880'], generatedFrom: 'shop.jar' });
  const config = loadConfigFiles([{ file: 'shop.yaml', text }], '.');
  assert.deepEqual([...config.types.keys()].sort(), [...sig.types.keys()]);
  const svc = config.services.get('OrderService')!;
  assert.equal(svc.interface, 'com.acme.shop.OrderService');
  assert.equal(svc.version, '2.1.0');
  const list = config.routes.find((r) => r.id === 'OrderService.list')!;
  assert.equal(list.method, 'POST');
  assert.equal(list.path, '/OrderService/list');
  assert.ok(list.protocol === 'dubbo');
  assert.deepEqual(
    list.args.map((a) => [a.from, a.type]),
    [
      ['body.limit', 'int'],
      ['body.status', 'com.acme.shop.Status'],
    ],
  );
  assert.equal(list.returns, 'List<com.acme.shop.Order>');
  // A declared exception becomes a 422 with nothing of it shown until its fields are listed.
  const get = config.routes.find((r) => r.id === 'OrderService.get')!;
  assert.ok(get.protocol === 'dubbo', 'get is a dubbo route');
  assert.deepEqual(get.errors, { 'com.acme.shop.OrderMissing': 422 });
  assert.deepEqual(get.errorFields, { 'com.acme.shop.OrderMissing': [] });
  assert.match(text, /# Not imported: com\.acme\.shop\.OrderService\.when\(J\): uses java\.util\.Optional, which cannot travel/);
  // The written mapping matches its own source.
  assert.deepEqual(checkAgainstProvider(config, { signature: () => sig }), []);
});

test('re-import reports methods added and removed, fields added, removed and retyped, enum constants changed', () => {
  const sig = signatureFromClasses(openClassSource(withNames), 'com.acme.shop.OrderService');
  const edited = parseYaml(
    mappingYaml([{ signature: sig }], { generatedFrom: 'x' })
      .replace('customer: String', 'customer: Long\n      legacy: int')
      .replace('enum: [NEW, PAID, SHIPPED]', 'enum: [NEW, PAID, LOST]'),
  ) as {
    routes: { call: string; id: string }[];
  };
  edited.routes = edited.routes.filter((r) => r.call !== 'OrderService.cancel');
  edited.routes.push({ id: 'old-route', call: 'OrderService.purge' });
  assert.deepEqual(signatureChanges(edited, sig), [
    'method added: cancel (no route calls it yet)',
    'method removed: purge (routes old-route still call it)',
    'type com.acme.shop.Order: field customer changed: Long → String',
    'type com.acme.shop.Order: field removed: legacy',
    'enum com.acme.shop.Status: constants added: SHIPPED',
    'enum com.acme.shop.Status: constants removed: LOST',
  ]);
});

const DEFINITION = {
  canonicalName: 'com.acme.shop.OrderService',
  methods: [
    { name: 'get', parameterTypes: ['long'], returnType: 'com.acme.shop.Order' },
    { name: 'index', parameterTypes: ['java.lang.String[]', 'byte[]'], returnType: 'java.util.Map<java.lang.String,java.util.List<java.lang.Long>>' },
    { name: 'when', parameterTypes: ['long'], returnType: 'java.util.Optional<java.lang.String>' },
    { name: 'cancel', parameterTypes: ['long', 'java.lang.String'], returnType: 'void' },
  ],
  types: [
    { type: 'long', properties: {}, enums: [], items: [] },
    {
      type: 'com.acme.shop.Order',
      properties: { status: 'com.acme.shop.Status', customer: 'java.lang.String', lines: 'java.util.List<java.lang.String>' },
      enums: [],
    },
    { type: 'com.acme.shop.Status', enums: ['NEW', 'PAID'], properties: {} },
    { type: 'java.time.LocalDateTime', properties: { date: 'java.time.LocalDate', time: 'java.time.LocalTime' } },
  ],
};

test('from a Dubbo service definition: arg0… names, JDK types as leaves, descriptors computed, unsupported methods listed', () => {
  const sig = signatureFromDefinition(DEFINITION, 'zk node');
  assert.deepEqual(
    sig.methods.map((m) => [m.name, m.params.map((p) => `${p.name}:${p.type}`).join(','), m.returns, m.descriptor]),
    [
      ['get', 'arg0:long', 'com.acme.shop.Order', 'J'],
      ['index', 'arg0:String[],arg1:byte[]', 'Map<String,List<Long>>', '[Ljava/lang/String;[B'],
      ['cancel', 'arg0:long,arg1:String', undefined, 'JLjava/lang/String;'],
    ],
  );
  assert.deepEqual(sig.skipped, [
    {
      method: 'when(long)',
      why: "uses java.util.Optional, which cannot travel over Dubbo's Hessian (it is not Serializable: hessian-lite refuses to write it)",
    },
  ]);
  assert.deepEqual([...sig.types.keys()], ['com.acme.shop.Order', 'com.acme.shop.Status']);
  assert.deepEqual(sig.types.get('com.acme.shop.Status'), { kind: 'enum', name: 'com.acme.shop.Status', constants: ['NEW', 'PAID'] });
});

test('a service definition naming a type it does not define, or malformed, is refused whole', () => {
  const unknown = { ...DEFINITION, types: DEFINITION.types.filter((t) => t.type !== 'com.acme.shop.Status') };
  assert.throws(
    () => signatureFromDefinition(unknown, 'zk node'),
    (e: unknown) =>
      e instanceof SignatureSourceError &&
      e.message === "zk node: field com.acme.shop.Order.status names com.acme.shop.Status, which the definition's types do not define",
  );
  assert.throws(() => signatureFromDefinition({ methods: [] }, 'n'), /no canonicalName/);
  assert.throws(() => signatureFromDefinition([], 'n'), /not a JSON object/);
  assert.throws(
    () => signatureFromDefinition({ canonicalName: 'X', methods: [{ name: 'a', parameterTypes: ['java.util.List<long'], returnType: 'void' }] }, 'n'),
    /malformed type "java\.util\.List<long"/,
  );
  assert.throws(
    () => signatureFromDefinition({ canonicalName: 'X', methods: new Array(11).fill({}) }, 'n', { maxMethods: 10 }),
    /11 methods, over the budget of 10/,
  );
});

const BAD_MAPPING = `services:
  shop:
    protocol: dubbo
    interface: com.acme.shop.OrderService
    version: 9.9.9
    endpoints: [127.0.0.1:20880]
types:
  com.acme.shop.Line:
    fields:
      sku: String
      quantity: int
  com.acme.shop.Order:
    fields:
      id: long
      customr: String
      lines: List<com.acme.shop.Line>
      status: String
routes:
  - id: get
    http: GET /orders/{id}
    call: shop.gett
    args:
      - { from: path.id, type: long }
  - id: list
    http: GET /orders
    call: shop.list
    args:
      - { from: query.limit, type: long }
      - { from: query.status, type: String }
  - id: lines
    http: POST /lines
    call: shop.same
    args:
      - { from: body, type: com.acme.shop.Line }
  - id: typed
    http: GET /typed/{id}
    call: shop.get
    returns: com.acme.shop.Order
    args:
      - { from: path.id, type: long }
`;

test('validate --against: a misspelled method, a wrong parameter type, a wrong version and a wrong field, each at file:line:col', () => {
  const sig = signatureFromClasses(openClassSource(withNames), 'com.acme.shop.OrderService');
  const config = loadConfigFiles([{ file: 'bad.yaml', text: BAD_MAPPING }], '.');
  const problems = checkAgainstProvider(config, { signature: () => sig, exported: () => [{ version: '2.1.0' }] }).map(formatProblem);
  assert.deepEqual(problems, [
    'bad.yaml:5:14: service "shop": com.acme.shop.OrderService is exported with version 2.1.0, group none, not version 9.9.9, group none',
    `bad.yaml:21:11: route "get": com.acme.shop.OrderService (${withNames}) has no method gett; did you mean get(long)?`,
    'bad.yaml:28:9: route "list": com.acme.shop.OrderService has no list(long, String); did you mean list(int, com.acme.shop.Status)?',
    'bad.yaml:34:9: route "lines": com.acme.shop.OrderService has no same(com.acme.shop.Line); did you mean same(com.acme.shop.Order)?',
    'bad.yaml:15:16: type com.acme.shop.Order has no field customr at the provider; did you mean customer?',
    'bad.yaml:17:15: type com.acme.shop.Order: field status is com.acme.shop.Status at the provider, not String',
  ]);
});

test('from classes: a class the jar does not hold is named as such, and class names never become paths outside the folder', () => {
  const src = openClassSource(withNames);
  const noLine = { where: 'no-line.jar', load: (n: string) => (n === 'com.acme.shop.Line' ? undefined : src.load(n)) };
  const sig = signatureFromClasses(noLine, 'com.acme.shop.OrderService');
  assert.deepEqual(
    sig.skipped.find((s) => s.method === 'get(J)'),
    {
      method: 'get(J)',
      why: 'com.acme.shop.Order has a field of type com.acme.shop.Line, which no-line.jar does not hold (import from a jar or folder that has it too)',
    },
  );
  assert.equal(src.load('../../../etc/passwd'), undefined);
  assert.equal(src.load('com.acme.shop.Line/../Order'), undefined);
});
