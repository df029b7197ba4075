/**
 * Graceful shutdown: on SIGTERM stop accepting, let requests in flight finish (counted), then close
 * pools and flush telemetry, all within a maximum drain time. Front ends call `begin()` when a
 * request is accepted and the returned `done()` when its response is written.
 */

/** A named action run during shutdown; errors are reported, never stop the sequence. */
export interface ShutdownStep {
  readonly name: string;
  /** May return a promise; the sequence awaits it (up to the step timeout). */
  run(): unknown;
}

export interface ShutdownOptions {
  /** Longest wait for requests in flight before closing anyway (default 10 000 ms). */
  readonly drainTimeoutMs?: number;
  /**
   * Time between the signal and closing the listeners, during which `/readyz` already says 503 so
   * that load balancers stop sending (default 0; a few seconds behind Kubernetes endpoints).
   */
  readonly readinessGraceMs?: number;
  /** Longest wait for each close step (default 5 000 ms). */
  readonly stepTimeoutMs?: number;
  /** Reports progress (`shutdown: draining`, step failures); wire to the JSON logger. */
  readonly log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface ShutdownResult {
  /** True when every request in flight finished before the drain timeout. */
  readonly drained: boolean;
  /** Requests still in flight when the drain ended. */
  readonly remaining: number;
  /** Steps that threw or timed out. */
  readonly failedSteps: readonly string[];
}

export interface ShutdownCoordinator {
  /** Counts a request in; call the returned function exactly once when it is answered. */
  begin(): () => void;
  /** Requests accepted and not yet answered. */
  readonly inFlight: number;
  /** True from the first signal on (readiness should then answer 503). */
  readonly draining: boolean;
  /** Steps that stop new work: close listeners (run when draining starts, not awaited before the drain). */
  onStopAccepting(step: ShutdownStep): void;
  /** Steps run after the drain, in order: close pools, then flush telemetry, then the admin server. */
  onClose(step: ShutdownStep): void;
  /** Runs the sequence once; later calls return the same promise. */
  shutdown(reason: string): Promise<ShutdownResult>;
  /**
   * Installs handlers for `signals` (default SIGTERM and SIGINT) that run `shutdown` and then call
   * `exit(code)` (0 when drained, 1 otherwise). Returns a function that removes them.
   */
  installSignalHandlers(options?: { signals?: readonly NodeJS.Signals[]; exit?: (code: number) => void }): () => void;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/** Creates the coordinator. */
export function createShutdown(options: ShutdownOptions = {}): ShutdownCoordinator {
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
  const stepTimeoutMs = options.stepTimeoutMs ?? 5_000;
  const graceMs = options.readinessGraceMs ?? 0;
  const log = options.log ?? (() => {});
  const stopSteps: ShutdownStep[] = [];
  const closeSteps: ShutdownStep[] = [];
  let inFlight = 0;
  let draining = false;
  let idleWaiters: Array<() => void> = [];
  let result: Promise<ShutdownResult> | undefined;

  function begin(): () => void {
    inFlight++;
    let finished = false;
    return () => {
      if (finished) return;
      finished = true;
      inFlight--;
      if (inFlight === 0 && idleWaiters.length > 0) {
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const w of waiters) w();
      }
    };
  }

  function waitIdle(): Promise<void> {
    if (inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => idleWaiters.push(resolve));
  }

  async function runStep(step: ShutdownStep, failed: string[]): Promise<void> {
    try {
      await withTimeout(
        Promise.resolve().then(() => step.run()),
        stepTimeoutMs,
        step.name,
      );
    } catch (err) {
      failed.push(step.name);
      log('shutdown step failed', { step: step.name, error: err instanceof Error ? err.message : String(err) });
    }
  }

  async function sequence(reason: string): Promise<ShutdownResult> {
    draining = true;
    const failed: string[] = [];
    log('shutdown: started', { reason, inFlight, drainTimeoutMs });
    if (graceMs > 0) await new Promise((r) => setTimeout(r, graceMs));
    // Listeners stop accepting now; their close() may itself wait for requests, so it runs beside the drain.
    const stopping = Promise.all(stopSteps.map((s) => runStep(s, failed)));
    let drained = true;
    try {
      await withTimeout(waitIdle(), drainTimeoutMs, 'drain');
    } catch {
      drained = false;
    }
    const remaining = inFlight;
    log('shutdown: drained', { drained, remaining });
    await stopping;
    for (const step of closeSteps) await runStep(step, failed);
    log('shutdown: done', { drained, remaining, failedSteps: failed });
    return { drained, remaining, failedSteps: failed };
  }

  return {
    begin,
    get inFlight() {
      return inFlight;
    },
    get draining() {
      return draining;
    },
    onStopAccepting: (step) => void stopSteps.push(step),
    onClose: (step) => void closeSteps.push(step),
    shutdown(reason) {
      result ??= sequence(reason);
      return result;
    },
    installSignalHandlers(opts = {}) {
      const signals = opts.signals ?? ['SIGTERM', 'SIGINT'];
      const exit = opts.exit ?? ((code: number) => process.exit(code));
      let exited = false;
      const exitOnce = (code: number): void => {
        if (exited) return;
        exited = true;
        exit(code);
      };
      const handler = (signal: NodeJS.Signals): void => {
        // A backstop: whatever step hangs (a stuck reload, a pool that never closes), the process
        // exits 1 once the drain timeout and one step timeout have passed.
        const deadlineMs = graceMs + drainTimeoutMs + stepTimeoutMs;
        setTimeout(() => {
          log('shutdown: deadline passed, exiting', { deadlineMs });
          exitOnce(1);
        }, deadlineMs).unref();
        void this.shutdown(signal).then((r) => exitOnce(r.drained && r.failedSteps.length === 0 ? 0 : 1));
      };
      for (const s of signals) process.on(s, handler);
      return () => {
        for (const s of signals) process.off(s, handler);
      };
    },
  };
}
