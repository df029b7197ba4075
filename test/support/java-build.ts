/**
 * Where the Java test tools live (sample provider jar, Caucho oracle classes, stdin watchdog) and
 * a way to make sure they are built: scripts/setup-java.sh is idempotent, hash-checked and locked,
 * so calling it from many test files at once is safe and cheap once everything is built.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** Absolute paths of the Java artefacts used by the test helpers. */
export interface JavaToolPaths {
  repoRoot: string;
  setupScript: string;
  /** The shaded, runnable sample provider jar. */
  providerJar: string;
  /** The sample's API classes alone (com.example.bank, com.example.lab), for `ferry import --jar`. */
  providerApiJar: string;
  /** Classpath of the legacy Dubbo 2.7 provider (samples/java-provider-27: its jar and dist/lib/*). */
  legacyProviderClasspath: string;
  /** Class folder holding ferry.oracle.StdinWatchdog and ferry.oracle.HessianOracle. */
  watchdogClasspath: string;
  /** Classpath for the Caucho Hessian oracle (its classes + Debian's hessian.jar). */
  oracleClasspath: string;
}

/** Paths derived from this file's location (test/support/ inside the repository). */
export function javaToolPaths(): JavaToolPaths {
  const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
  const oracleClasses = join(repoRoot, 'samples', 'hessian-oracle', 'bin');
  return {
    repoRoot,
    setupScript: join(repoRoot, 'scripts', 'setup-java.sh'),
    providerJar: join(repoRoot, 'samples', 'java-provider', 'dist', 'ferry-sample-provider.jar'),
    providerApiJar: join(repoRoot, 'samples', 'java-provider', 'dist', 'ferry-sample-provider-api.jar'),
    legacyProviderClasspath: `${join(repoRoot, 'samples', 'java-provider-27', 'dist', 'ferry-legacy-provider.jar')}:${join(repoRoot, 'samples', 'java-provider-27', 'dist', 'lib', '*')}`,
    watchdogClasspath: oracleClasses,
    oracleClasspath: `${oracleClasses}:/usr/share/java/hessian.jar`,
  };
}

const BUILD_TIMEOUT_MS = 15 * 60_000;

/**
 * Runs `scripts/setup-java.sh --build-only` (builds the jar and the oracle only when their sources
 * changed; does nothing when all is current). Rejects with the script's output when it fails.
 */
export function ensureJavaTools(): Promise<void> {
  const { setupScript, repoRoot } = javaToolPaths();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [setupScript, '--build-only'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), BUILD_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`scripts/setup-java.sh --build-only failed (code ${code}, signal ${signal}):\n${out.slice(-8000)}`));
    });
  });
}
