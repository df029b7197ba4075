// Compiles src/ to dist/ (one JavaScript file per TypeScript file, with source maps), copies the
// non-TypeScript files src/ reads at run time, and writes the stamp bin/ferry.js checks. Quick no-op
// when dist/ is current. The compiler is esbuild, the one tsx runs the sources and the tests with
// (type-only syntax is dropped file by file, which `verbatimModuleSyntax` makes safe): about a
// second, where emitting with tsc took half a minute on two busy cores. Type-checking is
// `npm run typecheck`, which `npm test` runs.
//
// Then the admin console (console/): its TypeScript bundled into one browser script, its HTML and
// CSS, and copies of the vendored browser files it loads (uPlot's CSS, Swagger UI) from node_modules,
// into dist/console, which the admin port serves: the page needs no network beyond the admin port.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
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

const consoleDir = path.join(root, 'dist', 'console');
const consoleStampFile = path.join(consoleDir, '.stamp');
const consoleStamp = consoleSourcesStamp();
if (existsSync(consoleStampFile) && readFileSync(consoleStampFile, 'utf8') === consoleStamp) {
  console.log('build: dist/console is current');
} else {
  rmSync(consoleDir, { recursive: true, force: true });
  await build({
    entryPoints: [path.join(root, 'console/src/main.ts')],
    outfile: path.join(consoleDir, 'app.js'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    sourcemap: true,
    tsconfig: path.join(root, 'console/tsconfig.json'),
    logLevel: 'warning',
  });
  cpSync(path.join(root, 'console/index.html'), path.join(consoleDir, 'index.html'));
  cpSync(path.join(root, 'console/style.css'), path.join(consoleDir, 'style.css'));
  const vendor = [
    ['uplot/dist/uPlot.min.css', 'uPlot.min.css'],
    ['swagger-ui-dist/swagger-ui-bundle.js', 'swagger-ui-bundle.js'],
    ['swagger-ui-dist/swagger-ui.css', 'swagger-ui.css'],
  ];
  for (const [from, to] of vendor) cpSync(path.join(root, 'node_modules', from), path.join(consoleDir, 'vendor', to));
  writeFileSync(consoleStampFile, consoleStamp);
  console.log('build: bundled the admin console into dist/console');
}

/** The console's sources and the vendored packages' versions: a change to any rebuilds dist/console. */
function consoleSourcesStamp() {
  const files = readdirSync(path.join(root, 'console'), { recursive: true, encoding: 'utf8' }).sort();
  const parts = files.filter((f) => /\.(ts|html|css|json)$/.test(f)).map((f) => f + '\0' + readFileSync(path.join(root, 'console', f), 'utf8'));
  for (const pkg of ['uplot', 'swagger-ui-dist']) parts.push(readFileSync(path.join(root, 'node_modules', pkg, 'package.json'), 'utf8'));
  return createHash('sha256').update(parts.join('\0')).digest('hex');
}
