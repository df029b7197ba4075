/**
 * Caucho Hessian 2 (Debian's libhessian-java 4.0.38) as a second, independent oracle for Ferry's
 * Hessian codec: encode a described Java value with Caucho, or decode bytes with Caucho and get a
 * textual description. Protocol and formats: samples/hessian-oracle/src/ferry/oracle/HessianOracle.java.
 *
 * Not an oracle for BigDecimal, float or java.time (Caucho differs from Dubbo's hessian-lite
 * there): use the Java sample provider (TypeLabService) for those.
 *
 * JVM start costs ~0.3–0.5 s: prefer {@link startCauchoOracle} (one JVM, many requests) or the
 * *Many helpers over calling {@link cauchoEncode}/{@link cauchoDescribe} in a loop.
 */
import { ensureJavaTools, javaToolPaths } from './java-build.js';
import { spawnManaged, terminate, type ManagedProcess } from './jvm-process.js';

/** A value for Caucho to write; see HessianOracle.java for the exact Java value each kind makes. */
export type CauchoSpec =
  | { kind: 'null' }
  | { kind: 'bool'; value: boolean }
  | { kind: 'int' | 'short' | 'byte'; value: number | string }
  | { kind: 'long'; value: number | string | bigint }
  | { kind: 'double' | 'float'; value: number | string }
  | { kind: 'char'; value: string }
  | { kind: 'string'; value: string }
  | { kind: 'binary'; value: string | Uint8Array }
  | { kind: 'date'; value: number | string | Date }
  | { kind: 'list'; items: CauchoSpec[] }
  | { kind: 'typed-list'; type: string; items: CauchoSpec[] }
  | { kind: 'map'; entries: Array<[CauchoSpec, CauchoSpec]> }
  | { kind: 'typed-map'; type: string; entries: Array<[CauchoSpec, CauchoSpec]> }
  | { kind: 'object'; type: string; fields: Array<[string, CauchoSpec]> }
  | { kind: 'def'; id: string; value: CauchoSpec }
  | { kind: 'use'; id: string }
  | { kind: 'seq'; items: CauchoSpec[] };

/** Kinds that take a single `value`. */
export type CauchoScalarKind = 'null' | 'bool' | 'int' | 'short' | 'byte' | 'long' | 'double' | 'float' | 'char' | 'string' | 'binary' | 'date';

/** One Caucho JVM serving many requests, in order. */
export interface CauchoOracle {
  /** Caucho's Hessian 2 bytes for the value described by `spec`. */
  encode(spec: CauchoSpec): Promise<Buffer>;
  /** Caucho's reading of `bytes` (Buffer or hex): descriptions of each top-level value joined by TAB. */
  describe(bytes: Buffer | string): Promise<string>;
  /** Ends the JVM (closes stdin) and waits for it to exit. */
  close(): Promise<void>;
}

const ADD_OPENS = ['java.lang', 'java.math', 'java.util', 'java.time', 'java.io'].flatMap((p) => ['--add-opens', `java.base/${p}=ALL-UNNAMED`]);

/** JSON for the oracle: bigint as decimal text, bytes as hex, Dates as epoch ms. */
function specToJson(spec: CauchoSpec): string {
  return JSON.stringify(spec, function (this: Record<string, unknown>, key: string, v: unknown) {
    // JSON.stringify calls toJSON (Date -> ISO string) before the replacer: read the raw value.
    const raw = key === '' ? v : this[key];
    if (raw instanceof Date) return raw.getTime();
    if (typeof raw === 'bigint') return raw.toString();
    if (raw instanceof Uint8Array) return Buffer.from(raw).toString('hex');
    return v;
  });
}

/** Starts one Caucho oracle JVM (builds it with scripts/setup-java.sh when needed). */
export async function startCauchoOracle(): Promise<CauchoOracle> {
  await ensureJavaTools();
  const { oracleClasspath } = javaToolPaths();
  const proc: ManagedProcess = spawnManaged('caucho-oracle', 'java', [
    '-XX:TieredStopAtLevel=1',
    '-XX:+UseSerialGC',
    '-Xshare:auto',
    '-Xmx128m',
    ...ADD_OPENS,
    '-cp',
    oracleClasspath,
    'ferry.oracle.HessianOracle',
  ]);
  const queue: Array<{ line: string; resolve: (s: string) => void; reject: (e: Error) => void }> = [];
  let pendingText = '';
  proc.child.stdout!.on('data', (chunk: string) => {
    pendingText += chunk;
    let nl: number;
    while ((nl = pendingText.indexOf('\n')) >= 0) {
      const answer = pendingText.slice(0, nl).replace(/\r$/, '');
      pendingText = pendingText.slice(nl + 1);
      const waiter = queue.shift();
      if (!waiter) continue;
      if (answer.startsWith('OK ')) waiter.resolve(answer.slice(3));
      else if (answer === 'OK') waiter.resolve('');
      else waiter.reject(new Error(`caucho oracle: ${answer} (input: ${waiter.line.slice(0, 500)})`));
    }
  });
  void proc.exited.then(() => {
    for (const w of queue.splice(0)) {
      w.reject(new Error(`caucho oracle exited before answering (input: ${w.line.slice(0, 200)})\n${proc.stderrTail()}`));
    }
  });

  const request = (line: string): Promise<string> => {
    if (proc.hasExited()) return Promise.reject(new Error(`caucho oracle has exited\n${proc.stderrTail()}`));
    return new Promise((resolve, reject) => {
      queue.push({ line, resolve, reject });
      proc.child.stdin!.write(`${line}\n`);
    });
  };

  // Fail early (with stderr) if the JVM cannot start.
  await request('PING');

  return {
    async encode(spec) {
      return Buffer.from(await request(`ENC ${specToJson(spec)}`), 'hex');
    },
    describe(bytes) {
      const hex = typeof bytes === 'string' ? bytes.replace(/\s+/g, '') : bytes.toString('hex');
      return request(`DEC ${hex}`);
    },
    async close() {
      proc.child.stdin!.end();
      await Promise.race([proc.exited, new Promise((r) => setTimeout(r, 5000))]);
      await terminate(proc, 5000);
    },
  };
}

/**
 * Caucho's bytes for one value (one JVM per call). `cauchoEncode('long', '9223372036854775807')`,
 * or pass a whole spec: `cauchoEncode({ kind: 'list', items: [...] })`.
 */
export async function cauchoEncode(kindOrSpec: CauchoScalarKind | CauchoSpec, value?: unknown): Promise<Buffer> {
  const spec = (typeof kindOrSpec === 'string' ? { kind: kindOrSpec, value } : kindOrSpec) as CauchoSpec;
  const [out] = await cauchoEncodeMany([spec]);
  return out!;
}

/** Caucho's description of the Hessian 2 bytes in `hex` (one JVM per call). */
export async function cauchoDescribe(hex: string | Buffer): Promise<string> {
  const [out] = await cauchoDescribeMany([hex]);
  return out!;
}

/** Encodes every spec with one JVM. */
export async function cauchoEncodeMany(specs: readonly CauchoSpec[]): Promise<Buffer[]> {
  const oracle = await startCauchoOracle();
  try {
    return await Promise.all(specs.map((s) => oracle.encode(s)));
  } finally {
    await oracle.close();
  }
}

/** Describes every input with one JVM. */
export async function cauchoDescribeMany(inputs: ReadonlyArray<string | Buffer>): Promise<string[]> {
  const oracle = await startCauchoOracle();
  try {
    return await Promise.all(inputs.map((h) => oracle.describe(h)));
  } finally {
    await oracle.close();
  }
}
