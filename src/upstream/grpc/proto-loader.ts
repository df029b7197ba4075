/**
 * Loads .proto files into one protobufjs Root, keeping field names as written (keepCase) so the
 * JSON mapping can apply protoc's json_name rules itself. Imports resolve against the importing
 * file's folder, then the include folders (idl/ first), then protobufjs' bundled well-known types.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { FerryError } from '../../errors/index.js';

/** The idl/ folder that ships with Ferry (google/api, google/rpc and the samples). */
export function ferryIdlDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../idl');
}

/** Folder of protobufjs' own google/protobuf/*.proto (descriptor.proto is not built in). */
function protobufjsDir(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('protobufjs/package.json'));
}

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
  // Every well-known type is loaded, so an Any can carry any of them even when no file imports it.
  // (A fixed list: @grpc/proto-loader adds more entries to protobuf.common in the same process.)
  const wellKnown = ['any', 'duration', 'empty', 'field_mask', 'struct', 'timestamp', 'wrappers'].map((n) => `google/protobuf/${n}.proto`);
  const all = [...files, ...wellKnown, path.join(idl, 'google/rpc/status.proto'), path.join(idl, 'google/rpc/error_details.proto')];
  try {
    root.loadSync(all, { keepCase: true, alternateCommentMode: false });
    root.resolveAll();
  } catch (err) {
    throw new FerryError('FERRY_CONFIG_INVALID', `cannot load proto ${files.join(', ')}: ${(err as Error).message}`, { cause: err });
  }
  return root;
}
