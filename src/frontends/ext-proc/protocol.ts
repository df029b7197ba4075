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
export interface CommonResponse {
  status?: 'CONTINUE' | 'CONTINUE_AND_REPLACE';
  header_mutation?: HeaderMutation;
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
    c === undefined ? undefined : { status: num(statuses, c.status), header_mutation: mutation(c.header_mutation) };
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
      const m = requestType.decode(buf) as unknown as Omit<ProcessingRequest, 'protocol_config'> & {
        protocol_config?: { request_body_mode: number; response_body_mode: number; send_body_without_waiting_for_header_response: boolean } | null;
      };
      const out: ProcessingRequest = {
        observability_mode: m.observability_mode === true,
      };
      if (m.request !== undefined) {
        out.request = m.request;
        (out as Record<string, unknown>)[m.request] = m[m.request];
      }
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
        mode_override: mode(res.mode_override),
        dynamic_metadata: res.dynamic_metadata && struct(res.dynamic_metadata),
        override_message_timeout: res.override_message_timeout,
      };
      return Buffer.from(responseType.encode(wire).finish());
    },
  };
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
