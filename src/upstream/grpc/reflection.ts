/**
 * A client of gRPC server reflection (grpc/reflection/v1 reflection.proto, and v1alpha, which has
 * the same messages, for servers that only have that): lists the services, then fetches the
 * FileDescriptorProtos of the asked services and, wave by wave, the files they import, until every
 * import is there. Each wave is one ServerReflectionInfo stream carrying all its requests at once
 * (servers answer each request in turn), so a fetch costs as many round trips as the import graph
 * is deep, not one per file.
 *
 * Everything the server sends is under budget: one deadline for the whole fetch, the total bytes of
 * descriptors, the number of files, and exactly one response per request. A failure is a
 * SignatureSourceError (FERRY_SIGNATURE_SOURCE_INVALID) that says what went wrong and where.
 * The messages are encoded and decoded here from the field numbers of reflection.proto.
 */
import protobuf from 'protobufjs';
import { DEFAULT_REFLECTION_SETTINGS, type ReflectionSettings } from '../../config/types.js';
import { FerryError, SignatureSourceError } from '../../errors/index.js';
import type { GrpcStreamResult } from './client.js';
import { decodeFileDescriptor, DescriptorError, type FileDesc } from './descriptors.js';

/** The whole fetch's time (every wave included), descriptor bytes received (duplicates counted) and distinct files. */
export type ReflectionBudgets = ReflectionSettings;
export const DEFAULT_REFLECTION_BUDGETS: ReflectionBudgets = DEFAULT_REFLECTION_SETTINGS;

export type ReflectionVersion = 'v1' | 'v1alpha';

/** The method path of ServerReflectionInfo in `version`. */
export function reflectionPath(version: ReflectionVersion): string {
  return `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`;
}

/**
 * Opens one ServerReflectionInfo stream on `path` that sends `requests` and half-closes; the
 * deadline is absolute (epoch ms). The service's own client, or one endpoint for `ferry import`.
 */
export type ReflectionStreamOpener = (
  path: string,
  requests: readonly Uint8Array[],
  deadline: number,
) => Promise<GrpcStreamResult> | GrpcStreamResult;

export interface ReflectedSchema {
  /** The services the server lists (reflection's own left out), or the ones asked for. */
  readonly services: readonly string[];
  /** Every file fetched: the services' files and all they import. */
  readonly files: readonly FileDesc[];
  readonly version: ReflectionVersion;
}

// ---- messages ---------------------------------------------------------------------------------

/** ServerReflectionRequest: host 1, file_by_filename 3, file_containing_symbol 4, list_services 7. */
type Request = { readonly kind: 'file' | 'symbol' | 'list'; readonly value: string };

function encodeRequest(q: Request): Uint8Array {
  const field = q.kind === 'file' ? 3 : q.kind === 'symbol' ? 4 : 7;
  return protobuf.Writer.create()
    .uint32((field << 3) | 2)
    .string(q.value)
    .finish();
}

type Response =
  | { readonly kind: 'files'; readonly files: readonly Uint8Array[] }
  | { readonly kind: 'services'; readonly names: readonly string[] }
  | { readonly kind: 'error'; readonly code: number; readonly message: string }
  | { readonly kind: 'other' };

/**
 * ServerReflectionResponse: valid_host 1, original_request 2, file_descriptor_response 4
 * (file_descriptor_proto 1, repeated bytes), list_services_response 6 (service 1 → name 1),
 * error_response 7 (error_code 1, error_message 2).
 */
