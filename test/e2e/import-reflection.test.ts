/**
 * gRPC server reflection against the Python grpcio sample server with grpcio-reflection (which
 * serves grpc.reflection.v1alpha only, so Ferry's v1 request is answered UNIMPLEMENTED and the
 * fallback is what runs): `ferry import --reflection` writes a mapping and a descriptor set, `ferry
 * validate` accepts it, and Ferry serving it answers through HTTP exactly what the hand-written
 * mappings/payments.yaml answers for the same calls, with no reflection server needed at serve
 * time. A re-import never overwrites the file and lists what changed in the provider. At run time,
 * a mapping with `reflection:` and no proto file serves through the same peer, and one whose peer
 * comes up only after Ferry answers 503 FERRY_GRPC_SCHEMA_UNAVAILABLE until the schema arrives.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { startFerry, type RunningFerry } from '../../src/app/main.js';
import { startGrpcPeer, VENV_PYTHON, type GrpcPeer } from '../support/grpc-peer.js';
import { http, startTestFerry, type HttpResult, type TestFerry } from '../support/ferry.js';
import { freePort } from '../support/ports.js';

const run = promisify(execFile);
let peer: GrpcPeer;
let dir: string;
let hand: TestFerry;
let imported: RunningFerry;
let importStderr: string;

/** `ferry <args>` as a process; resolves with its exit code and output. */
function ferryCli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/app/cli.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** protoc (grpcio-tools) writes the descriptor set of payments/v1/payments.proto found first under `idl`, with every import. */
async function protoc(idl: string, out: string): Promise<void> {
  const { stdout } = await run(VENV_PYTHON, ['-c', 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))']);
  await run(VENV_PYTHON, [
    '-m',
    'grpc_tools.protoc',
    `-I${idl}`,
    `-I${path.resolve('idl')}`,
    `-I${stdout.trim()}`,
    '--include_imports',
    `--descriptor_set_out=${out}`,
    'payments/v1/payments.proto',
  ]);
}

/** `ferry import --reflection` of the Payments service from the live peer into `yamlPath`. */
function importPayments(yamlPath: string): ReturnType<typeof ferryCli> {
  return ferryCli(['import', '--reflection', peer.address, '--service', 'example.payments.v1.Payments', '--out', yamlPath]);
}

before(async () => {
  peer = await startGrpcPeer({ reflection: true });
  dir = await mkdtemp(path.join(tmpdir(), 'ferry-reflection-'));
  const r = await importPayments(path.join(dir, 'payments.yaml'));
  assert.equal(r.code, 0, `ferry import exits 0: ${r.stderr}`);
  importStderr = r.stderr;
  const shipped = (await readFile('mappings/payments.yaml', 'utf8'))
    .replaceAll('127.0.0.1:50061', peer.address)
    .replaceAll('proto: ../idl/', `proto: ${path.resolve('idl')}/`);
  hand = await startTestFerry({ withoutSamples: true, extra: { 'payments.yaml': shipped } });
});

