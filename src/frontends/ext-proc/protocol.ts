/**
 * The ext_proc wire types as @grpc/proto-loader hands them to us (keepCase, enums as strings,
 * longs as strings, defaults, oneofs), and the loader for Ferry's trimmed Envoy protos in idl/.
 */
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import * as grpc from '@grpc/grpc-js';

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
export type RequestKind =
  | 'request_headers'
  | 'response_headers'
  | 'request_body'
  | 'response_body'
  | 'request_trailers'
  | 'response_trailers';

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
