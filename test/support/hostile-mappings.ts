/**
 * Hostile mapping files for the loader and watcher tests: oversized files (sparse, so a 50 MB one
 * costs no disk writes), a FIFO named like a mapping, an alias bomb, and a valid mapping of a given size.
 */
import { execFileSync } from 'node:child_process';
import { open } from 'node:fs/promises';

/** Creates `file` with `bytes` bytes (a sparse file of zeros after a YAML comment line). */
export async function sparseFile(file: string, bytes: number): Promise<void> {
  const h = await open(file, 'w');
  try {
    await h.write('# padding\n');
    await h.truncate(bytes);
  } finally {
    await h.close();
  }
}

/** A named pipe at `file` (mkfifo(1); Node has no mkfifo). Opening it for reading blocks until a writer comes. */
export function makeFifo(file: string): void {
  execFileSync('mkfifo', [file]);
}

/** The billion-laughs document: nine levels of aliases, each expanding ten of the level before. */
export function aliasBomb(): string {
  const lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i <= 9; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(',')}]`);
  return lines.join('\n') + '\n';
}

/** A valid mapping (one Dubbo service at `endpoint`, numbered routes) of about `bytes` bytes. */
export function mappingOfSize(bytes: number, endpoint = '127.0.0.1:20880', prefix = 'gen'): string {
  const head = `services:\n  ${prefix}svc:\n    protocol: dubbo\n    interface: com.example.bank.AccountService\n    endpoints: [${endpoint}]\nroutes:\n`;
  const out = [head];
  let len = head.length;
  for (let i = 0; len < bytes; i++) {
    const r = `  - id: ${prefix}-${i}\n    http: GET /${prefix}/${i}/{id}\n    call: ${prefix}svc.getAccount\n    args:\n      - { from: path.id, type: long }\n`;
    if (len + r.length > bytes) break;
    out.push(r);
    len += r.length;
  }
  return out.join('');
}