function decodeResponse(bytes: Uint8Array): Response {
  let out: Response = { kind: 'other' };
  readAll(bytes, 'ServerReflectionResponse', (r, f, w) => {
    if (f === 4) {
      const files: Uint8Array[] = [];
      readAll(len(r, w), 'FileDescriptorResponse', (o, of, ow) => {
        if (of !== 1) return false;
        files.push(len(o, ow));
        return true;
      });
      out = { kind: 'files', files };
    } else if (f === 6) {
      const names: string[] = [];
      readAll(len(r, w), 'ListServiceResponse', (o, of, ow) => {
        if (of !== 1) return false;
        readAll(len(o, ow), 'ServiceResponse', (s, sf, sw) => {
          if (sf !== 1) return false;
          names.push(Buffer.from(len(s, sw)).toString('utf8'));
          return true;
        });
        return true;
      });
      out = { kind: 'services', names };
    } else if (f === 7) {
      let code = 2;
      let message = '';
      readAll(len(r, w), 'ErrorResponse', (o, of, ow) => {
        if (of === 1 && ow === 0) code = o.int32();
        else if (of === 2) message = Buffer.from(len(o, ow)).toString('utf8');
        else return false;
        return true;
      });
      out = { kind: 'error', code, message };
    } else return false;
    return true;
  });
  return out;
}

function readAll(bytes: Uint8Array, what: string, on: (r: protobuf.Reader, field: number, wire: number) => boolean): void {
  const r = protobuf.Reader.create(bytes);
  try {
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag >>> 3 === 0) throw new Error('field number 0');
      if (!on(r, tag >>> 3, tag & 7)) r.skipType(tag & 7);
    }
  } catch (err) {
    throw new DescriptorError(`a ${what} that is not valid protobuf (${(err as Error).message})`);
  }
}

function len(r: protobuf.Reader, wire: number): Uint8Array {
  if (wire !== 2) throw new Error(`wire type ${wire} where a length-delimited field belongs`);
  return r.bytes();
}

const GRPC_NAMES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED'];
const codeName = (code: number): string => GRPC_NAMES[code] ?? `code ${code}`;

// ---- the fetch --------------------------------------------------------------------------------

/** Reflection's own services, never imported. */
const REFLECTION_SERVICES = /^grpc\.reflection\.v1(alpha)?\.ServerReflection$/;

/**
 * Fetches the descriptors of `services` (all the listed ones when absent) from `where` through
 * `open`. v1 first; v1alpha when the server answers v1 with UNIMPLEMENTED.
 */
export async function fetchReflectedSchema(
  open: ReflectionStreamOpener,
  where: string,
  services: readonly string[] | undefined,
  budgets: ReflectionBudgets = DEFAULT_REFLECTION_BUDGETS,
): Promise<ReflectedSchema> {
  const deadline = Date.now() + budgets.timeoutMs;
  let version: ReflectionVersion = 'v1';
  const state = { bytes: 0 };
  const wave = async (requests: readonly Request[]): Promise<Response[]> => {
    try {
      return await runWave(open, reflectionPath(version), requests, deadline, budgets, state, where);
    } catch (err) {
      if (version === 'v1' && err instanceof FerryError && err.details.upstreamStatus === 12) {
        version = 'v1alpha';
        return runWave(open, reflectionPath(version), requests, deadline, budgets, state, where);
      }
      throw err;
    }
  };

  let names = services;
  if (names === undefined) {
    const [listed] = await wave([{ kind: 'list', value: '' }]);
    if (listed!.kind === 'error')
      throw new SignatureSourceError(`${where}: the reflection service refused to list services (${codeName(listed!.code)}: ${listed!.message})`);
    if (listed!.kind !== 'services') throw new SignatureSourceError(`${where}: the reflection service answered list_services with something else`);
    names = listed!.names.filter((n) => !REFLECTION_SERVICES.test(n));
    if (names.length === 0) throw new SignatureSourceError(`${where}: the reflection service lists no service besides its own`);
  }
  const files = new Map<string, FileDesc>();
  const take = (raw: readonly Uint8Array[]): void => {
    for (const bytes of raw) {
      let file: FileDesc;
      try {
        file = decodeFileDescriptor(bytes);
      } catch (err) {
        throw new SignatureSourceError(`${where}: the reflection service sent ${err instanceof Error ? err.message : String(err)}`);
      }
      if (files.has(file.name)) continue;
      if (files.size >= budgets.maxFiles) {
        throw new SignatureSourceError(`${where}: the reflection service sent more than ${budgets.maxFiles} descriptor files (the budget)`);
      }
      files.set(file.name, file);
    }
  };

  const bySymbol = await wave(names.map((n) => ({ kind: 'symbol', value: n })));
  bySymbol.forEach((r, i) => {
    if (r.kind === 'error')
      throw new SignatureSourceError(`${where}: the reflection service has no descriptor for ${names[i]} (${codeName(r.code)}: ${r.message})`);
    if (r.kind !== 'files')
      throw new SignatureSourceError(`${where}: the reflection service answered file_containing_symbol ${names[i]} with something else`);
    take(r.files);
  });
  // Imports not sent yet, wave by wave, until none is missing.
  for (;;) {
    const missing = new Map<string, string>();
    for (const f of files.values()) for (const d of f.dependencies) if (!files.has(d) && !missing.has(d)) missing.set(d, f.name);
    if (missing.size === 0) break;
    const wanted = [...missing.keys()];
    const answers = await wave(wanted.map((n) => ({ kind: 'file', value: n })));
    answers.forEach((r, i) => {
      if (r.kind === 'error') {
        throw new SignatureSourceError(
          `${where}: ${missing.get(wanted[i]!)} imports ${wanted[i]}, which the reflection service does not have (${codeName(r.code)}: ${r.message})`,
        );
      }
      if (r.kind !== 'files')
        throw new SignatureSourceError(`${where}: the reflection service answered file_by_filename ${wanted[i]} with something else`);
      take(r.files);
      if (!files.has(wanted[i]!)) throw new SignatureSourceError(`${where}: asked for ${wanted[i]}, the reflection service sent other files`);
    });
  }
  return { services: names, files: [...files.values()], version };
}

