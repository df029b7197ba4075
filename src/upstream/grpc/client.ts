/**
 * gRPC upstream calls through grpc-js: a fixed set of channels per endpoint (each with its own
 * connection), picked round robin, carrying already-encoded protobuf bytes. Encoding and JSON stay
 * with the caller; this module only moves bytes, metadata and deadlines.
 */
import * as grpc from '@grpc/grpc-js';
import { FerryError } from '../../errors/index.js';
import { grpcErrorToFerry } from './status.js';
import type { StatusDetailsDecoder } from './status.js';

export interface GrpcUpstreamOptions {
  /** `host:port` endpoints. */
  readonly endpoints: readonly string[];
  /** Channels (HTTP/2 connections) per endpoint, at least 1. */
  readonly channelsPerEndpoint: number;
  /** Decodes google.rpc.Status details for error replies. */
  readonly decodeDetails?: StatusDetailsDecoder;
  /** Extra grpc-js channel options. */
  readonly channelOptions?: grpc.ChannelOptions;
}

export interface GrpcCallOptions {
  readonly metadata: grpc.Metadata;
  /** Absolute deadline (epoch milliseconds). */
  readonly deadline: number;
}

export interface GrpcUnaryResult {
  readonly message: Buffer;
  readonly headers: grpc.Metadata;
  readonly trailers: grpc.Metadata;
  readonly endpoint: string;
}

export interface GrpcStreamResult {
  /** Response header metadata (resolves once the server sent it, or rejects with the call's error). */
  readonly headers: Promise<grpc.Metadata>;
  /** Messages as raw bytes; iteration throws a FerryError when the call fails. */
  readonly messages: AsyncIterable<Buffer>;
  readonly endpoint: string;
  /** Cancels the call (e.g. when the HTTP client went away). */
  cancel(): void;
}

export interface GrpcUpstream {
  unary(path: string, request: Uint8Array, opts: GrpcCallOptions): Promise<GrpcUnaryResult>;
  serverStream(path: string, request: Uint8Array, opts: GrpcCallOptions): GrpcStreamResult;
  /** Closes every channel; calls in flight are cancelled by grpc-js. */
  close(): void;
}

const identity = (b: Buffer): Buffer => b;
const toBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** Opens (lazily, on first call) `channelsPerEndpoint` channels to each endpoint. */
export function createGrpcUpstream(opts: GrpcUpstreamOptions): GrpcUpstream {
  if (opts.endpoints.length === 0) throw new FerryError('FERRY_CONFIG_INVALID', 'a gRPC service needs at least one endpoint');
  const perEndpoint = Math.max(1, opts.channelsPerEndpoint);
  const channelOptions: grpc.ChannelOptions = {
    // Separate subchannel pools give each channel its own HTTP/2 connection.
    'grpc.use_local_subchannel_pool': 1,
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
    ...opts.channelOptions,
  };
  const slots: Array<{ endpoint: string; client: grpc.Client }> = [];
  for (let i = 0; i < perEndpoint; i++) {
    for (const endpoint of opts.endpoints) {
      slots.push({ endpoint, client: new grpc.Client(endpoint, grpc.credentials.createInsecure(), channelOptions) });
    }
  }
  let next = 0;
  const pick = () => {
    const slot = slots[next]!;
    next = (next + 1) % slots.length;
    return slot;
  };

  return {
    unary(path, request, callOpts) {
      const { endpoint, client } = pick();
      return new Promise<GrpcUnaryResult>((resolve, reject) => {
        let headers = new grpc.Metadata();
        let value: Buffer | undefined;
        let failure: unknown;
        const call = client.makeUnaryRequest<Buffer, Buffer>(
          path,
          identity,
          identity,
          toBuffer(request),
          callOpts.metadata,
          { deadline: callOpts.deadline },
          (err, res) => {
            if (err) failure = err;
            else value = res;
          },
        );
        call.on('metadata', (md: grpc.Metadata) => {
          headers = md;
        });
        call.on('status', (status: grpc.StatusObject) => {
          if (failure !== undefined || value === undefined) {
            reject(grpcErrorToFerry(failure ?? status, endpoint, opts.decodeDetails));
          } else {
            resolve({ message: value, headers, trailers: status.metadata, endpoint });
          }
        });
      });
    },

    serverStream(path, request, callOpts) {
      const { endpoint, client } = pick();
      const call = client.makeServerStreamRequest<Buffer, Buffer>(
        path,
        identity,
        identity,
        toBuffer(request),
        callOpts.metadata,
        { deadline: callOpts.deadline },
      );
      const headers = new Promise<grpc.Metadata>((resolve, reject) => {
        call.once('metadata', resolve);
        call.once('error', (err) => reject(grpcErrorToFerry(err, endpoint, opts.decodeDetails)));
        call.once('end', () => resolve(new grpc.Metadata()));
      });
      headers.catch(() => undefined);
      async function* messages(): AsyncGenerator<Buffer> {
        try {
          for await (const chunk of call) yield chunk as Buffer;
        } catch (err) {
          throw grpcErrorToFerry(err, endpoint, opts.decodeDetails);
        }
      }
      return { headers, messages: messages(), endpoint, cancel: () => call.cancel() };
    },

    close() {
      for (const s of slots) s.client.close();
    },
  };
}
