/**
 * `ferry import --reflection HOST:PORT`: a mapping for gRPC services read from the server's own
 * reflection service, for services with no .proto at hand. Two files are written, each atomically
 * (a temporary file renamed into place), and only once everything has been fetched and checked:
 *
 * - `<name>.binpb`, a FileDescriptorSet holding the services' files and everything they import,
 *   byte for byte as the server sent them (what `protoc --descriptor_set_out --include_imports`
 *   writes), so the mapping validates and serves with no reflection server afterwards;
 * - `<name>.yaml`, one service per gRPC service with `descriptorSet: <name>.binpb`, and routes by one
 *   convention: a method with `google.api.http` options gets its routes from them (as with `proto:`,
 *   no entry is written; a comment lists them), every other method `POST /<package.Service>/<Method>`
 *   with the request message as the JSON body (`body: "*"`); server-streaming replies come as NDJSON;
 *   client-streaming methods are left out (one HTTP request cannot drive them).
 *
 * An existing mapping is never overwritten: the fresh import goes to `<name>.yaml.new` and
 * `<name>.binpb.new`, and what changed since the existing descriptor set is reported (methods
 * added, removed or changed, fields of the messages they reach added, removed or changed).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type protobuf from 'protobufjs';
import { SignatureSourceError } from '../errors/index.js';
import { GrpcEndpoint } from '../upstream/grpc/client.js';
import { decodeDescriptorSet, encodeDescriptorSet, type FileDesc } from '../upstream/grpc/descriptors.js';
import { loadDescriptorRoot } from '../upstream/grpc/proto-loader.js';
import { DEFAULT_REFLECTION_BUDGETS, fetchReflectedSchema, type ReflectionBudgets } from '../upstream/grpc/reflection.js';
import { httpBindingsOf } from '../mapping/grpc/routes.js';
import { Metadata } from '@grpc/grpc-js';
import { writeFileAtomically } from './import.js';

export interface ReflectionImportOptions {
  /** The server to ask, `host:port`. */
  readonly address: string;
  /** Full service names to import; every service the server lists when absent. */
  readonly services?: readonly string[];
  /** The mapping file to write (the descriptor set goes beside it, `.binpb`). */
  readonly out: string;
  /** `endpoints:` of the written services (default: `address`). */
  readonly endpoints?: readonly string[];
  readonly budgets?: Partial<ReflectionBudgets>;
}

export interface ReflectionImportResult {
  readonly services: ReadonlyArray<{
    readonly name: string;
    readonly methods: number;
    readonly routes: number;
    readonly fromHttpRules: number;
    readonly skipped: readonly string[];
  }>;
  readonly files: number;
  readonly version: string;
  /** Where the mapping and the descriptor set were written (`.new` when the mapping existed). */
  readonly written: { readonly mapping: string; readonly descriptorSet: string };
  /** What changed since the existing descriptor set (only when the mapping existed). */
  readonly changes?: readonly string[];
}

/** The mapping service key of a proto service: its simple name, first letter lower-case (`payments`). */
function serviceKey(fullName: string, taken: Set<string>): string {
  const simple = fullName.slice(fullName.lastIndexOf('.') + 1);
  let key = simple.charAt(0).toLowerCase() + simple.slice(1).replace(/[^A-Za-z0-9_-]/g, '_');
  if (!/^[A-Za-z_]/.test(key)) key = `s${key}`;
  for (let i = 2; taken.has(key); i++) key = `${key.replace(/\d+$/, '')}${i}`;
  taken.add(key);
  return key;
}

