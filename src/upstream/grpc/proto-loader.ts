/**
 * Loads .proto files into one protobufjs Root, keeping field names as written (keepCase) so the
 * JSON mapping can apply protoc's json_name rules itself. Imports resolve against the importing
 * file's folder, then the include folders (idl/ first), then protobufjs' bundled well-known types.
 */
import path from 'node:path';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { FerryError } from '../../errors/index.js';
import { decodeDescriptorSet, descriptorsToJson, orderedFiles, type FileDesc } from './descriptors.js';

/** The idl/ folder that ships with Ferry (google/api, google/rpc and the samples). */
export function ferryIdlDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../idl');
}

/** Folder of protobufjs' own google/protobuf/*.proto (descriptor.proto is not built in). */
function protobufjsDir(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('protobufjs/package.json'));
}

// Every well-known type is loaded, so an Any can carry any of them even when no file imports it.
// (A fixed list: @grpc/proto-loader adds more entries to protobuf.common in the same process.)
const WELL_KNOWN = ['any', 'duration', 'empty', 'field_mask', 'struct', 'timestamp', 'wrappers'].map((n) => `google/protobuf/${n}.proto`);

export interface ProtoLoadOptions {
  /** Folders searched for imports, in order. Ferry's idl/ is always added last. */
  readonly includeDirs?: readonly string[];
}

/**
 * Loads `files` (absolute paths) and everything they import, plus all well-known types and
 * google/rpc status and error details (for decoding `grpc-status-details-bin`). Throws FERRY_CONFIG_INVALID naming the file.
 */
export function loadProtoRoot(files: readonly string[], opts: ProtoLoadOptions = {}): protobuf.Root {
  const idl = ferryIdlDir();
  const pbDir = protobufjsDir();
  const includes = [...(opts.includeDirs ?? []), idl];
  const root = new protobuf.Root();
  root.resolvePath = (origin: string, target: string): string | null => {
    if (path.isAbsolute(target)) return target;
    if (target in protobuf.common) return target;
    if (origin !== '') {
      const near = path.resolve(path.dirname(origin), target);
      if (existsSync(near)) return near;
    }
    for (const dir of includes) {
      const p = path.join(dir, target);
      if (existsSync(p)) return p;
    }
    const bundled = path.join(pbDir, target);
    if (existsSync(bundled)) return bundled;
    return target;
  };
  const all = [...files, ...WELL_KNOWN, path.join(idl, 'google/rpc/status.proto'), path.join(idl, 'google/rpc/error_details.proto')];
  try {
    root.loadSync(all, { keepCase: true, alternateCommentMode: false });
    root.resolveAll();
  } catch (err) {
    throw new FerryError('FERRY_CONFIG_INVALID', `cannot load proto ${files.join(', ')}: ${(err as Error).message}`, { cause: err });
  }
  return root;
}

/**
 * A Root from decoded FileDescriptorProtos (a descriptor set file, or what a reflection service
 * sent), plus the well-known types and google/rpc status and error details that the descriptors do
 * not carry themselves. Throws FERRY_CONFIG_INVALID naming `what`.
 */
export function loadDescriptorRoot(files: readonly FileDesc[], what: string): protobuf.Root {
  let root: protobuf.Root;
  try {
    root = protobuf.Root.fromJSON(descriptorsToJson(orderedFiles(files)));
    const have = new Set(files.map((f) => f.name));
    // Added without protobufjs' import loading, which would bring its bundled copies of files the descriptors already define.
    for (const f of WELL_KNOWN) {
      if (have.has(f)) continue;
      const json = protobuf.common.get(f);
      if (json?.nested !== undefined) root.addJSON(json.nested);
    }
    for (const f of ['google/rpc/status.proto', 'google/rpc/error_details.proto']) {
      if (!have.has(f)) protobuf.parse(readFileSync(path.join(ferryIdlDir(), f), 'utf8'), root, { keepCase: true, alternateCommentMode: false });
    }
    root.resolveAll();
  } catch (err) {
    throw new FerryError('FERRY_CONFIG_INVALID', `cannot use the descriptors of ${what}: ${(err as Error).message}`, { cause: err });
  }
  return root;
}

/** Largest descriptor set file read. */
export const MAX_DESCRIPTOR_SET_BYTES = 64 * 1024 * 1024;

/** A Root from a FileDescriptorSet file (`protoc --descriptor_set_out --include_imports`, `buf build -o`, `ferry import --reflection`). */
export function loadDescriptorSetFile(file: string): protobuf.Root {
  let bytes: Buffer;
  try {
    const size = statSync(file).size;
    if (size > MAX_DESCRIPTOR_SET_BYTES) throw new Error(`it is ${size} bytes, over the budget of ${MAX_DESCRIPTOR_SET_BYTES}`);
    bytes = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FerryError('FERRY_CONFIG_INVALID', `cannot read descriptor set ${file}: ${code ?? (err as Error).message}`, { cause: err });
  }
  let files: FileDesc[];
  try {
    files = decodeDescriptorSet(bytes);
  } catch (err) {
    throw new FerryError('FERRY_CONFIG_INVALID', `${file} is not a descriptor set: ${(err as Error).message}`, { cause: err });
  }
  return loadDescriptorRoot(files, file);
}
