import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assignKeys, createConsistentHashBalancer } from '../../../src/upstream/balance/consistent-hash.js';
import type { HashTableKind } from '../../../src/upstream/balance/consistent-hash.js';
import { createRoundRobinBalancer } from '../../../src/upstream/balance/round-robin.js';
import { counts, view } from './views.js';

const KEYS = Array.from({ length: 100_000 }, (_, i) => `user-${i}`);
const ids = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `10.0.0.${i + 1}:20880`, weight: 100 }));

/** Fraction of keys that change endpoint, and of those the fraction NOT moving to the new endpoint. */
function moved(kind: HashTableKind, n: number): { all: number; collateral: number } {
  const before = assignKeys(kind, ids(n), KEYS);
  const after = assignKeys(kind, ids(n + 1), KEYS);
  const newId = ids(n + 1)[n]!.id;
  let m = 0;
  let c = 0;
  for (let i = 0; i < KEYS.length; i++) {
    if (before[i] === after[i]) continue;
    m++;
    if (after[i] !== newId) c++;
  }
  return { all: m / KEYS.length, collateral: c / KEYS.length };
}

function maxOverMean(kind: HashTableKind, n: number): number {
  const c = Object.values(counts(assignKeys(kind, ids(n), KEYS)));
  return Math.max(...c) / (KEYS.length / n);
}

test('adding one endpoint to N moves close to 1/(N+1) of 100 000 keys (maglev default, ring), measured', () => {
  for (const n of [2, 3, 5, 10]) {
    const ideal = 1 / (n + 1);
    const ring = moved('ring', n);
    const maglev = moved('maglev', n);
    console.log(
      `N=${n}→${n + 1}: ideal ${ideal.toFixed(4)}  ring moved ${ring.all.toFixed(4)} (between old endpoints ${ring.collateral.toFixed(4)})  ` +
        `maglev moved ${maglev.all.toFixed(4)} (between old endpoints ${maglev.collateral.toFixed(4)})  ` +
        `max/mean load ring ${maxOverMean('ring', n + 1).toFixed(3)} maglev ${maxOverMean('maglev', n + 1).toFixed(3)}`,
    );
    // Within 25 % of the ideal share (160 virtual nodes per endpoint).
    assert.ok(Math.abs(ring.all - ideal) / ideal < 0.25, `ring moved ${ring.all}, ideal ${ideal}`);
    assert.equal(ring.collateral, 0);
    // Only keys that now belong to the new endpoint move on a ring.
    const before = assignKeys('ring', ids(n), KEYS);
    const after = assignKeys('ring', ids(n + 1), KEYS);
    const newId = ids(n + 1)[n]!.id;
    for (let i = 0; i < KEYS.length; i++) if (before[i] !== after[i]) assert.equal(after[i], newId);
    assert.ok(Math.abs(maglev.all - ideal) / ideal < 0.1, `maglev moved ${maglev.all}, ideal ${ideal}`);
    assert.ok(maglev.collateral < 0.01, `maglev moved ${maglev.collateral} between old endpoints`);
    assert.ok(maxOverMean('maglev', n + 1) < 1.05);
  }
});

test('removing one endpoint moves only its own keys (ring)', () => {
  const before = assignKeys('ring', ids(5), KEYS);
  const remaining = ids(5).filter((e) => e.id !== '10.0.0.3:20880');
  const after = assignKeys('ring', remaining, KEYS);
  let movedKeys = 0;
  for (let i = 0; i < KEYS.length; i++) {
    if (before[i] !== after[i]) {
      movedKeys++;
      assert.equal(before[i], '10.0.0.3:20880');
    }
  }
  const frac = movedKeys / KEYS.length;
  console.log(`remove 1 of 5: moved ${frac.toFixed(4)} (ideal 0.2000)`);
  assert.ok(frac > 0.15 && frac < 0.25);
});

