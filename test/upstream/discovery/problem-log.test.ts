import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProblemLog } from '../../../src/upstream/discovery/problem-log.js';

test('a problem is told once while it lasts; clear() or a sweep without it lets its return be told again', () => {
  const told: string[] = [];
  const log = createProblemLog((e) => told.push(e.message), 3);
  log.report('a', new Error('a1'));
  log.report('a', new Error('a2'));
  assert.deepEqual(told, ['a1'], 'the repeat is not told');
  log.sweep(); // a was reported this round: kept
  log.report('a', new Error('a3'));
  assert.deepEqual(told, ['a1']);
  log.sweep(); // reported again before this sweep: kept
  log.sweep(); // not reported in the round that just ended: forgotten
  log.report('a', new Error('a4'));
  assert.deepEqual(told, ['a1', 'a4'], 'it came back after a round without it');
  log.clear('a');
  log.report('a', new Error('a5'));
  assert.deepEqual(told, ['a1', 'a4', 'a5']);
});

test('the remembered keys are bounded (input: 4 keys, room for 3): the oldest is forgotten, never the newest', () => {
  const told: string[] = [];
  const log = createProblemLog((e) => told.push(e.message), 3);
  for (const k of ['k1', 'k2', 'k3', 'k4']) log.report(k, new Error(k));
  assert.deepEqual([...log.active()].sort(), ['k2', 'k3', 'k4']);
  log.report('k4', new Error('again'));
  assert.equal(told.length, 4);
});

test('a sink that throws does not break the caller', () => {
  const log = createProblemLog(() => {
    throw new Error('logger down');
  });
  assert.doesNotThrow(() => log.report('x', new Error('x')));
});
