/**
 * Reload work in slices: the generator runner gives the event loop turns between slices and returns
 * the same result as running at once; parse results cross the worker boundary packed and come back
 * with the same positions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runAtOnce, runInSlices } from '../../src/config/slices.js';
import { compileParsed, packParsed, parseMappingFile, unpackParsed, type ParsedFile } from '../../src/config/loader.js';
import { mappingOfSize } from '../support/hostile-mappings.js';

function* counting(n: number, seen: number[]): Generator<void, number> {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    yield;
    seen.push(i);
    sum += i;
  }
  return sum;
}

test('runInSlices (a slice of 0 ms: a turn every 16 steps) lets a callback queued before it run before it finishes, and returns what runAtOnce returns', async () => {
  const order: string[] = [];
  setImmediate(() => order.push('other work'));
  const seen: number[] = [];
  const sum = await runInSlices(counting(100, seen), 0);
  order.push('done');
  assert.deepEqual(order, ['other work', 'done']);
  assert.equal(sum, runAtOnce(counting(100, [])));
  assert.equal(seen.length, 100, 'every step ran');
});

test('runAtOnce finishes on the same turn (no callback queued before it runs first)', () => {
  const order: string[] = [];
  setImmediate(() => order.push('other work'));
  runAtOnce(counting(100, []));
  order.push('done');
  assert.deepEqual(order, ['done']);
});

test('parse results packed for the worker boundary (input: keys with NUL, U+0001, emoji; a 50 KB mapping) unpack to the same positions and compile to the same config', () => {
  const odd: ParsedFile = {
    file: 'odd.yaml',
    data: { a: 1 },
    positions: new Map<string, readonly [number, number]>([
      ['v', [1, 1]],
      ['ka\0b', [2, 3]],
      ['v\u0001x\u00010', [4, 5]],
      ['k🦀', [6, 7]],
      ['', [8, 9]],
    ]),
  };
  const big = parseMappingFile({ file: 'big.yaml', text: mappingOfSize(50_000) });
  const problems = parseMappingFile({ file: 'bad.yaml', text: 'services: [' });
  for (const r of [odd, big]) {
    const packed = packParsed(r);
    const [back] = runAtOnce(unpackParsed([structuredClone(packed)]));
    assert.deepEqual([...(back as ParsedFile).positions], [...(r as ParsedFile).positions]);
    assert.deepEqual((back as ParsedFile).data, (r as ParsedFile).data);
  }
  assert.ok(Array.isArray(problems) && problems.length > 0, 'a syntax error is a list of problems');
  assert.deepEqual(runAtOnce(unpackParsed([packParsed(problems), null])), [problems, null]);
  const direct = compileParsed([big], '.');
  const crossed = compileParsed(runAtOnce(unpackParsed([structuredClone(packParsed(big))])), '.');
  assert.deepEqual(crossed, direct);
});
