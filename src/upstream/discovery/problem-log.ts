/**
 * "Logged once": registry trouble that persists (a malformed node, a revision whose MetadataInfo
 * cannot be fetched) is reported when it appears, not on every re-read, and again only after it
 * cleared and came back. Keys name the thing (node path, app/revision); the set is bounded, the
 * oldest keys forgotten first (so a forgotten problem may be reported a second time, never lost).
 */

export interface ProblemLog {
  /** Reports `err` unless `key` is already reported and not cleared since. */
  report(key: string, err: Error): void;
  /** The problem under `key` is gone (fixed, or its node removed). */
  clear(key: string): void;
  /** Clears every key starting with `prefix`. */
  clearPrefix(prefix: string): void;
  /**
   * For sources that re-read everything each round (a poll): clears the keys not reported since
   * the previous sweep, so a problem that stopped happening is told again when it returns.
   */
  sweep(): void;
  /** Keys currently reported (for tests and readiness). */
  active(): readonly string[];
}

/** Default number of problem keys remembered. */
export const DEFAULT_MAX_REMEMBERED_PROBLEMS = 4096;

/** A sink that never throws: a logger that throws must not break discovery. */
export function safeSink(sink: ((err: Error) => void) | undefined): (err: Error) => void {
  return (err) => {
    try {
      sink?.(err);
    } catch {
      // swallowed on purpose (see above)
    }
  };
}

export function createProblemLog(sink: ((err: Error) => void) | undefined, maxKeys = DEFAULT_MAX_REMEMBERED_PROBLEMS): ProblemLog {
  const reported = new Set<string>();
  /** Keys reported (again) since the last sweep. */
  let seenThisRound = new Set<string>();
  const emit = safeSink(sink);
  return {
    report(key, err) {
      seenThisRound.add(key);
      if (reported.has(key)) return;
      if (reported.size >= maxKeys) {
        const oldest = reported.values().next().value;
        if (oldest !== undefined) reported.delete(oldest);
      }
      reported.add(key);
      emit(err);
    },
    clear(key) {
      reported.delete(key);
    },
    clearPrefix(prefix) {
      for (const k of reported) if (k.startsWith(prefix)) reported.delete(k);
    },
    sweep() {
      for (const k of reported) if (!seenThisRound.has(k)) reported.delete(k);
      seenThisRound = new Set();
    },
    active: () => [...reported],
  };
}