after(async () => {
  await imported?.close();
  await hand?.close();
  await peer?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('ferry import --reflection from the Python grpcio server', () => {
  test('writes the mapping and the descriptor set, through the v1alpha fallback, and says what it wrote', async () => {
    assert.deepEqual((await readdir(dir)).sort(), ['payments.binpb', 'payments.yaml']);
    assert.match(importStderr, /example\.payments\.v1\.Payments: 13 methods, 12 with google\.api\.http routes, 1 routes written/);
    assert.match(importStderr, /descriptor files \(reflection v1alpha\) → .*payments\.binpb/);
    const text = await readFile(path.join(dir, 'payments.yaml'), 'utf8');
    assert.match(text, /descriptorSet: payments\.binpb/);
    assert.match(text, /service: example\.payments\.v1\.Payments/);
    assert.match(text, new RegExp(`endpoints: \\[${peer.address.replaceAll('.', '\\.')}\\]`));
    assert.match(text, /http: POST \/example\.payments\.v1\.Payments\/Ping/);
    assert.doesNotMatch(text, /proto:/, 'no .proto is named');
  });

  test('the descriptor set holds what protoc (grpcio-tools) compiles from the same .proto, file for file', async () => {
    const fromProtoc = path.join(dir, 'protoc.binpb.tmp');
    await protoc(path.resolve('idl'), fromProtoc);
    // Read by Python's descriptor_pb2: each file's name, message count and method count.
    const script = [
      'import sys',
      'from google.protobuf import descriptor_pb2',
      'for name in sys.argv[1:]:',
      '    s = descriptor_pb2.FileDescriptorSet()',
      '    s.ParseFromString(open(name, "rb").read())',
      '    print(" ".join(sorted(f"{f.name}:{len(f.message_type)}:{sum(len(x.method) for x in f.service)}" for f in s.file)))',
    ].join('\n');
    const { stdout } = await run(VENV_PYTHON, ['-c', script, path.join(dir, 'payments.binpb'), fromProtoc]);
    const [ours, theirs] = stdout.trim().split('\n');
    assert.equal(ours, theirs, 'the same files, messages and methods as protoc --include_imports');
    assert.match(ours!, /payments\/v1\/payments\.proto:\d+:13/, 'payments.proto with its 13 methods');
    await rm(fromProtoc);
  });

  test('ferry validate accepts the imported mapping, with the routes the google.api.http options give', async () => {
    const r = await ferryCli(['validate', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1 services, 0 types, 1 routes \(\+13 from proto options\) — OK/);
  });

  test('serving it needs no reflection server: the answers equal the hand-written mapping’s for the same calls', async () => {
    imported = await startFerry({ mappingsDir: dir, port: 0, watch: false });
    const base = `http://127.0.0.1:${imported.httpPort}`;
    const calls: Array<[string, string, unknown?]> = [
      ['GET', '/v1/accounts/a1/payments/p9'],
      ['GET', '/v1/accounts/a1/payments?pageSize=2&filter.state=PENDING&filter.minUnits=9223372036854775807'],
      ['POST', '/v1/accounts/a2/payments?requestId=r-7', { amount: { currencyCode: 'USD', units: '12', nanos: 5 }, memo: 'x' }],
      ['PATCH', '/v1/accounts/a1/payments/p1?updateMask=memo,amount.units', { note: 'patched', labels: { a: 'b' } }],
      ['POST', '/v1/payments:search', '{"parents":["accounts/a1"],"filter":{"minUnits":9223372036854775807,"state":"PENDING"},"limit":2}'],
      ['POST', '/v1/accounts/a1/payments/p2:capture', { amount: { currencyCode: 'EUR', units: '3' } }],
      ['POST', '/v1/captures/x/y/z', { currencyCode: 'EUR', units: '4' }],
      ['GET', '/v1/accounts/a1/payments/p3/state'],
      ['DELETE', '/v1/accounts/a1/payments/locked'],
      ['DELETE', '/v1/accounts/a1/payments/locked?force=true'],
      ['GET', '/v1/accounts/a1/payments/missing'],
      ['GET', '/v1/accounts/a3/payments:watch?count=3'],
      ['POST', '/v1/debug:fail', { code: 5, message: 'gone', withDetails: true }],
      ['POST', '/v1/payments:search', { parents: [], bogus: 1 }],
    ];
    const view = (r: HttpResult) => ({
      status: r.status,
      type: r.headers.get('content-type'),
      servedBy: r.headers.get('grpc-metadata-x-served-by'),
      // Problem documents carry a fresh trace id each time.
      body: r.text.replace(/"traceId":"[0-9a-f]+"/g, '"traceId":"…"'),
    });
    for (const [method, p, body] of calls) {
      const a = await http(hand.base, method, p, body);
      const b = await http(base, method, p, body);
      assert.deepEqual(view(b), view(a), `${method} ${p}: the imported mapping answers as the hand-written one`);
    }
    assert.equal((await http(base, 'GET', '/v1/accounts/a1/payments/p9')).status, 200, 'and the answers are real ones');
    // Ping has no google.api.http option: hand-written GET /v1/ping, imported POST /<package.Service>/Ping.
    const handPing = await http(hand.base, 'GET', '/v1/ping?text=hey');
    const imp = await http(base, 'POST', '/example.payments.v1.Payments/Ping', { text: 'hey' });
    assert.equal(imp.status, 200, imp.text);
    assert.equal(imp.json.text, handPing.json.text);
    assert.match(imp.json.serverTimeNanos, /^\d+$/, 'int64 as a string, as in the hand-written answer');
  });

  test('a re-import never overwrites the (hand-edited) mapping; it writes .new files and lists what changed in the provider', async () => {
    const out = await mkdtemp(path.join(dir, 'again-'));
    const edited = `${await readFile(path.join(dir, 'payments.yaml'), 'utf8')}# hand edit\n`;
    await writeFile(path.join(out, 'payments.yaml'), edited);
    // The schema an earlier import saw: payments.proto without Ping and with one more Money field (protoc from grpcio-tools).
    const proto = (await readFile('idl/payments/v1/payments.proto', 'utf8'))
      .replace('  rpc Ping(PingRequest) returns (PingReply);\n', '')
      .replace('  int32 nanos = 3;\n', '  int32 nanos = 3;\n  string legacy_code = 4;\n');
    const idl = await mkdtemp(path.join(dir, 'idl-'));
    await mkdir(path.join(idl, 'payments/v1'), { recursive: true });
    await writeFile(path.join(idl, 'payments/v1/payments.proto'), proto);
    await protoc(idl, path.join(out, 'payments.binpb'));
    const before = await readFile(path.join(out, 'payments.binpb'));
    const r = await importPayments(path.join(out, 'payments.yaml'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readFile(path.join(out, 'payments.yaml'), 'utf8'), edited, 'the hand-edited mapping is as it was');
    assert.deepEqual(await readFile(path.join(out, 'payments.binpb')), before, 'and so is the descriptor set it names');
    assert.deepEqual((await readdir(out)).sort(), ['payments.binpb', 'payments.binpb.new', 'payments.yaml', 'payments.yaml.new']);
    assert.match(r.stderr, /exists and was left as it is; the fresh import is .*payments\.yaml\.new\. Changes since:/);
    assert.match(r.stderr, /method example\.payments\.v1\.Payments\.Ping added/);
    assert.match(r.stderr, /field example\.payments\.v1\.Money\.legacy_code removed/);
    assert.doesNotMatch(r.stderr, /GetPayment/, 'unchanged methods are not listed');
  });
});

describe('run time: reflection: instead of proto:', () => {
  const mapping = (address: string) =>
    [
      'services:',
      '  payments:',
      '    protocol: grpc',
      '    service: example.payments.v1.Payments',
      '    reflection: { timeout: 5s }',
      `    endpoints: [${address}]`,
      'routes:',
      '  - id: ping',
      '    http: GET /v1/ping',
      '    call: payments.Ping',
      '',
    ].join('\n');

  test('a mapping with no proto file serves through the Python peer, google.api.http routes included', async () => {
    const mappings = await mkdtemp(path.join(dir, 'runtime-'));
    await writeFile(path.join(mappings, 'payments.yaml'), mapping(peer.address));
    const ferry = await startFerry({ mappingsDir: mappings, port: 0, watch: false });
    try {
      const base = `http://127.0.0.1:${ferry.httpPort}`;
      for (const p of ['/v1/accounts/a1/payments/p9', '/v1/accounts/a1/payments/missing', '/v1/accounts/a3/payments:watch?count=2']) {
        const a = await http(hand.base, 'GET', p);
        const b = await http(base, 'GET', p);
        assert.equal(b.status, a.status, `GET ${p}: ${b.text}`);
        assert.equal(b.text.replace(/"traceId":"[0-9a-f]+"/g, ''), a.text.replace(/"traceId":"[0-9a-f]+"/g, ''), `GET ${p}: the same body`);
      }
      const ping = await http(base, 'GET', '/v1/ping?text=yo');
      assert.equal(ping.status, 200, ping.text);
      assert.equal(ping.json.text, 'yo');
      const capture = await http(base, 'POST', '/v1/captures/x/y', { currencyCode: 'EUR', units: '4' });
      assert.equal(capture.status, 200, `an additional_bindings route of the reflected options: ${capture.text}`);
    } finally {
      await ferry.close();
    }
  });

  test('an upstream that comes up after Ferry: 503 FERRY_GRPC_SCHEMA_UNAVAILABLE, then the schema arrives and the routes serve', async () => {
    const port = await freePort();
    const mappings = await mkdtemp(path.join(dir, 'late-'));
    await writeFile(path.join(mappings, 'payments.yaml'), mapping(`127.0.0.1:${port}`).replace('timeout: 5s', 'timeout: 1s'));
    const ferry = await startFerry({ mappingsDir: mappings, port: 0, watch: false });
    let late: GrpcPeer | undefined;
    try {
      const base = `http://127.0.0.1:${ferry.httpPort}`;
      const first = await http(base, 'GET', '/v1/ping?text=early');
      assert.equal(first.status, 503, first.text);
      assert.equal(first.json.code, 'FERRY_GRPC_SCHEMA_UNAVAILABLE');
      assert.equal((await http(base, 'GET', '/v1/accounts/a1/payments/p9')).status, 404, 'derived routes appear only with the schema');
      late = await startGrpcPeer({ reflection: true, port });
      let r = first;
      for (let i = 0; i < 60 && r.status !== 200; i++) {
        await new Promise((res) => setTimeout(res, 500));
        r = await http(base, 'GET', '/v1/ping?text=late');
      }
      assert.equal(r.status, 200, `the schema arrived in the background: ${r.text}`);
      assert.equal(r.json.text, 'late');
      assert.equal((await http(base, 'GET', '/v1/accounts/a1/payments/p9')).status, 200, 'and with it the google.api.http routes');
    } finally {
      await ferry.close();
      await late?.stop();
    }
  });
});
