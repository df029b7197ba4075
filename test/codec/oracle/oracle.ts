/**
 * Test helper: runs the Java Hessian oracle (test/codec/oracle/java) against either Caucho Hessian
 * (Debian's libhessian-java) or Dubbo's hessian-lite (Maven Central, org.apache.dubbo:hessian-lite).
 * The Java source is compiled once per variant into a temp folder keyed by the source's hash.
 * scripts/setup-hessian.sh installs both jars.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export type OracleVariant = 'caucho' | 'hessian-lite';

const HERE = dirname(fileURLToPath(import.meta.url));
const SOURCE_DIR = join(HERE, 'java', 'ferry', 'oracle');
export const HESSIAN_LITE_VERSION = '4.0.3';

/** Where each variant's jar lives, or undefined when it is not installed. */
export function oracleJar(variant: OracleVariant): string | undefined {
  if (variant === 'caucho') {
    const p = '/usr/share/java/hessian.jar';
    return existsSync(p) ? p : undefined;
  }
  const p = join(
    homedir(),
    '.m2',
    'repository',
    'org',
    'apache',
    'dubbo',
    'hessian-lite',
    HESSIAN_LITE_VERSION,
    `hessian-lite-${HESSIAN_LITE_VERSION}.jar`,
  );
  return existsSync(p) ? p : undefined;
}

const ADD_OPENS = ['java.lang', 'java.math', 'java.util', 'java.time', 'java.io'].flatMap((p) => ['--add-opens', `java.base/${p}=ALL-UNNAMED`]);

function compile(variant: OracleVariant, jar: string): string {
  const files = readdirSync(SOURCE_DIR)
    .filter((f) => f.endsWith('.java'))
    .sort();
  const hash = createHash('sha256');
  hash.update(variant + jar);
  const sources = files.map((f) => {
    let text = readFileSync(join(SOURCE_DIR, f), 'utf8');
    if (variant === 'hessian-lite') text = text.replaceAll('com.caucho.hessian.io', 'com.alibaba.com.caucho.hessian.io');
    hash.update(f + text);
    return { f, text };
  });
  const out = join(tmpdir(), `ferry-hessian-oracle-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(join(out, 'classes', 'ferry', 'oracle', 'HessianOracle.class'))) return join(out, 'classes');
  const src = join(out, 'src', 'ferry', 'oracle');
  mkdirSync(src, { recursive: true });
  for (const { f, text } of sources) writeFileSync(join(src, f), text);
  const r = spawnSync('javac', ['-nowarn', '-encoding', 'UTF-8', '-cp', jar, '-d', join(out, 'classes'), ...sources.map(({ f }) => join(src, f))], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`javac failed for the ${variant} oracle: ${r.stderr}`);
  return join(out, 'classes');
}

/** A running oracle process; send commands one at a time with `ask`. */
export interface Oracle {
  /** Hex of the bytes Java writes for the named sample set. */
  write(name: string): Promise<Buffer>;
  /** Java's canonical description of every top-level value in `bytes`. */
  read(bytes: Buffer): Promise<string[]>;
  close(): Promise<void>;
}

export function startOracle(variant: OracleVariant): Oracle {
  const jar = oracleJar(variant);
  if (jar === undefined) throw new Error(`the ${variant} jar is missing; run scripts/setup-hessian.sh`);
  const classes = compile(variant, jar);
  const proc: ChildProcessWithoutNullStreams = spawn('java', [...ADD_OPENS, '-Xss8m', '-cp', `${classes}:${jar}`, 'ferry.oracle.HessianOracle'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const lines = createInterface({ input: proc.stdout });
  const waiting: Array<(line: string) => void> = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let chain: Promise<unknown> = Promise.resolve();

  function ask(cmd: string): Promise<string> {
    const p = chain.then(
      () =>
        new Promise<string>((resolve, reject) => {
          const onExit = (): void => reject(new Error(`oracle exited: ${stderr}`));
          proc.once('exit', onExit);
          waiting.push((line) => {
            proc.off('exit', onExit);
            if (line.startsWith('ok')) resolve(line.slice(3));
            else reject(new Error(`oracle: ${line}`));
          });
          proc.stdin.write(cmd + '\n');
        }),
    );
    chain = p.catch(() => undefined);
    return p;
  }

  return {
    async write(name) {
      return Buffer.from(await ask(`write ${name}`), 'hex');
    },
    async read(bytes) {
      const line = await ask(`read ${bytes.toString('hex')}`);
      return line === '' ? [] : line.split(' | ');
    },
    async close() {
      proc.stdin.end('quit\n');
      await exited;
    },
  };
}

/** The oracle's escaping of a JS string (per UTF-16 unit), for comparing `str:` descriptions. */
export function esc(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x5c || c === 0x7c) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += s[i];
  }
  return out;
}
