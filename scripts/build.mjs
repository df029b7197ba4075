// Compiles src/ to dist/ (one JavaScript file per TypeScript file, with source maps), copies the
// non-TypeScript files src/ reads at run time, and writes the stamp bin/ferry.js checks. Quick no-op
// when dist/ is current. The compiler is esbuild, the one tsx runs the sources and the tests with
// (type-only syntax is dropped file by file, which `verbatimModuleSyntax` makes safe): about a
// second, where emitting with tsc took half a minute on two busy cores. Type-checking is
// `npm run typecheck`, which `npm test` runs.
import { build } from 'esbuild';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { srcStamp } from '../bin/src-stamp.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stampFile = path.join(root, 'dist', '.src-stamp');
const stamp = srcStamp(root);
if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) {
  console.log('build: dist/ is current');
} else {
  rmSync(path.join(root, 'dist'), { recursive: true, force: true });
  const entryPoints = readdirSync(path.join(root, 'src'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => path.join(root, 'src', f));
  await build({
    entryPoints,
    outdir: path.join(root, 'dist'),
    outbase: path.join(root, 'src'),
    format: 'esm',
    platform: 'node',
    target: 'node22',
    sourcemap: true,
    tsconfig: path.join(root, 'tsconfig.build.json'),
    logLevel: 'warning',
  });
  cpSync(path.join(root, 'src/config/schema.json'), path.join(root, 'dist/config/schema.json'));
  writeFileSync(stampFile, stamp);
  console.log(`build: compiled src/ to dist/ (${entryPoints.length} files)`);
}
