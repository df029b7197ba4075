/**
 * CPU time per parse of the finance route's body (a Transfer, 250 B, numbers past a double's
 * precision): lossless-json's `parse` (the general path), parseExactJson (src/codec/exact-json.ts,
 * the same values), and plain `JSON.parse` for scale, alternating in one process.
 *
 *   node --import tsx bench/exact-json.ts [--rounds 6] [--n 200000]
 */
import { parseArgs } from 'node:util';
import { parse as parseLossless } from 'lossless-json';
import { parseExactJson } from '../src/codec/exact-json.js';
import { TRANSFER_BODY } from './finance-body.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '6' }, n: { type: 'string', default: '200000' } } });
const body = TRANSFER_BODY;
const n = Number(values.n);
const rows: Record<string, number[]> = { 'lossless-json parse': [], parseExactJson: [], 'JSON.parse': [] };
const parsers: Array<[string, (text: string) => unknown]> = [
  ['lossless-json parse', (t) => parseLossless(t)],
  ['parseExactJson', parseExactJson],
  ['JSON.parse', (t) => JSON.parse(t)],
];
for (let round = 0; round < Number(values.rounds); round++) {
  for (const [name, parse] of parsers) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i++) parse(body);
    const c = process.cpuUsage(t0);
    rows[name]!.push((c.user + c.system) / n);
  }
}
console.log(`${body.length} B body, ${values.rounds} rounds of ${n}, CPU µs per parse (min / median):`);
for (const [name, us] of Object.entries(rows)) {
  const sorted = [...us].sort((a, b) => a - b);
  console.log(`${name.padEnd(22)} ${sorted[0]!.toFixed(2)} / ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)}`);
}
