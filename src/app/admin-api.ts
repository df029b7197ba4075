/**
 * The admin console's JSON API (`/admin/api/...`), its static files (`/console/...`) and the try-it
 * pass-through to the HTTP port, all on the admin server. What it answers is the gateway's state as
 * the composition root holds it: routes with where they were written, upstream endpoints and
 * registries, the mapping files and the last reloads, per-route figures from the metrics registry.
 * Never mapping secrets (tokens, policy options such as API-key hashes or JWT keys, TLS files) and
 * never request bodies. docs/operations.md documents every answer.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { parseDocument } from 'yaml';
import { ConfigError } from '../config/errors.js';
import type { FerryConfig, GrpcRoute, RouteConfig } from '../config/types.js';
import { FerryError, formatLocation, PROBLEM_CONTENT_TYPE, toProblem, type ErrorCode, type SourceLocation } from '../errors/index.js';
import type { UpstreamServiceView } from '../upstream/clients.js';
import { createRouteSampler } from './route-stats.js';

/** One reload attempt, as `/admin/api/config` lists it. */
export interface ReloadRecord {
  readonly at: string;
  readonly ok: boolean;
  /** Routes served after an applied reload. */
  readonly routes?: number;
  /** Why a refused reload was refused: each problem at its place when the config was at fault. */
  readonly problems?: ReadonlyArray<{ readonly file?: string; readonly line?: number; readonly col?: number; readonly message: string }>;
}

/** The last reloads, newest first, at most `limit` (default 20). */
export interface ReloadLog {
  applied(routes: number): void;
  refused(err: unknown): void;
  list(): readonly ReloadRecord[];
}

export function createReloadLog(limit = 20, now: () => Date = () => new Date()): ReloadLog {
  const records: ReloadRecord[] = [];
  const add = (r: ReloadRecord): void => {
    records.unshift(r);
    if (records.length > limit) records.length = limit;
  };
  return {
    applied: (routes) => add({ at: now().toISOString(), ok: true, routes }),
    refused: (err) =>
      add({
        at: now().toISOString(),
        ok: false,
        problems:
          err instanceof ConfigError
            ? err.problems.map((p) => ({ file: p.file, line: p.line, col: p.col, message: p.message }))
            : [{ message: err instanceof Error ? err.message : String(err) }],
      }),
    list: () => records,
  };
}

/** What the API reads: the composition root's current state, through functions (never copies). */
export interface AdminApiSources {
  /** The current config and every route the engine serves (derived ones included). */
  current(): {
    readonly config: FerryConfig;
    readonly routes: readonly RouteConfig[];
    readonly messageTypes?: ((route: GrpcRoute) => { readonly request: string; readonly response: string } | undefined) | undefined;
  };
  upstreams(config: FerryConfig): readonly UpstreamServiceView[];
  readonly reloads: ReloadLog;
  readonly registry: Registry;
  /** When the current config was loaded. */
  loadedAt(): Date;
  /** `ferry validate` on a folder: resolves with the counts, rejects with its ConfigError. */
  validateDir(dir: string): Promise<{ services: number; types: number; routes: number; derived: number }>;
  /** The HTTP listener try-it requests go to (`http://127.0.0.1:8080`). */
  readonly httpBase?: string;
}

export interface AdminApiOptions {
  /** Requests to /admin/api, /console/try and /metrics must carry `Authorization: Bearer <token>` when set. */
  readonly token?: string;
  /** Largest mapping text `POST /admin/api/validate` takes (default 1 MiB; the composition root passes the mapping-file budget). */
  readonly maxValidateBytes?: number;
  /** Largest try-it request body (default 1 MiB). */
  readonly maxTryBodyBytes?: number;
  /** The built console (default dist/console of this checkout). */
  readonly consoleDir?: string;
}

const DEFAULT_MAX_VALIDATE_BYTES = 1024 * 1024;

function sendProblem(reply: FastifyReply, code: ErrorCode, message: string, headers: Record<string, string> = {}): FastifyReply {
  const doc = toProblem(new FerryError(code, message));
  return reply
    .code(doc.status)
    .headers(headers)
    .header('content-type', PROBLEM_CONTENT_TYPE)
    .header('cache-control', 'no-store')
    .send(Buffer.from(JSON.stringify(doc)));
}

/** Constant-time comparison of a presented bearer token with the configured one (digests, so lengths do not leak). Pure. */
export function tokenMatches(presented: string | undefined, expected: string): boolean {
  const a = createHash('sha256')
    .update(presented ?? '')
    .digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && presented !== undefined;
}

