/**
 * The error catalogue, its documentation and the code stay in step (fastify's errors test, which
 * checks its documented errors against its error list, is the model): every code in
 * src/errors/index.ts has a row and a section in docs/errors.md that agree with it, docs/errors.md
 * and the README's table name no code that does not exist, and every code is raised by something
 * under src/ (a code nothing raises is dead, or documents behaviour Ferry does not have).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { ERROR_CATALOGUE, GrpcCode, type ErrorCode } from '../../src/errors/index.js';

const CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];
const CODE_SET: ReadonlySet<string> = new Set(CODES);
const GRPC_NAME = new Map(Object.entries(GrpcCode).map(([name, n]) => [n as number, name]));
const DOC = readFileSync('docs/errors.md', 'utf8');

/** `| \`CODE\` | 404 | NOT_FOUND (5) |` rows of the summary table. */
function docRows(): Map<string, { status: number; grpcName: string; grpc: number }> {
  const rows = new Map<string, { status: number; grpcName: string; grpc: number }>();
  for (const m of DOC.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| ([A-Z_]+) \((\d+)\) \|$/gm)) {
    assert.ok(!rows.has(m[1]!), `docs/errors.md has two rows for ${m[1]}`);
    rows.set(m[1]!, { status: Number(m[2]), grpcName: m[3]!, grpc: Number(m[4]) });
  }
  return rows;
}

/** `## CODE` section headings. */
function docSections(): string[] {
  return [...DOC.matchAll(/^## ([A-Z_]+)$/gm)].map((m) => m[1]!);
}

test('every catalogue code has a row in docs/errors.md with its HTTP status and gRPC code', () => {
  const rows = docRows();
  for (const code of CODES) {
    const row = rows.get(code);
    assert.ok(row, `docs/errors.md has no table row for ${code}`);
    const entry = ERROR_CATALOGUE[code];
    assert.equal(row.status, entry.status, `${code}: docs/errors.md says HTTP ${row.status}, the catalogue ${entry.status}`);
    assert.equal(row.grpc, entry.grpc, `${code}: docs/errors.md says gRPC ${row.grpc}, the catalogue ${entry.grpc}`);
    assert.equal(row.grpcName, GRPC_NAME.get(entry.grpc), `${code}: gRPC code ${entry.grpc} is named ${GRPC_NAME.get(entry.grpc)}`);
  }
});

test('every catalogue code has a section in docs/errors.md saying when and what to do', () => {
  const sections = new Set(docSections());
  for (const code of CODES) {
    assert.ok(sections.has(code), `docs/errors.md has no "## ${code}" section`);
    const body = DOC.slice(DOC.indexOf(`## ${code}\n`) + code.length + 4).split(/^## /m)[0]!;
    assert.match(body, /\*\*When:\*\* \S/, `${code}: the section says when Ferry raises it`);
    assert.match(body, /\*\*What to do:\*\* \S/, `${code}: the section says what to do`);
  }
});

test('docs/errors.md documents no code the catalogue does not have', () => {
  const documented = new Set([...docRows().keys(), ...docSections(), ...[...DOC.matchAll(/\bFERRY_[A-Z_]+\b/g)].map((m) => m[0])]);
  const unknown = [...documented].filter((c) => c.startsWith('FERRY_') && !CODE_SET.has(c));
  assert.deepEqual(unknown, [], 'docs/errors.md names codes that are not in src/errors/index.ts');
  assert.equal(docSections().length, new Set(docSections()).size, 'docs/errors.md has one section per code');
});

test("README's error table lists exactly the catalogue's codes", () => {
  const readme = readFileSync('README.md', 'utf8');
  const start = readme.indexOf('\n## Errors\n');
  assert.ok(start >= 0, 'README has an "## Errors" section');
  const section = readme.slice(start + 1).split('\n## ')[0]!;
  const tableCodes = new Set(
    section
      .split('\n')
      .filter((line) => line.startsWith('|'))
      .flatMap((line) => [...line.matchAll(/\bFERRY_[A-Z_]+\b/g)].map((m) => m[0])),
  );
  assert.deepEqual(
    [...tableCodes].filter((c) => !CODE_SET.has(c)),
    [],
    'README names codes that do not exist',
  );
  assert.deepEqual(
    CODES.filter((c) => !tableCodes.has(c)),
    [],
    "codes missing from README's error table",
  );
  assert.match(section, /docs\/errors\.md/, 'README links to docs/errors.md');
});

// ---------------------------------------------------------------------------------------------
// "Raised": a code's string literal used anywhere but in a comparison (`case 'X':`, `=== 'X'`) or a
// type. Constructor arguments, `super('X', …)`, table values and conditional branches all build
// errors. src/openapi only documents codes, and src/errors/index.ts declares them.

/** Codes whose literal builds an error in `source`. */
function codesRaisedIn(source: string, codes: ReadonlySet<string>): Set<string> {
  const file = ts.createSourceFile('x.ts', source, ts.ScriptTarget.ES2022, true);
  const raised = new Set<string>();
  const visit = (node: ts.Node): void => {
    if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && codes.has(node.text) && !onlyReads(node)) raised.add(node.text);
    ts.forEachChild(node, visit);
  };
  visit(file);
  return raised;
}

function onlyReads(literal: ts.Node): boolean {
  const parent = literal.parent;
  if (ts.isCaseClause(parent) || ts.isLiteralTypeNode(parent)) return true;
  if (ts.isBinaryExpression(parent)) {
    const op = parent.operatorToken.kind;
    return (
      op === ts.SyntaxKind.EqualsEqualsEqualsToken ||
      op === ts.SyntaxKind.ExclamationEqualsEqualsToken ||
      op === ts.SyntaxKind.EqualsEqualsToken ||
      op === ts.SyntaxKind.ExclamationEqualsToken
    );
  }
  return false;
}

test('the scanner tells raising a code from reading it', () => {
  const codes = new Set(['FERRY_A', 'FERRY_B', 'FERRY_C', 'FERRY_D', 'FERRY_E', 'FERRY_F']);
  const raised = codesRaisedIn(
    `
    // FERRY_F in a comment raises nothing
    throw new FerryError('FERRY_A', 'x');
    class E extends FerryError { constructor() { super('FERRY_B', 'y'); } }
    const code: Code = lost ? 'FERRY_C' : other;
    switch (err.code) { case 'FERRY_D': break; }
    if (err.code === 'FERRY_E') retry();
    type T = 'FERRY_F';
    `,
    codes,
  );
  assert.deepEqual([...raised].sort(), ['FERRY_A', 'FERRY_B', 'FERRY_C']);
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

test('every catalogue code is raised somewhere under src/', () => {
  const skip = new Set([path.join('src', 'errors', 'index.ts')]);
  const raised = new Set<string>();
  for (const file of sourceFiles('src')) {
    if (skip.has(file) || file.startsWith(path.join('src', 'openapi') + path.sep)) continue;
    for (const code of codesRaisedIn(readFileSync(file, 'utf8'), CODE_SET)) raised.add(code);
  }
  assert.deepEqual(
    CODES.filter((c) => !raised.has(c)),
    [],
    'catalogue codes that nothing under src/ raises',
  );
});
