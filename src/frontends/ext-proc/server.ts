/**
 * Envoy's ExternalProcessor/Process served with grpc-js: one bidirectional stream per HTTP
 * request, each driven by an ExtProcSession over the engine that was current when it opened.
 */
import * as grpc from '@grpc/grpc-js';
import type { Engine } from '../../gateway/types.js';
import { createExtProcServiceDefinition, type ProcessingRequest, type ProcessingResponse } from './protocol.js';
import { createExtProcSession } from './session.js';

export interface ExtProcServerOptions {
  /** Returns the current engine; read once per stream, so hot reload never splits a request. */
  engine: () => Engine;
  /** Listen address, 127.0.0.1 when absent. */
  host?: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
}

export interface ExtProcServer {
  /** The bound port. */
  readonly port: number;
  /** Stops accepting streams and resolves when the open ones have ended. */
  close(): Promise<void>;
  /** Cancels every open stream at once. */
  forceClose(): void;
}

type ProcessCall = grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>;

/** Serves one stream: handles messages strictly in order and writes one reply per message. */
function serveStream(call: ProcessCall, engine: Engine): void {
  const session = createExtProcSession(engine, { remoteAddress: call.getPeer() });
  let closed = false;
  let queue: Promise<void> = Promise.resolve();

  const endCall = (): void => {
    if (closed) return;
    closed = true;
    session.dispose();
    call.end();
  };

  call.on('data', (msg: ProcessingRequest) => {
    queue = queue.then(async () => {
      if (closed) return;
      try {
        const reply = await session.handle(msg);
        if (closed || reply === undefined) return;
        call.write(reply);
        // After an ImmediateResponse Envoy closes the stream and ignores anything else: finish ours.
        if (reply.immediate_response !== undefined) endCall();
      } catch (err) {
        // Sessions turn every failure into a reply; reaching here is a bug. End the stream with a
        // gRPC error so Envoy applies its status_on_error rather than waiting for message_timeout.
        if (closed) return;
        closed = true;
        session.dispose();
        call.emit('error', { code: grpc.status.INTERNAL, details: `ferry ext_proc: ${String(err)}` });
      }
    });
  });
  call.on('end', () => {
    // Envoy half-closed: answer what is queued, then close our side.
    void queue.then(endCall);
  });
  call.on('cancelled', () => {
    closed = true;
    session.dispose();
  });
  call.on('error', () => {
    closed = true;
    session.dispose();
  });
}

/**
 * Starts the ext_proc gRPC server (plaintext HTTP/2, as Envoy's grpc_service cluster expects).
 * Each stream takes `engine()` once when it opens.
 */
export async function startExtProcServer(opts: ExtProcServerOptions): Promise<ExtProcServer> {
  const server = new grpc.Server({
    // Bodies arrive whole in BUFFERED mode; allow a little more than the largest body limit we
    // would reasonably configure. The engine's maxBodyBytes enforces the real limit.
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  });
  server.addService(createExtProcServiceDefinition(), {
    Process: (call: ProcessCall) => serveStream(call, opts.engine()),
  });
  const host = opts.host ?? '127.0.0.1';
  const address = host.includes(':') && !host.startsWith('[') ? `[${host}]:${opts.port}` : `${host}:${opts.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  return {
    port,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
    forceClose: () => server.forceShutdown(),
  };
}