/** The token of an `Authorization: Bearer <token>` header value. Pure. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  const m = v === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(v);
  return m?.[1];
}

function located(at: SourceLocation): { file: string; line: number; col: number; at: string } {
  return { file: at.file, line: at.line, col: at.col, at: formatLocation(at) };
}

/** The route list the API answers: what each route does and where it was written; no argument constants or policy options. */
export function routeViews(current: ReturnType<AdminApiSources['current']>): object[] {
  const { config, routes, messageTypes } = current;
  return routes.map((r) => {
    const service = config.services.get(r.serviceName);
    const base = {
      id: r.id,
      method: r.method,
      path: r.path,
      protocol: r.protocol,
      service: r.serviceName,
      target: service === undefined ? r.serviceName : service.protocol === 'dubbo' ? service.interface : service.service,
      rpcMethod: r.rpcMethod,
      timeoutMs: r.timeoutMs ?? service?.timeoutMs ?? null,
      idempotent: r.idempotent,
      retries: r.retries,
      policies: (r.policies ?? []).filter((p) => p.options !== false).map((p) => p.name),
      source: located(r.source),
    };
    if (r.protocol === 'dubbo') {
      return {
        ...base,
        args: r.args.map((a) => ({ type: a.type, from: a.from ?? 'constant', required: a.required })),
        returns: r.returns ?? null,
      };
    }
    const types = messageTypes?.(r);
    return {
      ...base,
      fromProto: r.fromProto,
      args: types !== undefined ? [{ type: types.request, from: r.body !== undefined ? `body ${r.body}` : 'path and query' }] : [],
      returns: types?.response ?? null,
    };
  });
}

/** The mapping files the current config was read from, with what each defines. */
function mappingFiles(config: FerryConfig): object[] {
  const files = new Map<string, { services: number; routes: number; types: number }>();
  const count = (file: string, what: 'services' | 'routes' | 'types'): void => {
    const f = files.get(file) ?? { services: 0, routes: 0, types: 0 };
    f[what]++;
    files.set(file, f);
  };
  for (const s of config.services.values()) count(s.source.file, 'services');
  for (const r of config.routes) count(r.source.file, 'routes');
  for (const t of config.types.values()) count(t.source.file, 'types');
  return [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([file, n]) => ({ file, ...n }));
}

/** Validates one pasted mapping file with `ferry validate`'s function, in a folder of its own; problems name it `pasted.yaml`. */
async function validatePasted(text: string, validateDir: AdminApiSources['validateDir']): Promise<object> {
  // Plugins are modules Ferry imports and runs: a pasted file must not make the admin port run code.
  const doc = parseDocument(text);
  if (doc.errors.length === 0 && doc.has('plugins')) {
    return {
      ok: false,
      problems: [{ file: 'pasted.yaml', line: 1, col: 1, message: 'plugins are not loaded by the console: run `ferry validate` on the folder' }],
    };
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'ferry-validate-'));
  try {
    const file = path.join(dir, 'pasted.yaml');
    await writeFile(file, text);
    const counts = await validateDir(dir);
    return { ok: true, ...counts };
  } catch (err) {
    const shown = (f: string): string => (path.resolve(f) === path.resolve(dir, 'pasted.yaml') ? 'pasted.yaml' : f.split(dir).join('.'));
    if (err instanceof ConfigError) {
      return {
        ok: false,
        problems: err.problems.map((p) => ({
          ...p,
          file: shown(p.file),
          message: p.message.split(dir).join('.'),
          at: `${shown(p.file)}:${p.line}:${p.col}`,
        })),
      };
    }
    return { ok: false, problems: [{ message: (err instanceof Error ? err.message : String(err)).split(dir).join('.') }] };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
};
/** The console's files are read once, at start; this bounds what is held. */
const MAX_CONSOLE_BYTES = 32 * 1024 * 1024;

function readConsoleFiles(dir: string): Map<string, { body: Buffer; type: string }> {
  const files = new Map<string, { body: Buffer; type: string }>();
  if (!existsSync(dir)) return files;
  let total = 0;
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const full = path.join(dir, name);
    const type = CONTENT_TYPES[path.extname(name)];
    if (type === undefined || !statSync(full).isFile()) continue;
    const body = readFileSync(full);
    total += body.length;
    if (total > MAX_CONSOLE_BYTES) break;
    files.set(name.split(path.sep).join('/'), { body, type });
  }
  return files;
}

/** dist/console of this checkout (this file is src/app/ or dist/app/). */
export function defaultConsoleDir(): string {
  return path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'dist', 'console');
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'te',
  'trailer',
  'proxy-authorization',
]);
const ADMIN_AUTH_HEADER = 'x-ferry-admin-authorization';

