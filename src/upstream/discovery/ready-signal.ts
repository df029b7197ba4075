/**
 * "Has the source read its registry yet?": a discovery source's `ready(timeoutMs)` waits on this.
 * Waiters resolve true when the first list arrives, false at their own timeout or when the source
 * closes first.
 */
export class ReadySignal {
  private readonly waiters = new Set<(ok: boolean) => void>();

  /** Resolves with what settle() says, or false after `timeoutMs`. */
  wait(timeoutMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(done);
        resolve(false);
      }, timeoutMs);
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        resolve(ok);
      };
      this.waiters.add(done);
    });
  }

  /** Answers every waiter: true once the list was read, false when the source closed. */
  settle(ok: boolean): void {
    const waiting = [...this.waiters];
    this.waiters.clear();
    for (const w of waiting) w(ok);
  }
}
