/**
 * FileDescriptorProtos → protobufjs Root (src/upstream/grpc/descriptors.ts). The oracle is protoc
 * (grpcio-tools' own, from the venv of scripts/setup-python.sh): the descriptor set it writes for
 * payments.proto and kitchen_sink.proto must give the same Root as protobufjs' parser gives for the
 * .proto text (every field's id, label, resolved type, map key, json_name, proto3 optional, oneof;
 * every enum value; every method's types, streaming and google.api.http rule). Then hostile
 * descriptors: garbage, a wrong wire type, nesting past the budget, too many files, a missing or
 * circular import, editions, proto2 groups, a descriptorSet: file that is not one.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import protobuf from 'protobufjs';
import {
  decodeDescriptorSet,
  decodeFileDescriptor,
  DescriptorError,
  encodeDescriptorSet,
  orderedFiles,
} from '../../../src/upstream/grpc/descriptors.js';
import { loadDescriptorRoot, loadProtoRoot } from '../../../src/upstream/grpc/proto-loader.js';
import { validateMappings } from '../../../src/app/main.js';
import { ConfigError } from '../../../src/config/errors.js';
import { VENV_PYTHON } from '../../support/grpc-peer.js';
import { fileDescriptor } from '../../support/hostile-reflection.js';

const run = promisify(execFile);
let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ferry-descriptors-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function protocSet(file: string): Promise<Buffer> {
  const { stdout } = await run(VENV_PYTHON, ['-c', 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))']);
  const out = path.join(dir, `${path.basename(file)}.binpb`);
  await run(VENV_PYTHON, [
    '-m',
    'grpc_tools.protoc',
    `-I${path.resolve('idl')}`,
    `-I${stdout.trim()}`,
    '--include_imports',
    `--descriptor_set_out=${out}`,
    file,
  ]);
  return readFile(out);
}

/** What the JSON mapping and the routes read from a namespace, in a form two Roots can be compared by. */
function facts(ns: protobuf.NamespaceBase): unknown {
  const out: Record<string, unknown> = {};
  for (const o of ns.nestedArray) {
    if (o instanceof protobuf.Type) {
      out[o.name] = {
        fields: o.fieldsArray
          .map((f) => {
            f.resolve();
            const opts = f.options ?? {};
            return {
              name: f.name,
              id: f.id,
              repeated: f.repeated,
              required: f.required,
              map: (f as { map?: boolean }).map === true ? (f as unknown as { keyType: string }).keyType : undefined,
              type: f.resolvedType?.fullName ?? f.type,
              jsonName: opts['json_name'],
              proto3Optional: opts['proto3_optional'] === true,
              oneof: f.partOf?.name,
            };
          })
          .sort((a, b) => a.id - b.id),
        nested: facts(o),
      };
    } else if (o instanceof protobuf.Enum) out[o.name] = { values: o.values };
    else if (o instanceof protobuf.Service) {
      out[o.name] = {
        methods: o.methodsArray.map((m) => {
          m.resolve();
          return {
            name: m.name,
            request: m.resolvedRequestType?.fullName,
            response: m.resolvedResponseType?.fullName,
            streams: [m.requestStream === true, m.responseStream === true],
            http: JSON.stringify(m.parsedOptions ?? null),
          };
        }),
      };
    } else if (o instanceof protobuf.Namespace) out[o.name] = facts(o);
  }
  return out;
}

for (const [proto, pkg] of [
  ['payments/v1/payments.proto', 'example.payments.v1'],
  ['payments/v1/kitchen_sink.proto', 'example.kitchen.v1'],
] as const) {
  test(`protoc's descriptor set of ${proto} gives the Root protobufjs parses from the text`, async () => {
    const files = decodeDescriptorSet(await protocSet(proto));
    const fromSet = loadDescriptorRoot(files, proto);
    const fromText = loadProtoRoot([path.resolve('idl', proto)]);
    const a = facts(fromSet.lookup(pkg) as protobuf.Namespace);
    const b = facts(fromText.lookup(pkg) as protobuf.Namespace);
    assert.ok(JSON.stringify(b).length > 1000, 'the comparison covers the whole package');
    assert.deepEqual(a, b);
    // The well-known types the text loader adds are there too (an Any may carry any of them).
    assert.ok(fromSet.lookupType('google.protobuf.Duration'), 'well-known types are loaded');
    assert.ok(fromSet.lookupType('google.rpc.Status'), 'google.rpc.Status is there to decode error details');
  });
}

test('a descriptor set is written back byte for byte as the files came', async () => {
  const bytes = await protocSet('payments/v1/payments.proto');
  assert.deepEqual(encodeDescriptorSet(decodeDescriptorSet(bytes)), bytes);
});

test('garbage, a truncated message and a wrong wire type are DescriptorErrors naming the message', () => {
  assert.throws(
    () => decodeFileDescriptor(Buffer.from([0x0a, 0x50, 0x41])),
    (e: unknown) => e instanceof DescriptorError && /FileDescriptorProto is not a valid protobuf message/.test(e.message),
  );
  // name (field 1) as a varint instead of a string
  assert.throws(
    () => decodeFileDescriptor(Buffer.from([0x08, 0x01])),
    /FileDescriptorProto\.name: expected a length-delimited field, got wire type 0/,
  );
  assert.throws(() => decodeFileDescriptor(Buffer.from([0x12, 0x01, 0x61])), /without a name/);
  assert.throws(() => decodeDescriptorSet(Buffer.from('not a descriptor set at all, just text')), DescriptorError);
});

