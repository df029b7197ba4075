/**
 * Reconnect backoff: exponential with jitter and a ceiling, so that a provider that went away is
 * not hammered by every gateway replica at once, yet one that comes back is found within seconds.
 */

/** First delay after a failure. */
export const BACKOFF_INITIAL_MS = 100;
/** Each further failure multiplies the delay by this. */
export const BACKOFF_MULTIPLIER = 1.6;
/** Each delay is spread by ± this fraction, to de-synchronise clients. */
export const BACKOFF_JITTER = 0.2;
/** Delays never exceed this (before jitter). */
export const BACKOFF_MAX_MS = 10_000;

export interface BackoffOptions {
  readonly initialMs?: number;
  readonly multiplier?: number;
  readonly jitter?: number;
  readonly maxMs?: number;
  /** Source of randomness in [0, 1); tests pass a fixed one. */
  readonly random?: () => number;
}

/** Computes successive reconnect delays; `reset()` after a success. Holds no timers itself. */
export class Backoff {
  private readonly initialMs: number;
  private readonly multiplier: number;
  private readonly jitter: number;
  private readonly maxMs: number;
  private readonly random: () => number;
  private base: number;
  private failures = 0;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? BACKOFF_INITIAL_MS;
    this.multiplier = options.multiplier ?? BACKOFF_MULTIPLIER;
    this.jitter = options.jitter ?? BACKOFF_JITTER;
    this.maxMs = options.maxMs ?? BACKOFF_MAX_MS;
    this.random = options.random ?? Math.random;
    this.base = this.initialMs;
  }

  /** Failures since the last reset. */
  get attempts(): number {
    return this.failures;
  }

  /** The delay before the next attempt; advances the sequence. */
  next(): number {
    const base = this.base;
    this.failures++;
    this.base = Math.min(base * this.multiplier, this.maxMs);
    const spread = base * this.jitter * (this.random() * 2 - 1);
    return Math.max(0, Math.round(base + spread));
  }

  /** Back to the initial delay (call after a connection proved healthy). */
  reset(): void {
    this.base = this.initialMs;
    this.failures = 0;
  }
}
