/**
 * A JVM (or any child process) started by a test: captured output, a wait for a ready line, and
 * stop/kill that resolve only once the process has exited. Shared by java-provider.ts,
 * zookeeper.ts and caucho-oracle.ts.
 *
 * Orphans are prevented twice: the child gets a pipe on stdin that this process never closes (the
 * Java side exits on EOF, see StdinWatchdog and the provider's --exit-on-stdin-eof), and a
 * process 'exit' listener SIGKILLs the child if the test process ends while it still runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** How a child ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running child process with its captured output. */
export interface ManagedProcess {
  readonly pid: number;
  readonly label: string;
  readonly child: ChildProcess;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  /** True once the process has exited. */
  hasExited(): boolean;
  /** All of stdout so far (capped at the last 1 MiB). */
  stdoutText(): string;
  /** The last 64 KiB of stderr, for error messages. */
  stderrTail(): string;
  /**
   * Resolves with the first stdout line matching `pattern` (lines already seen count too).
   * Rejects if the process exits first or `timeoutMs` passes; the error carries stderr.
   */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Sends `signal` (if still running) and waits for exit. */
  signalAndWait(signal: NodeJS.Signals): Promise<ExitInfo>;
}

const STDERR_CAP = 64 * 1024;
const STDOUT_CAP = 1024 * 1024;

/** Options for {@link spawnManaged}. */
export interface SpawnManagedOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Forward child stderr to ours as it arrives (for debugging). Default: env FERRY_TEST_VERBOSE. */
  echoStderr?: boolean;
}

/** Starts `command args` with piped stdio and returns a handle that tracks its output and exit. */
export function spawnManaged(label: string, command: string, args: readonly string[], options: SpawnManagedOptions = {}): ManagedProcess {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) {
    // spawn failures (ENOENT) are reported through 'error'; make them visible as a throw.
    throw new Error(`${label}: could not start ${command}`);
  }
  const pid = child.pid;
  const echo = options.echoStderr ?? Boolean(process.env['FERRY_TEST_VERBOSE']);
  let stdout = '';
  let stderr = '';
  let exitInfo: ExitInfo | undefined;
  const lineWaiters = new Set<() => void>();

  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
    if (stdout.length > STDOUT_CAP) stdout = stdout.slice(-STDOUT_CAP);
    for (const w of lineWaiters) w();
  });
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
    if (stderr.length > STDERR_CAP) stderr = stderr.slice(-STDERR_CAP);
    if (echo) process.stderr.write(`[${label}] ${chunk}`);
  });
  // Writing to a dead child's stdin must not crash the test process.
  child.stdin.on('error', () => {});

  const killOnExit = (): void => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', killOnExit);

  const exited = new Promise<ExitInfo>((resolve) => {
    const done = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (exitInfo) return;
      exitInfo = { code, signal };
      process.removeListener('exit', killOnExit);
      for (const w of lineWaiters) w();
      resolve(exitInfo);
    };
    child.once('exit', done);
    child.once('error', () => done(null, null));
  });

  const handle: ManagedProcess = {
    pid,
    label,
    child,
    exited,
    hasExited: () => exitInfo !== undefined,
    stdoutText: () => stdout,
    stderrTail: () => stderr,
    waitForLine(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          for (const line of stdout.split('\n')) {
            const m = line.match(pattern);
            if (m) {
              finish();
              resolve(m);
              return;
            }
          }
          if (exitInfo) {
            finish();
            reject(
              new Error(
                `${label} exited (code ${exitInfo.code}, signal ${exitInfo.signal}) before printing ${pattern}\n` +
                  `--- stdout ---\n${stdout.slice(-4000)}\n--- stderr ---\n${stderr.slice(-8000)}`,
              ),
            );
          }
        };
        const finish = (): void => {
          lineWaiters.delete(check);
          clearTimeout(timer);
        };
        // Declared after `finish`, which uses it: check() first runs below, once the timer exists.
        const timer = setTimeout(() => {
          finish();
          reject(
            new Error(
              `${label} did not print ${pattern} within ${timeoutMs} ms\n` +
                `--- stdout ---\n${stdout.slice(-4000)}\n--- stderr ---\n${stderr.slice(-8000)}`,
            ),
          );
        }, timeoutMs);
        lineWaiters.add(check);
        check();
      });
    },
    async signalAndWait(signal) {
      if (!exitInfo) {
        try {
          process.kill(pid, signal);
        } catch {
          // exited in between
        }
      }
      return exited;
    },
  };
  return handle;
}

/**
 * SIGTERM, then SIGKILL if the process has not exited after `graceMs`. Resolves after exit, so a
 * test's teardown never leaves a process behind.
 */
export async function terminate(proc: ManagedProcess, graceMs = 20_000): Promise<ExitInfo> {
  if (proc.hasExited()) return proc.exited;
  const timer = setTimeout(() => {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }, graceMs);
  try {
    return await proc.signalAndWait('SIGTERM');
  } finally {
    clearTimeout(timer);
  }
}