/** Registers the API, the console and try-it on the admin app. */
export function registerAdminApi(app: FastifyInstance, sources: AdminApiSources, options: AdminApiOptions = {}): void {
  const token = options.token;
  const maxValidateBytes = options.maxValidateBytes ?? DEFAULT_MAX_VALIDATE_BYTES;
  const sample = createRouteSampler(sources.registry);
  const consoleFiles = readConsoleFiles(options.consoleDir ?? defaultConsoleDir());
  let validating = false;

  if (token !== undefined) {
    // Probes (/healthz, /readyz) and the console's static files stay open; state and try-it need the token.
    app.addHook('onRequest', async (req, reply) => {
      const url = req.url;
      const guarded = url.startsWith('/admin/') || url.startsWith('/console/try/') || url === '/metrics' || url.startsWith('/openapi.json');
      if (!guarded) return;
      const presented = url.startsWith('/console/try/') ? bearerToken(req.headers[ADMIN_AUTH_HEADER]) : bearerToken(req.headers.authorization);
      if (!tokenMatches(presented, token)) {
        return sendProblem(reply, 'FERRY_UNAUTHENTICATED', 'the admin port needs Authorization: Bearer <admin token>', {
          'www-authenticate': 'Bearer realm="ferry-admin"',
        });
      }
    });
  }

  // Fastify's own 413 and parse errors are answered as coded problems too.
  app.setErrorHandler((err: { code?: string; statusCode?: number; message: string }, req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const limit = req.url.startsWith('/console/try/') ? options.maxTryBodyBytes : maxValidateBytes;
      return sendProblem(reply, 'FERRY_BODY_TOO_LARGE', `the body is over the ${limit ?? DEFAULT_MAX_VALIDATE_BYTES}-byte limit`);
    }
    if (err.statusCode !== undefined && err.statusCode < 500) return sendProblem(reply, 'FERRY_MALFORMED_REQUEST', 'the request could not be read');
    return sendProblem(reply, 'FERRY_INTERNAL', 'the admin request failed');
  });

  const json = (reply: FastifyReply, body: unknown): FastifyReply =>
    reply.header('content-type', 'application/json; charset=utf-8').header('cache-control', 'no-store').send(JSON.stringify(body));

  app.get('/admin/api/routes', async (_req, reply) => json(reply, { routes: routeViews(sources.current()) }));
  app.get('/admin/api/upstreams', async (_req, reply) => json(reply, { services: sources.upstreams(sources.current().config) }));
  app.get('/admin/api/config', async (_req, reply) => {
    const { config } = sources.current();
    const reloads = sources.reloads.list();
    return json(reply, {
      root: config.root,
      loadedAt: sources.loadedAt().toISOString(),
      files: mappingFiles(config),
      reloads,
      lastRefused: reloads.find((r) => !r.ok) ?? null,
    });
  });
  app.get('/admin/api/metrics', async (_req, reply) => json(reply, await sample()));

  app.register(
    async (scope) => {
      scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: maxValidateBytes }, (_req, body, done) => done(null, body));
      scope.post('/admin/api/validate', { bodyLimit: maxValidateBytes }, async (req: FastifyRequest, reply) => {
        const body = req.body;
        const text =
          typeof body === 'string'
            ? body
            : typeof (body as { text?: unknown } | null)?.text === 'string'
              ? (body as { text: string }).text
              : undefined;
        if (text === undefined || text.trim() === '')
          return sendProblem(reply, 'FERRY_MISSING_ARGUMENT', 'post the mapping file as the body (text), or as {"text": "..."}');
        if (validating) return sendProblem(reply, 'FERRY_RATE_LIMITED', 'one validation at a time: try again when the last one has answered');
        validating = true;
        try {
          return json(reply, await validatePasted(text, sources.validateDir));
        } finally {
          validating = false;
        }
      });
    },
    { prefix: '' },
  );

  // Try-it: the OpenAPI UI's calls go to the real HTTP port through here (same origin, so no CORS);
  // the admin token travels in its own header, so the request's Authorization reaches the route.
  const httpBase = sources.httpBase;
  if (httpBase !== undefined) {
    app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.maxTryBodyBytes ?? 1024 * 1024 }, (_req, body, done) =>
        done(null, body),
      );
      scope.all('/console/try/*', async (req, reply) => {
        const target = httpBase + req.url.slice('/console/try'.length);
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) {
          if (v === undefined || HOP_BY_HOP.has(k) || k === ADMIN_AUTH_HEADER || k === 'cookie') continue;
          headers[k] = Array.isArray(v) ? v.join(', ') : v;
        }
        const body = req.body instanceof Buffer && req.method !== 'GET' && req.method !== 'HEAD' ? req.body : undefined;
        let res: Response;
        try {
          res = await fetch(target, {
            method: req.method,
            headers,
            ...(body !== undefined ? { body } : {}),
            redirect: 'manual',
            signal: AbortSignal.timeout(60_000),
          });
        } catch {
          return sendProblem(reply, 'FERRY_UPSTREAM_UNAVAILABLE', 'the HTTP port did not answer');
        }
        reply.code(res.status);
        for (const [k, v] of res.headers) if (!HOP_BY_HOP.has(k) && k !== 'set-cookie' && k !== 'content-encoding') reply.header(k, v);
        return reply.send(Buffer.from(await res.arrayBuffer()));
      });
    });
  }

  app.get('/console', async (_req, reply) => reply.redirect('/console/'));
  app.get('/console/*', async (req, reply) => {
    const name = (req.params as { '*': string })['*'] || 'index.html';
    const file = consoleFiles.get(name) ?? (path.extname(name) === '' ? consoleFiles.get('index.html') : undefined);
    if (file === undefined) {
      const why =
        consoleFiles.size === 0 ? 'the console is not built (node scripts/build.mjs builds it into dist/console)' : `no console file ${name}`;
      return sendProblem(reply, 'FERRY_ROUTE_NOT_FOUND', why);
    }
    return reply
      .header('content-type', file.type)
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
      .send(file.body);
  });
}
