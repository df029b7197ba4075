/**
 * Envoy's ExternalProcessor/Process served with grpc-js: one bidirectional stream per HTTP
 * request, each driven by an ExtProcSession over the engine that was current when it opened.
 */
import * as grpc from '@grpc/grpc-js';
import type { FrontendContract } from '../contract.js';
import type { ServerCertificates } from '../tls.js';
import { createExtProcServiceDefinition, type ProcessingRequest, type ProcessingResponse } from './protocol.js';
import { createExtProcSession } from './session.js';
import { toFerryError } from '../../errors/index.js';
import type { EnvoyTimers } from './adapt.js';

export interface ExtProcListenOptions {
  /** Listen address, 127.0.0.1 when absent. */
  readonly host?: string;
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  /** Serve over TLS (mTLS when the certificates name a client CA), swapped in as the files change; plaintext when absent. */
  readonly tls?: ServerCertificates;
  /** Envoy's message_timeout / max_message_timeout for this filter, when the operator said them. */
  readonly envoyTimers?: EnvoyTimers;
  /** Dynamic metadata namespace of the answers (default the filter's own; '' for none). */
  readonly metadataNamespace?: string;
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

/**
 * Room above the body limit for one message: a request_headers message carries the whole header
 * map (Envoy's default limit is 60 KiB), so an oversized head reaches the session, which answers
 * 431, instead of failing the stream.
 */
const MESSAGE_OVERHEAD_BYTES = 64 * 1024;

/**
 * Serves one stream: handles messages strictly in order and writes one reply per message. The
 * stream counts as one request in flight (drain) from open to end, and is ended when Envoy sends
 * nothing for the idle timeout while Ferry waits for a message.
 */
function serveStream(call: ProcessCall, contract: FrontendContract, listen: ExtProcListenOptions): void {
  const { limits } = contract;
  let closed = false;
  const session = createExtProcSession(contract.engine(), {
    remoteAddress: call.getPeer(),
    maxBodyBytes: limits.maxBodyBytes,
    maxHeaderBytes: limits.maxHeaderBytes,
    problemDetail: contract.problemDetail,
    ...(listen.envoyTimers !== undefined ? { envoyTimers: listen.envoyTimers } : {}),
    ...(listen.metadataNamespace !== undefined ? { metadataNamespace: listen.metadataNamespace } : {}),
    interim: (res) => {
      if (!closed) call.write(res);
    },
  });
  const finished = contract.trackRequest();
  let queue: Promise<void> = Promise.resolve();

  let idle: NodeJS.Timeout | undefined;
  const release = (): void => {
    closed = true;
    clearTimeout(idle);
    session.dispose();
    finished();
  };
  const endCall = (): void => {
    if (closed) return;
    release();
    call.end();
  };
  const failCall = (code: grpc.status, details: string): void => {
    if (closed) return;
    release();
    call.emit('error', { code, details });
  };

  // Writes the rest of a streamed local reply in order, waiting for the stream to drain when
  // grpc-js holds more than its buffer (a slow Envoy never makes Ferry hold more than a piece or
  // two), then ends the call. A protocol violation seen meanwhile, or an upstream stream that
  // fails, cuts the reply short with a gRPC error (Envoy then resets the client's request).
  const writeRest = async (rest: AsyncIterable<ProcessingResponse>): Promise<void> => {
    try {
      for await (const piece of rest) {
        if (closed) return;
        if (session.violation !== undefined) break;
        if (!call.write(piece))
          await new Promise<void>((resolve) => {
            const done = (): void => {
              call.off('drain', done);
              call.off('close', done);
              resolve();
            };
            call.on('drain', done);
            call.on('close', done);
          });
      }
    } catch (err) {
      const code = session.violation?.code ?? toFerryError(err).code;
      failCall(grpc.status.UNAVAILABLE, `ferry ext_proc: ${code}: the reply stream ended early`);
      return;
    }
    if (session.violation !== undefined) {
      failCall(grpc.status.INVALID_ARGUMENT, `ferry ext_proc: ${session.violation.code}: ${session.violation.message}`);
      return;
    }
    endCall();
  };
  /**
   * Writes an answer and, when it is streamed, all of it (within the message queue, so a
   * half-close from Envoy ends the call only after it); true when the stream is finished.
   */
  const writeReply = async (reply: ProcessingResponse): Promise<boolean> => {
    call.write(reply);
    const rest = session.takeRest();
    if (rest !== undefined) {
      await writeRest(rest);
      return true;
    }
    // After an ImmediateResponse Envoy closes the stream and ignores anything else: finish ours.
    if (reply.immediate_response !== undefined) {
      endCall();
      return true;
    }
    return false;
  };

  const onIdle = (): void => {
    queue = queue.then(async () => {
      if (closed || !session.awaitingMessage) return;
      const reply = await session.expire(limits.extProcIdleTimeoutMs);
      if (closed) return;
      contract.refused('ext_proc stream idle', { peer: call.getPeer(), idleMs: limits.extProcIdleTimeoutMs, answered: reply !== undefined });
      if (reply === undefined) {
        failCall(grpc.status.DEADLINE_EXCEEDED, `ferry ext_proc: FERRY_REQUEST_TIMEOUT: no message for ${limits.extProcIdleTimeoutMs} ms`);
        return;
      }
      if (!(await writeReply(reply))) endCall();
    });
  };
  const waitForMessage = (): void => {
    clearTimeout(idle);
    idle = setTimeout(onIdle, limits.extProcIdleTimeoutMs);
  };
  waitForMessage();

  call.on('data', (msg: ProcessingRequest) => {
    clearTimeout(idle);
    session.arrived(msg);
    queue = queue.then(async () => {
      if (closed) return;
      try {
        const reply = await session.handle(msg);
        if (closed) return;
        const finishedStream = reply !== undefined && (await writeReply(reply));
        if (!finishedStream && session.awaitingMessage) waitForMessage();
      } catch (err) {
        // Sessions turn every failure into a reply; reaching here is a bug. End the stream with a
        // gRPC error so Envoy applies its status_on_error rather than waiting for message_timeout.
        failCall(grpc.status.INTERNAL, `ferry ext_proc: ${String(err)}`);
      }
    });
  });
  call.on('end', () => {
    // Envoy half-closed: answer what is queued, then close our side. One turn later: when grpc-js
    // itself ends the stream with a status (a message over the size limit), its 'end' comes first
    // and that status must win over our OK.
    void queue.then(() => setImmediate(endCall));
  });
  call.on('cancelled', () => {
    if (!closed) release();
  });
  call.on('error', () => {
    if (!closed) release();
  });
}

/**
 * grpc-js server credentials over watched certificate files: grpc-js calls setSecureContext on its
 * server with each update (its own file-watching provider is experimental and takes its arguments
 * in an order its types do not say).
 */
class WatchedServerCredentials extends grpc.ServerCredentials {
  constructor(certs: ServerCertificates) {
    super({ requestCert: certs.requireClientCert, rejectUnauthorized: certs.requireClientCert }, certs.current());
    certs.onChange((material) => this.updateSecureContextOptions(material));
  }

  _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

/**
 * Starts the ext_proc gRPC server (HTTP/2: plaintext, or TLS / mTLS when certificates are given, as
 * Envoy's grpc_service cluster with a transport_socket speaks it).
 * Each stream takes `contract.engine()` once when it opens.
 */
export async function startExtProcServer(contract: FrontendContract, listen: ExtProcListenOptions): Promise<ExtProcServer> {
  const server = new grpc.Server({
    // A message never needs more than the body limit (plus the head): nothing larger is read.
    'grpc.max_receive_message_length': contract.limits.maxBodyBytes + MESSAGE_OVERHEAD_BYTES,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  });
  server.addService(createExtProcServiceDefinition(), {
    Process: (call: ProcessCall) => serveStream(call, contract, listen),
  });
  const host = listen.host ?? '127.0.0.1';
  const address = host.includes(':') && !host.startsWith('[') ? `[${host}]:${listen.port}` : `${host}:${listen.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      address,
      listen.tls !== undefined ? new WatchedServerCredentials(listen.tls) : grpc.ServerCredentials.createInsecure(),
      (err, bound) => (err ? reject(err) : resolve(bound)),
    );
  });
  return {
    port,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
    forceClose: () => server.forceShutdown(),
  };
}
