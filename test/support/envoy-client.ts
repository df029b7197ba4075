/**
 * Runs the Go client that speaks for Envoy's ext_proc filter (test/support/envoy-client, built
 * on go-control-plane's ext_proc types). Builds it first through scripts/setup-go.sh (a no-op
 * when it is up to date).
 */
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = fileURLToPath(new URL('./envoy-client/bin/envoy-client', import.meta.url));

/** One HTTP request as Envoy's filter presents it (see main.go's Scenario for every field). */
export interface Scenario {
  name: string;
  headers?: Array<[string, string]>;
  headerEncoding?: 'raw' | 'value';
  body?: string[];
  trailers?: Array<[string, string]>;
  sendTrailers?: boolean;
  requestBodyMode?: 'NONE' | 'STREAMED' | 'BUFFERED' | 'BUFFERED_PARTIAL' | 'FULL_DUPLEX_STREAMED';
  allowModeOverride?: boolean;
  noProtocolConfig?: boolean;
  observability?: boolean;
  bufferLimit?: number;
  messageTimeoutMs?: number;
  /** The filter's max_message_timeout: the longest override_message_timeout it honours (0 or absent: none). */
  maxMessageTimeoutMs?: number;
  /** protojson ProcessingRequests sent as they are (protocol-violation tests). */
  raw?: unknown[];
  /** With `raw`: send every message at once, then read replies until the stream ends (outcome 'raw'). */
  rawNoWait?: boolean;
  /** Request attributes sent with the headers, by namespace (the filter's request_attributes). */
  attributes?: Record<string, Record<string, unknown>>;
  /** Forwarded dynamic metadata sent with the headers (metadata_context.filter_metadata), by namespace. */
  metadata?: Record<string, Record<string, unknown>>;
}

/** A local reply received as StreamedImmediateResponse pieces (FULL_DUPLEX_STREAMED). */
export interface StreamedReply {
  status: number;
  headers: Array<[string, string]>;
  /** Body pieces as they arrived (text). */
  chunks: string[];
  /** A piece over 64 KiB arrived. */
  oversized: boolean;
  trailers?: Array<[string, string]>;
  /** The reply ended (end_of_stream or trailers). */
  ended: boolean;
  /** What broke Envoy's rules for a streamed reply, if anything. */
  problem?: string;
}

/** A ProcessingResponse as protojson with proto field names (bytes as base64). */
export interface WireResponse {
  request_headers?: { response?: { status?: string } };
  request_body?: { response?: { status?: string } };
  request_trailers?: Record<string, unknown>;
  immediate_response?: {
    status?: { code?: string | number };
    headers?: { set_headers?: Array<{ header: { key: string; value?: string; raw_value?: string }; append?: boolean; append_action?: string }> };
    body?: string;
    details?: string;
  };
  mode_override?: Record<string, string>;
  /** google.protobuf.Struct as protojson: namespace → { field: value }. */
  dynamic_metadata?: Record<string, Record<string, unknown>>;
  [k: string]: unknown;
}

export interface ScenarioResult {
  name: string;
  sent: string[];
  responses: WireResponse[];
  outcome: 'immediate' | 'streamed' | 'forwarded' | 'observed' | 'local_413' | 'raw' | 'error';
  forwardedBody?: string;
  error?: string;
  streamEnd: string;
  /** The ImmediateResponse's status as a number (the protojson form names known codes, e.g. "OK"). */
  immediateStatus?: number;
  /** override_message_timeout requests received, and whether the client (as Envoy) honoured each. */
  overrides?: Array<{ ms: number; honoured: boolean }>;
  /** The streamed local reply (outcome 'streamed'). */
  streamed?: StreamedReply;
}

/** Builds the Go client if needed. */
export async function ensureEnvoyClient(): Promise<void> {
  await promisify(execFile)('bash', [`${ROOT}scripts/setup-go.sh`], { cwd: ROOT });
}

function runBin(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** TLS for the client's connection (PEM files): the CA it trusts, and for mTLS its certificate and key. */
export interface ClientTls {
  readonly ca: string;
  readonly cert?: string;
  readonly key?: string;
  readonly serverName?: string;
}

/** Runs scenarios against an ext_proc server on 127.0.0.1:port, one stream each, in order (over TLS when `tls` is given). */
export async function runScenarios(port: number, scenarios: Scenario[], tls?: ClientTls): Promise<ScenarioResult[]> {
  const tlsArgs =
    tls === undefined
      ? []
      : [
          '-ca',
          tls.ca,
          ...(tls.cert !== undefined ? ['-cert', tls.cert, '-key', tls.key ?? ''] : []),
          ...(tls.serverName !== undefined ? ['-server-name', tls.serverName] : []),
        ];
  const { code, stdout, stderr } = await runBin(['-addr', `127.0.0.1:${port}`, ...tlsArgs], JSON.stringify(scenarios));
  if (code !== 0) throw new Error(`envoy-client exited ${code}: ${stderr}`);
  return JSON.parse(stdout) as ScenarioResult[];
}

/** Checks an Envoy bootstrap (as a JSON value) against Envoy's API; resolves 'ok' or the error text. */
export async function validateBootstrap(config: unknown): Promise<string> {
  const { stdout, stderr } = await runBin(['-validate-bootstrap'], JSON.stringify(config));
  return (stdout + stderr).trim();
}

/** The ImmediateResponse of a result, decoded: status, headers (from raw_value) and body text. */
export function immediateOf(r: ScenarioResult): {
  status: number;
  headers: Record<string, string[]>;
  body: string;
  details: string;
  setHeaders: NonNullable<NonNullable<WireResponse['immediate_response']>['headers']>['set_headers'];
} {
  const ir = r.responses.at(-1)?.immediate_response;
  if (ir === undefined) throw new Error(`${r.name}: no ImmediateResponse (outcome ${r.outcome}, ${JSON.stringify(r.responses)})`);
  const headers: Record<string, string[]> = {};
  for (const o of ir.headers?.set_headers ?? []) {
    const v = Buffer.from(o.header.raw_value ?? '', 'base64').toString('latin1');
    (headers[o.header.key] ??= []).push(v);
  }
  return {
    status: r.immediateStatus ?? 0,
    headers,
    body: Buffer.from(ir.body ?? '', 'base64').toString('utf8'),
    details: ir.details ?? '',
    setHeaders: ir.headers?.set_headers ?? [],
  };
}
