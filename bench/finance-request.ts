/**
 * CPU time per request body of the finance route (POST /lab/echo/transfer of mappings/lab.yaml:
 * a Transfer with a long and a BigDecimal past a double's precision): the compiled plan's
 * encodeRequest (JSON body → Dubbo request body), and the body parse alone.
 *
 *   node --import tsx bench/finance-request.ts [--rounds 5] [--n 100000]
 */
import { parseArgs } from 'node:util';
import { loadConfigDir } from '../src/config/loader.js';
import { compileDubboRoute } from '../src/mapping/dubbo.js';
import { RequestView } from '../src/mapping/request-view.js';
import { TRANSFER_BODY } from './finance-body.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, n: { type: 'string', default: '100000' } } });
const config = await loadConfigDir('mappings');
const route = config.routes.find((r) => r.id === 'lab-echo-transfer');
const service = config.services.get('lab');
if (route?.protocol !== 'dubbo' || service?.protocol !== 'dubbo') throw new Error('mappings/lab.yaml has no Dubbo route lab-echo-transfer');
const plan = compileDubboRoute(route, service, config);
const body = Buffer.from(TRANSFER_BODY);
const req = { method: 'POST', path: '/lab/echo/transfer', rawQuery: '', headers: { 'content-type': 'application/json' }, body };
const n = Number(values.n);
const time = (f: () => unknown): number => {
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) f();
  const c = process.cpuUsage(t0);
  return (c.user + c.system) / n;
};
const encode: number[] = [];
const parse: number[] = [];
for (let r = 0; r < Number(values.rounds); r++) {
  encode.push(time(() => plan.encodeRequest(new RequestView(req, {}, plan.bodyParsing), {}, 3000)));
  parse.push(time(() => new RequestView(req, {}, plan.bodyParsing).body()));
}
const show = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[0]!.toFixed(2)} / ${s[Math.floor(s.length / 2)]!.toFixed(2)}`;
};
console.log(`finance route body (${body.length} B, ${plan.bodyParsing} parse), CPU µs per request, min / median of ${values.rounds} rounds of ${n}:`);
console.log(`encodeRequest (parse + Hessian)  ${show(encode)}`);
console.log(`body parse alone                 ${show(parse)}`);
