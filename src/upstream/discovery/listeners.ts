/**
 * The subscribers of a discovery source's endpoint list: each new list is told to every one of
 * them; one that throws is reported and the others still hear.
 */
import type { Endpoint } from './types.js';

export type EndpointListener = (endpoints: readonly Endpoint[]) => void;

export class EndpointListeners {
  private readonly listeners = new Set<EndpointListener>();

  /** @param onListenerError told what a listener threw (absent: ignored). */
  constructor(private readonly onListenerError?: (err: Error) => void) {}

  /** Adds a listener; the function returned removes it. */
  subscribe(listener: EndpointListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Tells every listener the list (a copy of the set is walked: a listener may unsubscribe). */
  tell(list: readonly Endpoint[]): void {
    for (const l of [...this.listeners]) {
      try {
        l(list);
      } catch (err) {
        this.onListenerError?.(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
