/**
 * One table of route cases against the sample bank mappings (mappings/bank.yaml) served by the
 * Java sample provider, plus one route to a provider that is not there. Both front ends (HTTP and
 * Envoy ext_proc) run the same table and must give the same status, content-type, set-cookie and
 * body. Use `writeCaseMappings` to get a mappings folder that points at a running provider.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One request and what must hold for it. */
export interface RouteCase {
  readonly name: string;
  readonly method: string;
  /** Path with query string, as sent. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Request body (UTF-8); absent for requests without one. */
  readonly body?: string;
  /** Expected status through the HTTP front end. */
  readonly status: number;
  /** Expected `code` of the problem+json body, for error cases. */
  readonly code?: string;
  /**
   * Through ext_proc: 'answer' (default) means Ferry answers with an ImmediateResponse equal to
   * the HTTP reply. 'continue' means the request is not Ferry's (no route for the method + path)
   * and Ferry lets Envoy route it, so there is nothing to compare.
   */
  readonly extProc?: 'answer' | 'continue';
}

/** A fixed W3C trace context, so that problem documents carry the same traceId on both paths. */
export const CASE_TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

const transfer = (amount: string, to = 3): string =>
  JSON.stringify({ to, amount, currency: 'CNY', memo: 'rent', executeAt: '2024-05-01T10:00:00', tags: ['home', 'monthly'] });

/** The shared table. */
export const ROUTE_CASES: readonly RouteCase[] = [
  { name: 'get an account (long path param, BigDecimal, enum, LocalDateTime in the reply)', method: 'GET', path: '/accounts/2', status: 200 },
  { name: 'get an account whose id is beyond 2^53', method: 'GET', path: '/accounts/9007199254740993', status: 200 },
  { name: 'a query argument', method: 'GET', path: '/accounts?limit=3', status: 200 },
  { name: 'a map result with mixed value types', method: 'GET', path: '/accounts/5/summary', status: 200 },
  { name: 'a null result', method: 'GET', path: '/accounts/5000/maybe', status: 200 },
  { name: 'no-argument method', method: 'GET', path: '/ping', status: 200 },
  { name: 'percent-encoded path parameter', method: 'GET', path: '/greet/Ann%20Lee', status: 200 },
  { name: 'overloaded method chosen by arity', method: 'GET', path: '/greet/Bo/times/3', status: 200 },
  { name: 'header into an attachment', method: 'GET', path: '/attachments', headers: { 'x-tenant': 'acme' }, status: 200 },
  {
    name: 'POST a JSON body (POJO with BigDecimal, enum, LocalDateTime, list)',
    method: 'POST',
    path: '/accounts/2/transfers',
    headers: { 'content-type': 'application/json', 'x-request-id': 'req-1' },
    body: transfer('10.50'),
    status: 200,
  },
  {
    name: 'Java exception mapped by the route (InsufficientFundsException → 422)',
    method: 'POST',
    path: '/accounts/2/transfers',
    headers: { 'content-type': 'application/json' },
    body: transfer('999999.99'),
    status: 422,
    code: 'FERRY_UPSTREAM_EXCEPTION',
  },
  { name: 'Java exception mapped to 404', method: 'GET', path: '/accounts/5000', status: 404, code: 'FERRY_UPSTREAM_EXCEPTION' },
  {
    name: 'unmapped Java exception → 502',
    method: 'POST',
    path: '/fail',
    headers: { 'content-type': 'application/json' },
    body: '{"message":"boom"}',
    status: 502,
    code: 'FERRY_UPSTREAM_EXCEPTION',
  },
  {
    name: 'bad JSON body (input: `{"to":3,`) → 400',
    method: 'POST',
    path: '/accounts/2/transfers',
    headers: { 'content-type': 'application/json' },
    body: '{"to":3,',
    status: 400,
    code: 'FERRY_BAD_JSON',
  },
  { name: 'path parameter not a long (input: /accounts/abc) → 400', method: 'GET', path: '/accounts/abc', status: 400, code: 'FERRY_BAD_ARGUMENT' },
  {
    name: 'provider not reachable (input: route to a closed port) → 503',
    method: 'GET',
    path: '/ghost/ping',
    status: 503,
    code: 'FERRY_UPSTREAM_UNAVAILABLE',
  },
  {
    name: 'no route (input: GET /nowhere) → 404 over HTTP, CONTINUE over ext_proc',
    method: 'GET',
    path: '/nowhere',
    status: 404,
    code: 'FERRY_ROUTE_NOT_FOUND',
    extProc: 'continue',
  },
  {
    name: 'wrong method (input: DELETE /accounts/2) → 405 over HTTP, CONTINUE over ext_proc',
    method: 'DELETE',
    path: '/accounts/2',
    status: 405,
    code: 'FERRY_METHOD_NOT_ALLOWED',
    extProc: 'continue',
  },
];

/**
 * Writes a mappings folder for the table: mappings/bank.yaml pointed at `providerAddress`, and
 * ghost.yaml with a service on `deadAddress` (a port nothing listens on). Returns the folder.
 */
export function writeCaseMappings(providerAddress: string, deadAddress: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-route-cases-'));
  const bank = readFileSync(new URL('../../mappings/bank.yaml', import.meta.url), 'utf8');
  if (!bank.includes('127.0.0.1:20880')) throw new Error('mappings/bank.yaml no longer names 127.0.0.1:20880; update writeCaseMappings');
  writeFileSync(join(dir, 'bank.yaml'), bank.replaceAll('127.0.0.1:20880', providerAddress));
  writeFileSync(
    join(dir, 'ghost.yaml'),
    [
      'services:',
      '  ghost:',
      '    protocol: dubbo',
      '    interface: com.example.bank.AccountService',
      '    version: 1.0.0',
      `    endpoints: [${deadAddress}]`,
      '    timeout: 2s',
      'routes:',
      '  - id: ghost-ping',
      '    http: GET /ghost/ping',
      '    call: ghost.ping',
      '',
    ].join('\n'),
  );
  return dir;
}
