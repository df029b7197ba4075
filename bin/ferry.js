#!/usr/bin/env node
// Runs the compiled CLI from dist/ when it matches the current sources (scripts/build.mjs), and the
// TypeScript sources through tsx otherwise, so `ferry` always runs what src/ says.
import { existsSync, readFileSync } from 'node:fs';
import module from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { srcStamp } from './src-stamp.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stampFile = path.join(root, 'dist', '.src-stamp');
const current = existsSync(stampFile) && readFileSync(stampFile, 'utf8') === srcStamp(root);
if (current && process.env.FERRY_FROM_SOURCE !== '1') {
  // V8's compiled code for dist/ and node_modules is kept on disk (os.tmpdir(), or NODE_COMPILE_CACHE)
  // and reused by the next start; where it cannot be written, Node carries on without it.
  module.enableCompileCache?.();
  await import('../dist/app/cli.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/app/cli.ts');
}
