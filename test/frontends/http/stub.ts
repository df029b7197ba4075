/**
 * The HTTP front end on a real socket over a stand-in engine, for the front end's own tests (the
 * engine is not what they test; end-to-end tests use the real one): `/ok`, `/echo` (body length),
 * `/slow/<ms>`, `/big/<bytes>` (a JSON string of that size); anything else 404 problem+json.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { FerryError } from '../../../src/errors/index.js';
import { problemResponse, type GatewayRequest, type GatewayResponse } from '../../../src/exchange/index.js';
import { createFrontendContract, type FrontendLimits } from '../../../src/frontends/contract.js';
import { startHttpFrontend, type HttpFrontend } from '../../../src/frontends/http/index.js';
import type { ServerCertificates } from '../../../src/frontends/tls.js';
import type { Engine } from '../../../src/gateway/types.js';

export interface StubFrontend {
  readonly port: number;
  readonly http: HttpFrontend;
  /** Requests that reached the engine, in order. */
  readonly calls: GatewayRequest[];
  /** Requests counted in and not yet answered (what drain waits for). */
  readonly tracked: () => number;
  /** Refusals told to the operator's log. */
  readonly refusals: Array<{ reason: string; fields: Readonly<Record<string, unknown>> }>;
  close(): Promise<void>;
}

const json = (status: number, value: unknown): GatewayResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(value),
});

export async function startStubFrontend(limits: Partial<FrontendLimits> = {}, tls?: ServerCertificates): Promise<StubFrontend> {
  const calls: GatewayRequest[] = [];
  const refusals: StubFrontend['refusals'] = [];
  let inFlight = 0;
  const engine: Engine = {
    maxBodyBytes: 1 << 30, // the contract's limit is the one that counts
    match: () => undefined,
    async handle(req) {
      calls.push(req);
      if (req.path === '/ok') return json(200, { ok: true });
      if (req.path === '/echo') return json(200, { bytes: req.body?.length ?? 0 });
      const slow = /^\/slow\/(\d+)$/.exec(req.path);
      if (slow) {
        await sleep(Number(slow[1]));
        return json(200, { slow: true });
      }
      const big = /^\/big\/(\d+)$/.exec(req.path);
      if (big) {
        const body = Buffer.alloc(Number(big[1]), 0x61);
        body[0] = 0x22;
        body[body.length - 1] = 0x22;
        return { status: 200, headers: { 'content-type': 'application/json' }, body };
      }
      return problemResponse(new FerryError('FERRY_ROUTE_NOT_FOUND', `no route serves ${req.method} ${req.path}`));
    },
  };
  const contract = createFrontendContract({
    engine: () => engine,
    trackRequest: () => {
      inFlight++;
      let done = false;
      return () => {
        if (!done) inFlight--;
        done = true;
      };
    },
    limits,
    refused: (reason, fields) => void refusals.push({ reason, fields }),
  });
  const http = await startHttpFrontend(contract, { port: 0, ...(tls !== undefined ? { tls } : {}) });
  return { port: http.port, http, calls, tracked: () => inFlight, refusals, close: () => http.close() };
}
