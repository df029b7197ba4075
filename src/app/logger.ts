/**
 * Structured JSON logs: one line per event with `time`, `level`, `msg` and flat fields, so that log
 * shippers index them without parsing. Request lines carry route, status, duration and trace id,
 * never bodies, query strings or header values.
 */
import { writeSync } from 'node:fs';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVEL_RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A line sink; `process.stdout` by default. */
export interface LogSink {
  write(line: string): unknown;
}

export interface LoggerOptions {
  /** Lowest level written (default `info`). */
  readonly level?: LogLevel;
  readonly sink?: LogSink;
  /** Fields added to every line (e.g. `{ service: 'ferry', pid }`). */
  readonly base?: Readonly<Record<string, unknown>>;
  /** Clock for `time` (tests pin it). */
  readonly now?: () => Date;
}

/** One finished request, as the request log records it. */
export interface RequestLogEntry {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly route: string | undefined;
  readonly status: number;
  readonly durationMs: number;
  readonly traceId: string | undefined;
  /** FERRY code when the request failed. */
  readonly code?: string;
  /** Which front end served it (`http`, `ext_proc`). */
  readonly frontend?: string;
  /** The whole error message of a 5xx (clients see only what the problem detail setting allows). */
  readonly error?: string;
}

export interface Logger {
  debug(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  info(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  error(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  /** Whether a level would be written (to skip building costly fields). */
  enabled(level: LogLevel): boolean;
  /** A logger that adds `fields` to every line. */
  child(fields: Readonly<Record<string, unknown>>): Logger;
  /** The per-request line (`msg: "request"`, level info, or warn for 5xx). */
  request(entry: RequestLogEntry): void;
}

/** Turns an Error (and its `code`, `problems` and cause chain) into plain JSON fields. */
export function errorFields(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const out: Record<string, unknown> = { type: err.name, message: err.message };
  const e = err as Error & { code?: unknown; problems?: unknown; status?: unknown };
  if (typeof e.code === 'string') out['code'] = e.code;
  if (typeof e.status === 'number') out['status'] = e.status;
  if (Array.isArray(e.problems)) out['problems'] = e.problems;
  if (err.cause !== undefined && err.cause !== err) out['cause'] = errorFields(err.cause);
  return out;
}

function safeStringify(record: Record<string, unknown>): string {
  try {
    return JSON.stringify(record, (_k, v: unknown) => {
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Error) return errorFields(v);
      return v;
    });
  } catch {
    return JSON.stringify({ time: record['time'], level: record['level'], msg: record['msg'], logError: 'fields could not be serialised' });
  }
}

/** How long a log line may wait before it is written, and how much may gather before a write. */
const LOG_FLUSH_MS = 20;
const LOG_FLUSH_BYTES = 64 * 1024;

/**
 * A sink that gathers lines and writes them together, every LOG_FLUSH_MS or LOG_FLUSH_BYTES: a
 * synchronous stdout write per request line costs more than the rest of Ferry's work on a small
 * request (measured ~24 µs, `npm run bench`). Lines still waiting when the process exits are written
 * synchronously; a crash loses at most LOG_FLUSH_MS of lines.
 */
export function createBatchedSink(
  stream: NodeJS.WritableStream & { fd?: number } = process.stdout,
  options: { flushMs?: number; flushBytes?: number } = {},
): LogSink & { flush(): void } {
  const flushMs = options.flushMs ?? LOG_FLUSH_MS;
  const flushBytes = options.flushBytes ?? LOG_FLUSH_BYTES;
  let pending: string[] = [];
  let size = 0;
  let timer: NodeJS.Timeout | undefined;
  const take = (): string => {
    const text = pending.join('');
    pending = [];
    size = 0;
    return text;
  };
  const flush = (): void => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (pending.length > 0) stream.write(take());
  };
  process.once('exit', () => {
    if (pending.length === 0) return;
    const text = take();
    if (typeof stream.fd === 'number') writeSync(stream.fd, text);
    else stream.write(text);
  });
  return {
    write(line: string) {
      pending.push(line);
      size += line.length;
      if (size >= flushBytes) flush();
      else if (timer === undefined) {
        timer = setTimeout(flush, flushMs);
        timer.unref();
      }
    },
    flush,
  };
}

/** Creates a JSON-lines logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const sink = options.sink ?? createBatchedSink();
  const min = LEVEL_RANK[options.level ?? 'info'];
  const now = options.now ?? (() => new Date());
  return build(options.base ?? {});

  function build(base: Readonly<Record<string, unknown>>): Logger {
    const baseJson = safeStringify({ ...base });
    const baseText = baseJson === '{}' ? '' : `,${baseJson.slice(1, -1)}`;
    function log(level: LogLevel, msg: string, fields?: Readonly<Record<string, unknown>>): void {
      if (LEVEL_RANK[level] < min) return;
      const record: Record<string, unknown> = { time: now().toISOString(), level, msg, ...base, ...fields };
      sink.write(`${safeStringify(record)}\n`);
    }
    return {
      debug: (msg, fields) => log('debug', msg, fields),
      info: (msg, fields) => log('info', msg, fields),
      warn: (msg, fields) => log('warn', msg, fields),
      error: (msg, fields) => log('error', msg, fields),
      enabled: (level) => LEVEL_RANK[level] >= min,
      child: (fields) => build({ ...base, ...fields }),
      request(entry) {
        const level: LogLevel = entry.status >= 500 ? 'warn' : 'info';
        if (LEVEL_RANK[level] < min) return;
        // The hottest line: built as text, with the same fields and order as log() would give.
        const str = JSON.stringify;
        sink.write(
          `{"time":${str(now().toISOString())},"level":"${level}","msg":"request"${baseText}` +
            `,"method":${str(entry.method)},"path":${str(entry.path)},"route":${entry.route === undefined ? 'null' : str(entry.route)}` +
            `,"status":${entry.status},"durationMs":${Math.round(entry.durationMs * 1000) / 1000}` +
            `,"traceId":${entry.traceId === undefined ? 'null' : str(entry.traceId)}` +
            `${entry.code !== undefined ? `,"code":${str(entry.code)}` : ''}${entry.frontend !== undefined ? `,"frontend":${str(entry.frontend)}` : ''}` +
            `${entry.error !== undefined ? `,"error":${str(entry.error)}` : ''}}\n`,
        );
      },
    };
  }
}
