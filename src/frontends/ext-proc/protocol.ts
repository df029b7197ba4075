/**
 * The ext_proc wire types as @grpc/proto-loader hands them to us (keepCase, enums as strings,
 * longs as strings, defaults, oneofs), and the loader for Ferry's trimmed Envoy protos in idl/.
 */
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

/** Body send modes of Envoy's ProcessingMode, by name (enums load as strings). */
export type BodySendMode = 'NONE' | 'STREAMED' | 'BUFFERED' | 'BUFFERED_PARTIAL' | 'FULL_DUPLEX_STREAMED' | 'GRPC';
export type HeaderSendMode = 'DEFAULT' | 'SEND' | 'SKIP';
export type HeaderAppendAction = 'APPEND_IF_EXISTS_OR_ADD' | 'ADD_IF_ABSENT' | 'OVERWRITE_IF_EXISTS_OR_ADD' | 'OVERWRITE_IF_EXISTS';

export interface HeaderValue {
  key: string;
  value?: string;
  raw_value?: Buffer | Uint8Array;
}
export interface HeaderMap {
  headers?: HeaderValue[];
}
export interface HttpHeaders {
  headers?: HeaderMap | null;
  end_of_stream?: boolean;
}
export interface HttpBody {
  body?: Buffer | Uint8Array;
  end_of_stream?: boolean;
}
export interface HttpTrailers {
  trailers?: HeaderMap | null;
}
export interface ProtocolConfiguration {
  request_body_mode?: BodySendMode;
  response_body_mode?: BodySendMode;
  send_body_without_waiting_for_header_response?: boolean;
}

/** Which member of ProcessingRequest's `request` oneof is set. */
export type RequestKind = 'request_headers' | 'response_headers' | 'request_body' | 'response_body' | 'request_trailers' | 'response_trailers';

export interface ProcessingRequest {
  request?: RequestKind;
  request_headers?: HttpHeaders | null;
  response_headers?: HttpHeaders | null;
  request_body?: HttpBody | null;
  response_body?: HttpBody | null;
  request_trailers?: HttpTrailers | null;
  response_trailers?: HttpTrailers | null;
  observability_mode?: boolean;
  protocol_config?: ProtocolConfiguration | null;
  /**
   * Envoy's request attributes (the filter's `request_attributes`), by namespace: usually one,
   * `envoy.filters.http.ext_proc`, holding `xds.route_name`, `source.address`, ... as plain values.
   */
  attributes?: Record<string, Record<string, unknown>>;
  /** Forwarded dynamic metadata (`metadata_options.forwarding_namespaces`): namespace → fields. */
  metadata_context?: Record<string, Record<string, unknown>>;
}

export interface HeaderValueOption {
  header: { key: string; raw_value: Buffer };
  append?: { value: boolean };
  append_action?: HeaderAppendAction;
}
export interface HeaderMutation {
  set_headers?: HeaderValueOption[];
  remove_headers?: string[];
}
/** A body chunk of FULL_DUPLEX_STREAMED mode (to pass on, or of a streamed local reply). */
export interface StreamedBodyResponse {
  body: Buffer;
  end_of_stream: boolean;
}
export interface CommonResponse {
  status?: 'CONTINUE' | 'CONTINUE_AND_REPLACE';
  header_mutation?: HeaderMutation;
  /** In FULL_DUPLEX_STREAMED mode Envoy passes on only what comes back here. */
  body_mutation?: { streamed_response: StreamedBodyResponse };
}
/** One piece of a streamed local reply: exactly one member set, headers first. */
export interface StreamedImmediateResponse {
  /** `:status` among the headers; end_of_stream when no body follows. */
  headers_response?: { headers: { headers: Array<{ key: string; raw_value: Buffer }> }; end_of_stream: boolean };
  body_response?: StreamedBodyResponse;
  trailers_response?: { headers: Array<{ key: string; raw_value: Buffer }> };
}
export interface ImmediateResponse {
  status: { code: number };
  headers?: HeaderMutation;
  body?: Buffer;
  details?: string;
}
export interface ProcessingMode {
  request_header_mode?: HeaderSendMode;
  response_header_mode?: HeaderSendMode;
  request_body_mode?: BodySendMode;
  response_body_mode?: BodySendMode;
  request_trailer_mode?: HeaderSendMode;
  response_trailer_mode?: HeaderSendMode;
}