/** One stream: sends `requests`, reads exactly as many responses, under the budgets. */
async function runWave(
  open: ReflectionStreamOpener,
  path: string,
  requests: readonly Request[],
  deadline: number,
  budgets: ReflectionBudgets,
  state: { bytes: number },
  where: string,
): Promise<Response[]> {
  if (Date.now() >= deadline) throw timeout(where, budgets);
  let call: GrpcStreamResult | undefined;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      call?.cancel();
      reject(timeout(where, budgets));
    }, deadline - Date.now());
  });
  timedOut.catch(() => undefined);
  const read = async (): Promise<Response[]> => {
    call = await open(path, requests.map(encodeRequest), deadline);
    const out: Response[] = [];
    for await (const message of call.messages) {
      state.bytes += message.length;
      if (state.bytes > budgets.maxBytes) {
        call.cancel();
        throw new SignatureSourceError(`${where}: the reflection service sent more than ${budgets.maxBytes} bytes of descriptors (the budget)`);
      }
      if (out.length === requests.length) {
        call.cancel();
        throw new SignatureSourceError(`${where}: the reflection service sent more responses than it was asked for (${requests.length})`);
      }
      try {
        out.push(decodeResponse(message));
      } catch (err) {
        call.cancel();
        throw new SignatureSourceError(`${where}: the reflection service sent ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (out.length < requests.length) {
      throw new SignatureSourceError(`${where}: the reflection stream ended after ${out.length} of ${requests.length} responses`);
    }
    return out;
  };
  try {
    return await Promise.race([read(), timedOut]);
  } catch (err) {
    if (err instanceof SignatureSourceError) throw err;
    if (err instanceof FerryError && err.details.upstreamStatus === 12 && path.includes('.v1.')) throw err; // the caller tries v1alpha
    if (err instanceof FerryError && err.code === 'FERRY_UPSTREAM_TIMEOUT') throw timeout(where, budgets);
    if (err instanceof FerryError && err.details.upstreamStatus === 12) {
      throw new SignatureSourceError(`${where} has no reflection service (neither grpc.reflection.v1 nor v1alpha is implemented)`);
    }
    throw new SignatureSourceError(`${where}: reflection failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

function timeout(where: string, budgets: ReflectionBudgets): SignatureSourceError {
  return new SignatureSourceError(`${where}: the reflection service did not answer within ${budgets.timeoutMs} ms`);
}