test('message types nested past the budget are refused (input: 40 levels)', () => {
  let msg = protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .string('Leaf')
    .finish();
  for (let i = 0; i < 40; i++) {
    msg = protobuf.Writer.create()
      .uint32((1 << 3) | 2)
      .string(`L${i}`)
      .uint32((3 << 3) | 2)
      .bytes(msg)
      .finish();
  }
  const file = protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .string('deep.proto')
    .uint32((4 << 3) | 2)
    .bytes(msg)
    .finish();
  assert.throws(() => decodeFileDescriptor(file), /nested deeper than 32/);
});

test('a set with more files than the budget is refused (input: 5 files, budget 4)', () => {
  const set = encodeDescriptorSet([0, 1, 2, 3, 4].map((i) => decodeFileDescriptor(fileDescriptor(`f${i}.proto`, `p${i}`, [], false))));
  assert.equal(decodeDescriptorSet(set, 5).length, 5);
  assert.throws(() => decodeDescriptorSet(set, 4), /more than 4 files/);
});

test('an import no file provides, and an import cycle, are refused naming the files', () => {
  const a = decodeFileDescriptor(fileDescriptor('a.proto', 'a', ['b.proto'], false));
  assert.throws(() => orderedFiles([a]), /a\.proto imports b\.proto, which the descriptors do not include/);
  const b = decodeFileDescriptor(fileDescriptor('b.proto', 'b', ['a.proto'], false));
  assert.throws(() => orderedFiles([a, b]), /imports itself/);
  assert.throws(
    () => loadDescriptorRoot([a], 'the test'),
    (e: unknown) => e instanceof Error && /cannot use the descriptors of the test: a\.proto imports b\.proto/.test(e.message),
  );
});

test('editions files and proto2 groups are refused with a sentence', () => {
  const editions = protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .string('e.proto')
    .uint32((12 << 3) | 2)
    .string('editions')
    .finish();
  assert.throws(() => decodeFileDescriptor(editions), /syntax "editions" \(protobuf editions\) is not supported/);
  const group = protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .string('g')
    .uint32(3 << 3)
    .uint32(1)
    .uint32(4 << 3)
    .uint32(1)
    .uint32(5 << 3)
    .uint32(10)
    .uint32((6 << 3) | 2)
    .string('.p.G')
    .finish();
  const msg = protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .string('M')
    .uint32((2 << 3) | 2)
    .bytes(group)
    .finish();
  const file = protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .string('g.proto')
    .uint32((2 << 3) | 2)
    .string('p')
    .uint32((4 << 3) | 2)
    .bytes(msg)
    .finish();
  assert.throws(() => loadDescriptorRoot([decodeFileDescriptor(file)], 'g.proto'), /M\.g is a proto2 group/);
});

test('a descriptorSet: that is not a descriptor set is a config error at its key; one that is serves its routes', async () => {
  const m = await mkdtemp(path.join(dir, 'mapping-'));
  await writeFile(path.join(m, 'bad.binpb'), 'this is text, not protobuf');
  const yaml = (file: string) =>
    [
      'services:',
      '  p:',
      '    protocol: grpc',
      `    descriptorSet: ${file}`,
      '    service: example.payments.v1.Payments',
      '    endpoints: [127.0.0.1:1]',
      '',
    ].join('\n');
  await writeFile(path.join(m, 'p.yaml'), yaml('bad.binpb'));
  const err = await validateMappings(m).then(
    () => assert.fail('a bad descriptor set must be refused'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConfigError, `a ConfigError, got ${String(err)}`);
  assert.match(err.message, /p\.yaml:4:\d+: .*bad\.binpb is not a descriptor set/);
  await writeFile(path.join(m, 'good.binpb'), await protocSet('payments/v1/payments.proto'));
  await writeFile(path.join(m, 'p.yaml'), yaml('good.binpb'));
  const { engine } = await validateMappings(m);
  assert.equal(engine.routes.length, 13, 'the 13 routes of the google.api.http options');
});

test('a proto service needs exactly one schema source', async () => {
  const m = await mkdtemp(path.join(dir, 'schema-'));
  const base = ['services:', '  p:', '    protocol: grpc', '    service: x.S', '    endpoints: [127.0.0.1:1]'];
  await writeFile(path.join(m, 'p.yaml'), [...base, ''].join('\n'));
  await assert.rejects(validateMappings(m), /service "p" needs its schema: "proto" \(a \.proto file\), "descriptorSet" .* or "reflection"/);
  await writeFile(path.join(m, 'p.yaml'), [...base, '    proto: x.proto', '    reflection: true', ''].join('\n'));
  await assert.rejects(validateMappings(m), /p\.yaml:7:\d+: service "p" gives its schema twice \("proto" and "reflection"\)/);
});