/** A ProcessingResponse to write: exactly one member of the `response` oneof is set. */
export interface ProcessingResponse {
  request_headers?: { response?: CommonResponse };
  response_headers?: { response?: CommonResponse };
  request_body?: { response?: CommonResponse };
  response_body?: { response?: CommonResponse };
  request_trailers?: { header_mutation?: HeaderMutation };
  response_trailers?: { header_mutation?: HeaderMutation };
  immediate_response?: ImmediateResponse;
  /** The local reply in FULL_DUPLEX_STREAMED mode, one piece per message. */
  streamed_immediate_response?: StreamedImmediateResponse;
  mode_override?: ProcessingMode;
  /** Dynamic metadata for Envoy: namespace → string fields (google.protobuf.Struct on the wire). */
  dynamic_metadata?: Record<string, Record<string, string>>;
  /**
   * Asks Envoy for more time for the message being processed (a reply with only this set, sent
   * before the answer). Envoy honours it once per message, up to its max_message_timeout.
   */
  override_message_timeout?: { seconds: number; nanos: number };
}

/** The folder holding Ferry's .proto files (idl/ at the repository root). */
export const IDL_ROOT = fileURLToPath(new URL('../../../idl/', import.meta.url));

/** Full gRPC path of the one method, as Envoy calls it. */
export const PROCESS_PATH = '/envoy.service.ext_proc.v3.ExternalProcessor/Process';

/**
 * Loads envoy.service.ext_proc.v3.ExternalProcessor from idl/ and returns its grpc-js service
 * definition. Called once per server start (no module-level cache).
 */
export function loadExtProcService(): grpc.ServiceDefinition {
  const definition = protoLoader.loadSync('envoy/service/ext_proc/v3/external_processor.proto', {
    includeDirs: [IDL_ROOT],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    envoy: { service: { ext_proc: { v3: { ExternalProcessor: grpc.ServiceClientConstructor } } } };
  };
  return pkg.envoy.service.ext_proc.v3.ExternalProcessor.service;
}

/** Encodes replies and decodes requests of the Process stream. */
export interface ExtProcCodec {
  decodeRequest(buf: Buffer): ProcessingRequest;
  encodeResponse(res: ProcessingResponse): Buffer;
}

/**
 * A codec straight on protobufjs types loaded from the same idl/ files. proto-loader's
 * object conversion (defaults, enum names) costs about 60 µs per request/reply pair on this
 * machine; decoding to message instances and encoding from plain objects costs about 4 µs. Enum
 * numbers are read from the .proto enums, never hard-coded, and mapped to the names the
 * session works with.
 */
export function createExtProcCodec(): ExtProcCodec {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : `${IDL_ROOT}${target}`);
  root.loadSync('envoy/service/ext_proc/v3/external_processor.proto', { keepCase: true });
  root.resolveAll();
  const requestType = root.lookupType('envoy.service.ext_proc.v3.ProcessingRequest');
  const responseType = root.lookupType('envoy.service.ext_proc.v3.ProcessingResponse');
  const bodyModes = root.lookupEnum('envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode');
  const headerModes = root.lookupEnum('envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.HeaderSendMode');
  const statuses = root.lookupEnum('envoy.service.ext_proc.v3.CommonResponse.ResponseStatus');
  const appendActions = root.lookupEnum('envoy.config.core.v3.HeaderValueOption.HeaderAppendAction');
  const num = (e: protobuf.Enum, name: string | undefined): number | undefined => (name === undefined ? undefined : e.values[name]);

  const common = (c: CommonResponse | undefined) =>
    c === undefined ? undefined : { status: num(statuses, c.status), header_mutation: mutation(c.header_mutation), body_mutation: c.body_mutation };
  const mutation = (m: HeaderMutation | undefined) =>
    m === undefined
      ? undefined
      : {
          set_headers: m.set_headers?.map((o) => ({ header: o.header, append: o.append, append_action: num(appendActions, o.append_action) })),
          remove_headers: m.remove_headers,
        };
  const mode = (m: ProcessingMode | undefined) =>
    m === undefined
      ? undefined
      : {
          request_header_mode: num(headerModes, m.request_header_mode),
          response_header_mode: num(headerModes, m.response_header_mode),
          request_body_mode: num(bodyModes, m.request_body_mode),
          response_body_mode: num(bodyModes, m.response_body_mode),
          request_trailer_mode: num(headerModes, m.request_trailer_mode),
          response_trailer_mode: num(headerModes, m.response_trailer_mode),
        };

  // google.protobuf.Struct of namespaces, each a Struct of string values (protobufjs' bundled Struct has camelCase field names).
  const struct = (namespaces: Record<string, Record<string, string>>) => ({
    fields: Object.fromEntries(
      Object.entries(namespaces).map(([ns, values]) => [
        ns,
        { structValue: { fields: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { stringValue: v }])) } },
      ]),
    ),
  });

  return {
    decodeRequest(buf) {
      const m = requestType.decode(buf) as unknown as Omit<ProcessingRequest, 'protocol_config' | 'attributes' | 'metadata_context'> & {
        protocol_config?: { request_body_mode: number; response_body_mode: number; send_body_without_waiting_for_header_response: boolean } | null;
        attributes?: Record<string, WireStruct>;
        metadata_context?: { filter_metadata?: Record<string, WireStruct> } | null;
      };
      const out: ProcessingRequest = {
        observability_mode: m.observability_mode === true,
      };
      if (m.request !== undefined) {
        out.request = m.request;
        (out as Record<string, unknown>)[m.request] = m[m.request];
      }
      if (m.attributes !== undefined && Object.keys(m.attributes).length > 0) out.attributes = structsOf(m.attributes);
      const fm = m.metadata_context?.filter_metadata;
      if (fm !== undefined && Object.keys(fm).length > 0) out.metadata_context = structsOf(fm);
      const pc = m.protocol_config;
      if (pc !== undefined && pc !== null) {
        out.protocol_config = {
          request_body_mode: bodyModes.valuesById[pc.request_body_mode] as BodySendMode,
          response_body_mode: bodyModes.valuesById[pc.response_body_mode] as BodySendMode,
          send_body_without_waiting_for_header_response: pc.send_body_without_waiting_for_header_response,
        };
      }
      return out;
    },
    encodeResponse(res) {
      const wire = {
        request_headers: res.request_headers && { response: common(res.request_headers.response) },
        response_headers: res.response_headers && { response: common(res.response_headers.response) },
        request_body: res.request_body && { response: common(res.request_body.response) },
        response_body: res.response_body && { response: common(res.response_body.response) },
        request_trailers: res.request_trailers && { header_mutation: mutation(res.request_trailers.header_mutation) },
        response_trailers: res.response_trailers && { header_mutation: mutation(res.response_trailers.header_mutation) },
        immediate_response: res.immediate_response && {
          status: res.immediate_response.status,
          headers: mutation(res.immediate_response.headers),
          body: res.immediate_response.body,
          details: res.immediate_response.details,
        },
        streamed_immediate_response: res.streamed_immediate_response,
        mode_override: mode(res.mode_override),
        dynamic_metadata: res.dynamic_metadata && struct(res.dynamic_metadata),
        override_message_timeout: res.override_message_timeout,
      };
      return Buffer.from(responseType.encode(wire).finish());
    },
  };
}