test('weights shift the share of keys', () => {
  const c = counts(
    assignKeys(
      'ring',
      [
        { id: 'a:1', weight: 300 },
        { id: 'b:1', weight: 100 },
      ],
      KEYS,
    ),
  );
  const shareA = c['a:1']! / KEYS.length;
  console.log(`weight 300:100 → share ${shareA.toFixed(3)} (ideal 0.750)`);
  assert.ok(shareA > 0.68 && shareA < 0.82);
  const m = counts(
    assignKeys(
      'maglev',
      [
        { id: 'a:1', weight: 300 },
        { id: 'b:1', weight: 100 },
      ],
      KEYS,
    ),
  );
  assert.ok(Math.abs(m['a:1']! / KEYS.length - 0.75) < 0.03);
});

for (const table of ['ring', 'maglev'] as const) {
  test(`${table}: same key → same endpoint; an unavailable endpoint's keys go elsewhere, others stay`, () => {
    const b = createConsistentHashBalancer({ fallback: createRoundRobinBalancer(), table });
    const eps = [view('a:1'), view('b:1'), view('c:1'), view('d:1')];
    const sample = KEYS.slice(0, 2000);
    const first = sample.map((k) => b.pick(eps, { hashKey: k })!.id);
    assert.deepEqual(
      sample.map((k) => b.pick(eps, { hashKey: k })!.id),
      first,
    );
    // New view objects with the same ids (a pool list rebuilt) keep the mapping.
    const again = [view('d:1'), view('c:1'), view('b:1'), view('a:1')];
    assert.deepEqual(
      sample.map((k) => b.pick(again, { hashKey: k })!.id),
      first,
    );
    eps[1]!.up = false;
    const during = sample.map((k) => b.pick(eps, { hashKey: k })!.id);
    let stayed = 0;
    for (let i = 0; i < sample.length; i++) {
      assert.notEqual(during[i], 'b:1');
      if (first[i] !== 'b:1' && during[i] === first[i]) stayed++;
    }
    const notOnB = first.filter((id) => id !== 'b:1').length;
    assert.equal(stayed, notOnB, 'keys of available endpoints did not move');
    eps[1]!.up = true;
    assert.deepEqual(
      sample.map((k) => b.pick(eps, { hashKey: k })!.id),
      first,
    );
    // exclusion behaves like unavailability for that one call
    const k0 = sample[0]!;
    const ex = b.pick(eps, { hashKey: k0, exclude: new Set([first[0]!]) })!;
    assert.notEqual(ex.id, first[0]);
    for (const e of eps) e.up = false;
    assert.equal(b.pick(eps, { hashKey: k0 }), undefined);
  });
}

test('no hash key: the fallback balancer picks', () => {
  const fallbackPicks: string[] = [];
  const fallback = {
    pick: (eps: readonly ReturnType<typeof view>[]) => {
      fallbackPicks.push('called');
      return eps[eps.length - 1];
    },
  };
  const b = createConsistentHashBalancer({ fallback });
  const eps = [view('a:1'), view('b:1')];
  assert.equal(b.pick(eps, {})!.id, 'b:1');
  assert.equal(b.pick(eps, { hashKey: '' })!.id, 'b:1');
  assert.equal(fallbackPicks.length, 2);
  b.pick(eps, { hashKey: 'k' });
  assert.equal(fallbackPicks.length, 2);
});

test('lookup cost of ring and maglev (measured, printed; no timing assertion)', () => {
  for (const table of ['ring', 'maglev'] as const) {
    const b = createConsistentHashBalancer({ fallback: createRoundRobinBalancer(), table });
    const eps = ids(10).map((e) => view(e.id));
    const t0 = performance.now();
    b.pick(eps, { hashKey: 'warm' });
    const build = performance.now() - t0;
    const t1 = performance.now();
    for (const k of KEYS) b.pick(eps, { hashKey: k });
    const per = ((performance.now() - t1) * 1000) / KEYS.length;
    console.log(`${table}: build ${build.toFixed(2)} ms for 10 endpoints, pick ${per.toFixed(3)} µs`);
  }
});
