import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acquireShared, FunctionIds, type SharedWatcher } from '../../../src/upstream/discovery/shared-watchers.js';
import { EndpointListeners } from '../../../src/upstream/discovery/listeners.js';
import type { Endpoint } from '../../../src/upstream/discovery/types.js';

test('acquireShared: one watcher per key, closed when the last reference is released (twice releasing counts once)', () => {
  const watchers = new Map<string, SharedWatcher<{ name: string }>>();
  let created = 0;
  let closed = 0;
  const create = (forget: () => void): SharedWatcher<{ name: string }> => {
    created++;
    return {
      refs: 0,
      sinks: new Set(),
      api: { name: `w${created}` },
      close() {
        closed++;
        forget();
      },
    };
  };
  const heard: string[] = [];
  const a = acquireShared(watchers, 'k', create, (e) => heard.push(`a:${e.message}`));
  const b = acquireShared(watchers, 'k', create, (e) => heard.push(`b:${e.message}`));
  const other = acquireShared(watchers, 'other', create, undefined);
  assert.equal(created, 2);
  assert.equal(a.name, 'w1');
  assert.equal(b.name, 'w1');
  assert.equal(other.name, 'w2');
  for (const sink of watchers.get('k')!.sinks) sink(new Error('x'));
  assert.deepEqual(heard, ['a:x', 'b:x']);
  a.release();
  a.release();
  assert.equal(closed, 0, 'b still holds it');
  assert.equal(watchers.get('k')!.sinks.size, 1, "a's sink is gone");
  b.release();
  assert.equal(closed, 1);
  assert.equal(watchers.has('k'), false, 'a closed watcher is forgotten; the next acquire makes a new one');
  assert.equal(acquireShared(watchers, 'k', create, undefined).name, 'w3');
});

test('FunctionIds: 0 for none, one stable number per function', () => {
  const ids = new FunctionIds();
  const f = (): void => {};
  const g = (): void => {};
  assert.equal(ids.of(undefined), 0);
  assert.equal(ids.of(f), ids.of(f));
  assert.notEqual(ids.of(f), ids.of(g));
});

test('EndpointListeners: every listener hears each list; one that throws is reported and the rest still hear; unsubscribe works', () => {
  const errors: string[] = [];
  const l = new EndpointListeners((e) => errors.push(e.message));
  const heard: number[] = [];
  l.subscribe(() => {
    throw new Error('broken listener');
  });
  const off = l.subscribe((list) => heard.push(list.length));
  const list: readonly Endpoint[] = [{ host: '10.0.0.1', port: 1, weight: 100, labels: {} } as unknown as Endpoint];
  l.tell(list);
  off();
  l.tell(list);
  assert.deepEqual(heard, [1]);
  assert.deepEqual(errors, ['broken listener', 'broken listener']);
});
