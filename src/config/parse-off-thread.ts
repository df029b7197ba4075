/**
 * Runs parseMappingFile (YAML parse, alias budget, schema validation) for a folder's files in a
 * worker thread with a timeout and a heap cap, so that a large or hostile mapping file costs the
 * event loop nothing but the structured clone of the result, and cannot take the process's memory.
 */
import { Worker } from 'node:worker_threads';
import { ConfigError } from './errors.js';

/** Heap of the parse worker: a file at the 1 MiB cap needs about 150 MB of YAML nodes. */
const WORKER_HEAP_MB = 512;

/** A mapping file as read (loader.ts's MappingFile; restated to keep this file free of the loader). */
interface MappingText {
  readonly file: string;
  readonly text: string;
}

/** Under tsx (sources run as TypeScript) a worker does not inherit the loader: register it first. */
function startWorker(): Worker {
  const url = new URL(import.meta.url.endsWith('.ts') ? './parse-worker.ts' : './parse-worker.js', import.meta.url);
  const resourceLimits = { maxOldGenerationSizeMb: WORKER_HEAP_MB };
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { resourceLimits });
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(code, { eval: true, resourceLimits });
}

/** `R` is what parse-worker.ts posts per file: parseMappingFile's result, positions packed (loader.ts's PackedResult). */
export function parseOffThread<R>(files: readonly MappingText[], timeoutMs: number): Promise<R[]> {
  return new Promise((resolve, reject) => {
    const worker = startWorker();
    let current = files[0]?.file ?? '.';
    let settled = false;
    const fail = (message: string): void => {
      finish();
      reject(new ConfigError([{ file: current, line: 1, col: 1, message }]));
    };
    const finish = (): void => {
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
    };
    const timer = setTimeout(() => {
      if (!settled) fail(`parsing did not finish within ${timeoutMs} ms (the mapping parse timeout, --mapping-parse-timeout-ms); not loaded`);
    }, timeoutMs);
    worker.on('message', (m: { parsing?: string; results?: R[] }) => {
      if (m.parsing !== undefined) current = m.parsing;
      else if (m.results !== undefined && !settled) {
        finish();
        resolve(m.results);
      }
    });
    worker.on('error', (err: Error & { code?: string }) => {
      if (settled) return;
      fail(
        err.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? `parsing needed more than the parse worker's ${WORKER_HEAP_MB} MB heap; not loaded`
          : `cannot be parsed: ${err.message.split('\n')[0]}`,
      );
    });
    worker.on('exit', (code) => {
      if (!settled) fail(`the parse worker exited (code ${code}) before it finished`);
    });
    worker.postMessage(files);
  });
}
