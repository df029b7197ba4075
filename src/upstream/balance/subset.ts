/**
 * Tag routing: the subset of a service's endpoints one call may go to, chosen by an endpoint label
 * (Dubbo's `dubbo.tag` by default) before the balancer picks. Dubbo's TagRouter rule, static tags:
 *
 *   the call asks for tag T → the endpoints whose label is T; when none is discovered, the
 *                             endpoints without the label (untagged), unless the call is forced
 *                             (`dubbo.force.tag`), which then has no endpoint;
 *   the call asks for no tag → the untagged endpoints only (tagged ones take only their tag's traffic).
 *
 * "Discovered" means registered, not healthy: a tag whose endpoints are all down does not fall back
 * (Dubbo's router looks at the provider list, not at connections). The balancer, stickiness and
 * outlier ejection then work inside the subset. Subsets are computed once per endpoint list and
 * label, so a call costs one map lookup; the index holds one entry per tag value discovered, so a
 * client naming made-up tags cannot grow it.
 */
import { hash32 } from './hash.js';
import type { PickHint, SubsetRequest } from './types.js';

export type { SubsetRequest };

/** Endpoints grouped by one label's value: each priority level kept as its own list. */
export interface TagIndex<T> {
  /** Endpoints without the label (or with it empty), by level. */
  readonly untagged: readonly (readonly T[])[];
  /** Tag value → its endpoints, by level. */
  readonly tagged: ReadonlyMap<string, readonly (readonly T[])[]>;
}

/** Where a subset came from, for messages and tests. */
export type SubsetOutcome = 'tagged' | 'fallback' | 'untagged' | 'forced-empty';

export interface Subset<T> {
  readonly levels: readonly (readonly T[])[];
  readonly outcome: SubsetOutcome;
}

/** Groups `levels` (lists of endpoints by priority) by the value of `label`, read with `labelsOf`. */
export function indexByTag<T>(
  levels: readonly (readonly T[])[],
  label: string,
  labelsOf: (member: T) => Readonly<Record<string, string>>,
): TagIndex<T> {
  const untagged: T[][] = levels.map(() => []);
  const tagged = new Map<string, T[][]>();
  levels.forEach((level, i) => {
    for (const m of level) {
      const tag = labelsOf(m)[label];
      if (tag === undefined || tag === '') {
        untagged[i]!.push(m);
        continue;
      }
      let byLevel = tagged.get(tag);
      if (byLevel === undefined) {
        byLevel = levels.map(() => []);
        tagged.set(tag, byLevel);
      }
      byLevel[i]!.push(m);
    }
  });
  const compact = (byLevel: T[][]): T[][] => byLevel.filter((l) => l.length > 0);
  return { untagged: compact(untagged), tagged: new Map([...tagged].map(([k, v]) => [k, compact(v)])) };
}

/** Dubbo's static TagRouter rule over an index (see the file comment). */
export function selectSubset<T>(index: TagIndex<T>, request: Pick<SubsetRequest, 'tag' | 'force'>): Subset<T> {
  const tag = request.tag;
  if (tag === undefined || tag === '') return { levels: index.untagged, outcome: 'untagged' };
  const own = index.tagged.get(tag);
  if (own !== undefined) return { levels: own, outcome: 'tagged' };
  if (request.force) return { levels: [], outcome: 'forced-empty' };
  return { levels: index.untagged, outcome: 'fallback' };
}

/**
 * Splits traffic by relative weights: `draw` in [0, 1) picks the entry whose cumulative share covers
 * it. Weights of 0 never win; a list whose weights are all 0 picks nothing (undefined).
 */
export function pickShare<E extends { readonly weight: number }>(entries: readonly E[], draw: number): E | undefined {
  let total = 0;
  for (const e of entries) total += Math.max(0, e.weight);
  if (total <= 0) return undefined;
  let at = draw * total;
  for (const e of entries) {
    const w = Math.max(0, e.weight);
    if (w === 0) continue;
    if (at < w) return e;
    at -= w;
  }
  // draw at (or rounding past) 1: the last entry with weight.
  for (let i = entries.length - 1; i >= 0; i--) if (entries[i]!.weight > 0) return entries[i];
  return undefined;
}

/**
 * A value in [0, 1) from a request value: the same user lands on the same side of a split. Seeded,
 * so that a split and consistent hashing on the same value do not line up.
 */
export function drawOf(value: string): number {
  return hash32(value, SPLIT_SEED) / 0x1_0000_0000;
}

const SPLIT_SEED = 0x5b17;

/** The hint for a call: `base` (stickiness, hash key) with the subset request added. */
export function withSubset(base: PickHint | undefined, subset: SubsetRequest | undefined): PickHint | undefined {
  if (subset === undefined) return base;
  return base === undefined ? { subset } : { ...base, subset };
}
