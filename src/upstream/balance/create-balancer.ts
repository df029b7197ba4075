/**
 * The one way the composition root builds a balancer for a service: the configured algorithm,
 * with sticky preferences and retry exclusions honoured in front of it, and (optionally) outlier
 * ejection around it.
 */
import type { BalanceKind, ServiceConfig } from '../../config/types.js';
import { createConsistentHashBalancer, type HashTableKind } from './consistent-hash.js';
import { createLeastPendingBalancer } from './least-pending.js';
import { withOutlierEjection, type OutlierDetector } from './outlier.js';
import { withPreference } from './preferred.js';
import { createRoundRobinBalancer } from './round-robin.js';
import type { Balancer } from './types.js';

export interface BalancerOptions {
  /** Skips endpoints this detector has ejected (falls back to all when every one is ejected). */
  readonly outlier?: OutlierDetector;
  /** consistent-hash: `maglev` (default) or `ring`. */
  readonly hashTable?: HashTableKind;
}

/**
 * Builds `round-robin` (smooth weighted), `least-pending` (the default elsewhere) or
 * `consistent-hash` (on PickHint.hashKey; least-pending for calls without a key).
 */
export function createBalancer(kind: BalanceKind, options: BalancerOptions = {}): Balancer {
  let inner: Balancer;
  switch (kind) {
    case 'round-robin':
      inner = createRoundRobinBalancer();
      break;
    case 'least-pending':
      inner = createLeastPendingBalancer();
      break;
    case 'consistent-hash':
      inner = createConsistentHashBalancer({
        fallback: createLeastPendingBalancer(),
        ...(options.hashTable !== undefined ? { table: options.hashTable } : {}),
      });
      break;
    default: {
      const never: never = kind;
      throw new Error(`unknown balance kind ${String(never)}`);
    }
  }
  const preferring = withPreference(inner);
  return options.outlier === undefined ? preferring : withOutlierEjection(preferring, options.outlier);
}

/** The algorithm a service needs: hash stickiness (`sticky.hashOn`) implies consistent hashing. */
export function balanceKindFor(service: Pick<ServiceConfig, 'balance' | 'sticky'>): BalanceKind {
  return service.sticky?.hashOn !== undefined ? 'consistent-hash' : service.balance;
}
