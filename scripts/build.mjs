// Compiles src/ to dist/ (tsc -p tsconfig.build.json), copies the non-TypeScript files src/ reads at
// run time, and writes the stamp bin/ferry.js checks. Quick no-op when dist/ is current.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
  cpSync(path.join(root, 'src/config/schema.json'), path.join(root, 'dist/config/schema.json'));
  writeFileSync(stampFile, stamp);
  console.log('build: compiled src/ to dist/');
}