/** google.protobuf.Struct / Value as protobufjs decodes them (the bundled struct.proto names its fields in camelCase). */
interface WireStruct {
  fields?: Record<string, WireValue>;
}
interface WireValue {
  nullValue?: number;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: WireStruct;
  listValue?: { values?: WireValue[] };
}

// Struct nesting is bounded by gRPC's message size; a depth cap keeps a hostile one from exhausting the stack.
const MAX_STRUCT_DEPTH = 32;

function valueOf(v: WireValue, depth: number): unknown {
  if (depth > MAX_STRUCT_DEPTH) return null;
  // Decoded messages carry defaults on their prototype: only the member set on the wire is own.
  if (Object.hasOwn(v, 'stringValue')) return v.stringValue;
  if (Object.hasOwn(v, 'numberValue')) return v.numberValue;
  if (Object.hasOwn(v, 'boolValue')) return v.boolValue;
  if (Object.hasOwn(v, 'structValue') && v.structValue != null) return plainOf(v.structValue, depth + 1);
  if (Object.hasOwn(v, 'listValue') && v.listValue != null) return (v.listValue.values ?? []).map((x) => valueOf(x, depth + 1));
  return null;
}

function plainOf(s: WireStruct, depth: number): Record<string, unknown> {
  // No prototype: a field named __proto__ stays a field.
  const out = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(s.fields ?? {})) out[k] = valueOf(v, depth);
  return out;
}

function structsOf(byNamespace: Record<string, WireStruct>): Record<string, Record<string, unknown>> {
  return Object.fromEntries(Object.entries(byNamespace).map(([ns, s]) => [ns, plainOf(s, 0)]));
}

/**
 * The grpc-js service definition of ExternalProcessor/Process over `createExtProcCodec`. The
 * client half (response decoding) uses the same codec's types only for tests and tools.
 */
export function createExtProcServiceDefinition(codec: ExtProcCodec = createExtProcCodec()): grpc.ServiceDefinition {
  return {
    Process: {
      path: PROCESS_PATH,
      requestStream: true,
      responseStream: true,
      requestSerialize: () => {
        throw new Error('the Ferry ext_proc definition is server-side only');
      },
      requestDeserialize: (buf: Buffer) => codec.decodeRequest(buf),
      responseSerialize: (res: ProcessingResponse) => codec.encodeResponse(res),
      responseDeserialize: () => {
        throw new Error('the Ferry ext_proc definition is server-side only');
      },
    },
  };
}
