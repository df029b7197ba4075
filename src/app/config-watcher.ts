/**
 * Hot reload of a mapping folder. Changes are debounced, then the whole folder is loaded and
 * validated by the caller's `load`; only a config that loads is applied. A bad change is reported
 * through `onError` (the loader's ConfigError carries file:line:col) and the old config keeps
 * serving. Reloads never overlap: a change that arrives during one triggers one more afterwards.
 *
 * Watching uses `fs.watch(dir, { recursive: true })`, which works on Linux from Node 20 (checked on
 * 20.20, including files in sub-folders created after the watch started); where it is unavailable
 * or fails, the watcher polls file sizes and mtimes instead. Symlinked files are followed, so the
 * atomic `..data` swap of a Kubernetes ConfigMap volume is seen by both (the loader skips the
 * hidden `..data` / `..<timestamp>` folders themselves).
 */
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../config/errors.js';

export const DEFAULT_RELOAD_TIMEOUT_MS = 60_000;

/** `p`, or undefined once `ms` passed; an unref'd timer does not keep the process alive. */
function within<T>(p: Promise<T>, ms: number, unref = false): Promise<{ value: T } | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
    if (unref) timer.unref();
  });
  return Promise.race([p.then((value) => ({ value })), late]).finally(() => clearTimeout(timer));
}

export interface WatchConfigOptions<C> {
  /** Loads and validates the folder; rejects with the loader's error (ConfigError) on a bad change. */
  load(): Promise<C>;
  /** Switches to the new config (build the new engine, swap it in). May be async. */
  apply(config: C): void | Promise<void>;
  /** Called with the error of a refused change (or a failing `apply`); the old config stays. */
  onError(err: unknown): void;
  /** Called after a config was applied (for logs and metrics). */
  onApplied?(config: C): void;
  /** Quiet period after the last file event before reloading (default 250 ms). */
  readonly debounceMs?: number;
  /** `auto` (default): fs.watch, polling if that fails; `poll`: polling only. */
  readonly mode?: 'auto' | 'poll';
  /** Polling period (default 1000 ms). */
  readonly pollIntervalMs?: number;
  /** Which files count (default: *.yaml, *.yml, *.proto). */
  readonly filter?: (file: string) => boolean;
  /**
   * Longest a reload (load and apply) may take (default 60 000 ms): past it the reload is
   * abandoned, reported through `onError` as a ConfigError naming the folder, and the old config
   * keeps serving; should it finish later, its result is dropped.
   */
  readonly reloadTimeoutMs?: number;
}

export interface ConfigWatcher {
  /** `watch` or `poll`: how changes are being noticed. */
  readonly mode: 'watch' | 'poll';
  /** Reloads now (also what a SIGHUP handler can call); resolves true when the new config was applied. */
  reloadNow(): Promise<boolean>;
  /** Stops watching and waits for a reload in progress. */
  close(): Promise<void>;
}

const DEFAULT_FILTER = (file: string): boolean => /\.(ya?ml|proto)$/i.test(file);

/** A fingerprint of every matching file below `dir`: path, size and mtime. */
export async function folderSignature(dir: string, filter: (file: string) => boolean = DEFAULT_FILTER): Promise<string> {
  const parts: string[] = [];
  async function walk(d: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) await walk(full);
      else if (filter(e.name)) {
        try {
          const s = await stat(full);
          parts.push(`${full}\u0000${s.size}\u0000${s.mtimeMs}`);
        } catch {
          // removed between readdir and stat: the next event will catch it
        }
      }
    }
  }
  await walk(dir);
  return parts.sort().join('\n');
}

/** Starts watching `dir`. The caller has already loaded and applied the first config. */
export async function watchConfig<C>(dir: string, options: WatchConfigOptions<C>): Promise<ConfigWatcher> {
  const debounceMs = options.debounceMs ?? 250;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const filter = options.filter ?? DEFAULT_FILTER;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<boolean> | undefined;
  let again = false;
  let lastSignature = await folderSignature(dir, filter);

  const reloadTimeoutMs = options.reloadTimeoutMs ?? DEFAULT_RELOAD_TIMEOUT_MS;

  /** `wanted()` turns false once the reload timed out or the watcher closed: a late config is then dropped, not applied. */
  async function loadAndApply(wanted: () => boolean): Promise<{ config: C } | { err: unknown }> {
    let config: C;
    try {
      config = await options.load();
    } catch (err) {
      return { err };
    }
    if (!wanted()) return { err: undefined };
    try {
      await options.apply(config);
    } catch (err) {
      return { err };
    }
    return { config };
  }

  async function reloadOnce(): Promise<boolean> {
    lastSignature = await folderSignature(dir, filter);
    let timedOut = false;
    const r = await within(
      loadAndApply(() => !timedOut && !closed),
      reloadTimeoutMs,
    );
    if (r === undefined) {
      timedOut = true;
      options.onError(
        new ConfigError([
          {
            file: dir,
            line: 1,
            col: 1,
            message: `the reload did not finish within ${reloadTimeoutMs} ms (--reload-timeout-ms); abandoned, the previous config keeps serving`,
          },
        ]),
      );
      return false;
    }
    if ('err' in r.value) {
      if (r.value.err !== undefined) options.onError(r.value.err);
      return false;
    }
    options.onApplied?.(r.value.config);
    return true;
  }

  function reloadNow(): Promise<boolean> {
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = (async () => {
      let ok = false;
      try {
        do {
          again = false;
          ok = await reloadOnce();
        } while (again && !closed);
      } finally {
        running = undefined;
      }
      return ok;
    })();
    return running;
  }

  function schedule(): void {
    if (closed) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void reloadNow();
    }, debounceMs);
  }

  let watcher: FSWatcher | undefined;
  let poller: NodeJS.Timeout | undefined;
  let polling = false;

  function startPolling(): void {
    if (poller !== undefined || closed) return;
    poller = setInterval(() => {
      if (polling || running !== undefined) return;
      polling = true;
      void folderSignature(dir, filter)
        .then((sig) => {
          if (sig !== lastSignature) schedule();
        })
        .finally(() => {
          polling = false;
        });
    }, pollIntervalMs);
  }

  let mode: 'watch' | 'poll' = 'poll';
  if ((options.mode ?? 'auto') === 'auto') {
    try {
      watcher = watch(dir, { recursive: true }, (_event, file) => {
        // Editors write temp files (`.a.yaml.swp`, `a.yaml~`); only matching names, or unknown ones, count.
        // A Kubernetes ConfigMap volume changes by renaming a new `..data` symlink over the old one
        // (the visible files are symlinks through it and do not change): `..` names count too.
        if (file === null || filter(String(file)) || !path.extname(String(file)) || String(file).startsWith('..')) schedule();
      });
      watcher.on('error', () => {
        watcher?.close();
        watcher = undefined;
        mode = 'poll';
        startPolling();
      });
      mode = 'watch';
    } catch {
      startPolling();
    }
  } else {
    startPolling();
  }

  return {
    get mode() {
      return mode;
    },
    reloadNow,
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      watcher?.close();
      if (poller !== undefined) clearInterval(poller);
      // A reload in progress gets a moment to finish; a stuck one is not waited for (shutdown must not hang on it).
      if (running !== undefined)
        await within(
          running.catch(() => false),
          1000,
          true,
        );
    },
  };
}
