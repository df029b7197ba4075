/**
 * One watcher per registry and settings, shared by every source that asks for the same: the
 * application-level watchers of ZooKeeper and Nacos hand out references to it and close it when
 * the last one is released. Each reference's error sink hears the watcher's problems while it holds.
 */

/** What a shared watcher keeps for its references. */
export interface SharedWatcher<Api> {
  refs: number;
  readonly sinks: Set<(err: Error) => void>;
  readonly api: Api;
  close(): void;
}

/** Fetchers (functions) get a number, so that the key of watchers with different fetchers differs. */
export class FunctionIds {
  private readonly ids = new WeakMap<object, number>();
  private next = 1;

  /** 0 for no function, else its number. */
  of(fn: object | undefined): number {
    if (fn === undefined) return 0;
    let id = this.ids.get(fn);
    if (id === undefined) {
      id = this.next++;
      this.ids.set(fn, id);
    }
    return id;
  }
}

/**
 * A reference to the watcher of `key` in `watchers`, made with `create(forget)` on first use
 * (`forget` removes it from the map when it closes). `release()` is idempotent.
 */
export function acquireShared<Api extends object>(
  watchers: Map<string, SharedWatcher<Api>>,
  key: string,
  create: (forget: () => void) => SharedWatcher<Api>,
  sink: ((err: Error) => void) | undefined,
): Api & { release(): void } {
  let entry = watchers.get(key);
  if (entry === undefined) {
    entry = create(() => watchers.delete(key));
    watchers.set(key, entry);
  }
  const held = entry;
  held.refs++;
  if (sink !== undefined) held.sinks.add(sink);
  let released = false;
  return {
    ...held.api,
    release() {
      if (released) return;
      released = true;
      if (sink !== undefined) held.sinks.delete(sink);
      if (--held.refs === 0) held.close();
    },
  };
}
