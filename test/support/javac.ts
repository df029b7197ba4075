/**
 * Compiles Java sources with the JDK's javac (Java 17, installed by scripts/setup-java.sh) into a
 * temporary folder, for tests of the class-file reader on class files javac itself wrote.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Writes `sources` (path under the source root → text), compiles them with `flags`, and returns the class folder. */
export async function compileJava(sources: Readonly<Record<string, string>>, flags: readonly string[] = []): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'ferry-javac-'));
  const src = path.join(root, 'src');
  const out = path.join(root, 'classes');
  const files: string[] = [];
  for (const [name, text] of Object.entries(sources)) {
    const file = path.join(src, name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
    files.push(file);
  }
  await run('javac', ['--release', '17', '-nowarn', ...flags, '-d', out, ...files], { timeout: 120_000 });
  return out;
}

/** Packs a class folder into a jar with the JDK's `jar` tool; returns the jar's path. */
export async function packJar(classes: string, jarPath: string): Promise<string> {
  await run('jar', ['--create', '--file', jarPath, '-C', classes, '.'], { timeout: 120_000 });
  return jarPath;
}