export async function runReflectionImport(opts: ReflectionImportOptions): Promise<ReflectionImportResult> {
  const budgets = { ...DEFAULT_REFLECTION_BUDGETS, ...opts.budgets };
  if (!/^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(opts.address)) {
    throw new SignatureSourceError(`--reflection takes host:port, got "${opts.address}"`);
  }
  const endpoint = new GrpcEndpoint({ endpoint: opts.address, maxReceiveBytes: budgets.maxBytes });
  let schema;
  try {
    schema = await fetchReflectedSchema(
      (p, requests, deadline) => endpoint.serverStream(p, requests, { metadata: new Metadata(), deadline }),
      opts.address,
      opts.services,
      budgets,
    );
  } finally {
    endpoint.destroy();
  }
  let root: protobuf.Root;
  try {
    root = loadDescriptorRoot(schema.files, `the reflection service at ${opts.address}`);
  } catch (err) {
    throw new SignatureSourceError((err as Error).message);
  }

  const base = opts.out.replace(/\.ya?ml$/, '');
  const setName = `${path.basename(base)}.binpb`;
  const taken = new Set<string>();
  const lines: string[] = [
    `# Written by \`ferry import --reflection ${opts.address}\` (gRPC server reflection ${schema.version}).`,
    `# The schema is ${setName}, a FileDescriptorSet with every file the services need: no .proto and no`,
    '# reflection server are needed to serve this mapping. Edit it freely: a new import never overwrites it.',
    '# Routes: a method with google.api.http options gets its routes from them; every other method is',
    '# POST /<package.Service>/<Method> with the request message as the JSON body.',
    'services:',
  ];
  const routeLines: string[] = [];
  const summary: Array<{ name: string; methods: number; routes: number; fromHttpRules: number; skipped: string[] }> = [];
  for (const full of schema.services) {
    let svc: protobuf.Service;
    try {
      svc = root.lookupService(full);
    } catch {
      throw new SignatureSourceError(`${opts.address}: the descriptors it sent declare no service ${full}`);
    }
    const key = serviceKey(full, taken);
    lines.push(
      `  ${key}:`,
      '    protocol: grpc',
      `    descriptorSet: ${setName}`,
      `    service: ${full}`,
      `    endpoints: [${(opts.endpoints ?? [opts.address]).join(', ')}]`,
    );
    const fromRules: string[] = [];
    const skipped: string[] = [];
    let routes = 0;
    for (const m of svc.methodsArray) {
      if (m.requestStream) {
        skipped.push(`${m.name}: client streaming, which one HTTP request cannot drive`);
        continue;
      }
      if (httpBindingsOf(m).length > 0) {
        fromRules.push(m.name);
        continue;
      }
      routes++;
      routeLines.push(`  - id: ${key}.${m.name}`, `    http: POST /${full}/${m.name}`, `    call: ${key}.${m.name}`, '    body: "*"');
    }
    if (fromRules.length > 0) lines.push(`    # routes from google.api.http options: ${fromRules.join(', ')}`);
    for (const s of skipped) lines.push(`    # not imported: ${s}`);
    summary.push({ name: full, methods: svc.methodsArray.length, routes, fromHttpRules: fromRules.length, skipped });
  }
  lines.push(...(routeLines.length > 0 ? ['', 'routes:', ...routeLines] : []));
  const text = `${lines.join('\n')}\n`;
  const setBytes = encodeDescriptorSet(schema.files);

  const setFile = path.join(path.dirname(opts.out), setName);
  const existed = existsSync(opts.out);
  const written = existed ? { mapping: `${opts.out}.new`, descriptorSet: `${setFile}.new` } : { mapping: opts.out, descriptorSet: setFile };
  const changes = existed ? changesSince(setFile, root, schema.services) : undefined;
  // The descriptor set first: a mapping is never there without the schema it names.
  writeFileAtomically(written.descriptorSet, setBytes);
  writeFileAtomically(written.mapping, text);
  return { services: summary, files: schema.files.length, version: schema.version, written, ...(changes !== undefined ? { changes } : {}) };
}

/** What the provider changed since the descriptor set an earlier import wrote. */
function changesSince(setFile: string, fresh: protobuf.Root, services: readonly string[]): string[] {
  let old: protobuf.Root;
  try {
    const files: FileDesc[] = decodeDescriptorSet(readFileSync(setFile));
    old = loadDescriptorRoot(files, setFile);
  } catch (err) {
    return [`${setFile} cannot be compared (${(err as Error).message})`];
  }
  const out: string[] = [];
  const seen = new Set<string>();
  const compareType = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const now = fresh.lookup(name);
    const before = old.lookup(name);
    if (!(now instanceof Object) || !('fieldsArray' in now)) return;
    const t = now as protobuf.Type;
    const b = before !== null && 'fieldsArray' in before ? (before as protobuf.Type) : undefined;
    if (b === undefined) out.push(`message ${name.replace(/^\./, '')} added`);
    for (const f of t.fieldsArray) {
      f.resolve();
      const was = b?.fields[f.name];
      const desc = fieldText(f);
      if (b !== undefined && was === undefined) out.push(`field ${name.replace(/^\./, '')}.${f.name} added (${desc})`);
      else if (was !== undefined && (was.resolve(), fieldText(was)) !== desc)
        out.push(`field ${name.replace(/^\./, '')}.${f.name} changed: ${fieldText(was)} → ${desc}`);
      if (f.resolvedType !== null && 'fieldsArray' in f.resolvedType) compareType(f.resolvedType.fullName);
    }
    for (const f of b?.fieldsArray ?? []) if (t.fields[f.name] === undefined) out.push(`field ${name.replace(/^\./, '')}.${f.name} removed`);
  };
  for (const full of services) {
    const now = fresh.lookupService(full);
    let before: protobuf.Service | undefined;
    try {
      before = old.lookupService(full);
    } catch {
      out.push(`service ${full} added`);
    }
    for (const m of now.methodsArray) {
      m.resolve();
      const was = before?.methods[m.name];
      if (before !== undefined && was === undefined) out.push(`method ${full}.${m.name} added`);
      else if (was !== undefined && (was.resolve(), methodText(was)) !== methodText(m))
        out.push(`method ${full}.${m.name} changed: ${methodText(was)} → ${methodText(m)}`);
      compareType(m.resolvedRequestType!.fullName);
      compareType(m.resolvedResponseType!.fullName);
    }
    for (const m of before?.methodsArray ?? []) if (now.methods[m.name] === undefined) out.push(`method ${full}.${m.name} removed`);
  }
  return out;
}

function fieldText(f: protobuf.Field): string {
  const type = f.resolvedType?.fullName.replace(/^\./, '') ?? f.type;
  const map = (f as { map?: boolean; keyType?: string }).map === true ? `map<${(f as { keyType?: string }).keyType}, ${type}>` : undefined;
  return `${map ?? (f.repeated ? `repeated ${type}` : type)} = ${f.id}`;
}

function methodText(m: protobuf.Method): string {
  const t = (x: protobuf.Type | null | undefined): string => x?.fullName.replace(/^\./, '') ?? '?';
  return `(${m.requestStream ? 'stream ' : ''}${t(m.resolvedRequestType)}) returns (${m.responseStream ? 'stream ' : ''}${t(m.resolvedResponseType)})`;
}
