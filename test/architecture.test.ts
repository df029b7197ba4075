/**
 * The module order (test/support/module-order.ts) holds over src/'s import graph: every file is in a
 * module, no import goes against the order, no cycles. The checker itself is tested first on small
 * graphs, so a checker that finds nothing cannot pass unnoticed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkModuleOrder, placeFile, readImports, type ImportEdge } from './support/module-order.js';

const edge = (from: string, to: string, typeOnly = false): ImportEdge => ({ from, to, line: 1, specifier: '', typeOnly });
const ORDER = [['low'], ['mid/a', 'mid/b'], ['mid/*'], ['top']];

test('checker: files go to the most specific module; a `/*` module holds only the files directly in its folder', () => {
  assert.deepEqual(placeFile('low/x.ts', ORDER), { module: 'low', layer: 0 });
  assert.deepEqual(placeFile('low/deep/er/x.ts', ORDER), { module: 'low', layer: 0 });
  assert.deepEqual(placeFile('mid/a/x.ts', ORDER), { module: 'mid/a', layer: 1 });
  assert.deepEqual(placeFile('mid/y.ts', ORDER), { module: 'mid/*', layer: 2 });
  assert.equal(placeFile('mid/c/y.ts', ORDER), undefined);
  assert.equal(placeFile('lowish/x.ts', ORDER), undefined);
});

test('checker: a graph that follows the order gives an empty report', () => {
  const report = checkModuleOrder(
    {
      files: ['low/x.ts', 'low/w.ts', 'mid/a/x.ts', 'mid/b/x.ts', 'mid/y.ts', 'top/z.ts'],
      edges: [
        edge('low/x.ts', 'low/w.ts'),
        edge('mid/a/x.ts', 'low/x.ts'),
        edge('mid/y.ts', 'mid/a/x.ts'),
        edge('mid/y.ts', 'mid/b/x.ts'),
        edge('top/z.ts', 'mid/y.ts'),
      ],
    },
    ORDER,
    [],
  );
  assert.deepEqual(report, { unplaced: [], violations: [], moduleCycles: [], fileCycles: [] });
});

test('checker: reports unplaced files, imports against the order, sibling imports and the cycle they make', () => {
  const report = checkModuleOrder(
    {
      files: ['low/x.ts', 'mid/a/x.ts', 'mid/b/x.ts', 'mid/y.ts', 'top/z.ts', 'stray/s.ts'],
      edges: [
        edge('top/z.ts', 'low/x.ts'),
        { from: 'low/x.ts', to: 'top/z.ts', line: 7, specifier: '../top/z.js', typeOnly: true },
        edge('mid/a/x.ts', 'mid/b/x.ts'),
        edge('mid/y.ts', 'mid/a/x.ts'),
      ],
    },
    ORDER,
    [],
  );
  assert.deepEqual(report.unplaced, ['stray/s.ts']);
  assert.deepEqual(report.violations, [
    'low/x.ts:7 → top/z.ts (type import: low may not import top, which comes later)',
    'mid/a/x.ts:1 → mid/b/x.ts (import: mid/a and mid/b are siblings)',
  ]);
  assert.deepEqual(report.moduleCycles, ['low → top → low (via low/x.ts:7 → top/z.ts; top/z.ts:1 → low/x.ts)']);
  assert.deepEqual(report.fileCycles, ['low/x.ts → top/z.ts → low/x.ts (via low/x.ts:7 → top/z.ts; top/z.ts:1 → low/x.ts)']);
});

test('checker: a separation forbids an import the order allows; cycles inside one module are file cycles only', () => {
  const report = checkModuleOrder(
    {
      files: ['low/x.ts', 'low/w.ts', 'low/v.ts', 'top/z.ts'],
      edges: [edge('top/z.ts', 'low/x.ts'), edge('low/x.ts', 'low/w.ts'), edge('low/w.ts', 'low/v.ts'), edge('low/v.ts', 'low/x.ts')],
    },
    ORDER,
    [{ module: 'top', folder: 'low', why: 'top stays pure' }],
  );
  assert.deepEqual(report.violations, ['top/z.ts:1 → low/x.ts (import: top imports nothing under low/: top stays pure)']);
  assert.deepEqual(report.moduleCycles, []);
  assert.deepEqual(report.fileCycles, [
    'low/v.ts → low/x.ts → low/w.ts → low/v.ts (via low/v.ts:1 → low/x.ts; low/x.ts:1 → low/w.ts; low/w.ts:1 → low/v.ts)',
  ]);
});

test('readImports: static imports, re-exports, dynamic import() and import types, with their lines; packages left out', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'ferry-imports-'));
  try {
    const files: Record<string, string> = {
      'package.json': '{ "type": "module" }',
      'a/one.ts': [
        "import { x } from '../b/two.js';",
        "export { y } from '../c/three.js';",
        "import type { T } from '../d/four.js';",
        "const m = await import('../e/five.js');",
        "type U = import('../f/six.js').U;",
        "import { readFileSync } from 'node:fs';",
        "import { missing } from './nope.js';",
        "import { type V } from '../g/seven.js';",
        "export * from './index.js';",
      ].join('\n'),
      'a/index.ts': 'export const z = 1;',
      'b/two.ts': 'export const x = 1;',
      'c/three.ts': 'export const y = 1;',
      'd/four.ts': 'export type T = 1;',
      'e/five.ts': 'export const m = 1;',
      'f/six.ts': 'export type U = 1;',
      'g/seven.ts': 'export type V = 1;',
    };
    for (const [name, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(root, name)), { recursive: true });
      await writeFile(path.join(root, name), text);
    }
    const graph = readImports(root);
    assert.deepEqual(graph.files, ['a/index.ts', 'a/one.ts', 'b/two.ts', 'c/three.ts', 'd/four.ts', 'e/five.ts', 'f/six.ts', 'g/seven.ts']);
    assert.deepEqual(
      graph.edges.map((e) => [e.from, e.line, e.to, e.typeOnly]),
      [
        ['a/one.ts', 1, 'b/two.ts', false],
        ['a/one.ts', 2, 'c/three.ts', false],
        ['a/one.ts', 3, 'd/four.ts', true],
        ['a/one.ts', 4, 'e/five.ts', false],
        ['a/one.ts', 5, 'f/six.ts', true],
        ['a/one.ts', 8, 'g/seven.ts', true],
        ['a/one.ts', 9, 'a/index.ts', false],
      ],
    );
    assert.deepEqual(graph.unresolved, ['a/one.ts:7 ./nope.js']);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

const SRC = fileURLToPath(new URL('../src', import.meta.url));
const graph = readImports(SRC);
const report = checkModuleOrder(graph);
const list = (lines: readonly string[]): string => lines.map((l) => `\n  ${l}`).join('');

test('src/: the import graph is read, and every relative import resolves', () => {
  assert.ok(graph.files.length > 0 && graph.edges.length > 0, `read ${graph.files.length} files and ${graph.edges.length} imports under ${SRC}`);
  assert.deepEqual(graph.unresolved, [], `imports that resolve to no file (paths under src/):${list(graph.unresolved)}`);
});

test('src/: every file belongs to a module of the order', () => {
  assert.deepEqual(
    report.unplaced,
    [],
    `files in no module; place their folder in MODULE_ORDER (test/support/module-order.ts):${list(report.unplaced)}`,
  );
});

test('src/: no import cycles between modules or files', () => {
  assert.deepEqual(report.moduleCycles, [], `cycles between modules (paths under src/):${list(report.moduleCycles)}`);
  assert.deepEqual(report.fileCycles, [], `cycles between files (paths under src/):${list(report.fileCycles)}`);
});

test('src/: no import against the module order', () => {
  assert.deepEqual(report.violations, [], `imports against the order (paths under src/):${list(report.violations)}`);
});
