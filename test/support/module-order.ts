/**
 * The module order of src/ and a checker for it. readImports() reads every import of every .ts file
 * under a folder with the TypeScript compiler's parser and resolver; checkModuleOrder() places each
 * file in a module and reports imports against the order and cycles between modules or files.
 * Used by test/architecture.test.ts; all but readImports() is pure, so it is tested on small graphs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * Layers, first to last (docs/architecture.md's table): a module may import its own files and modules
 * of earlier layers only. Modules in one layer are siblings and may not import each other. A module
 * is a folder under src/ with everything below it; a name ending in `/*` is only the files directly
 * in that folder.
 */
export const MODULE_ORDER: readonly (readonly string[])[] = [
  ['errors'],
  ['exchange'],
  ['telemetry'],
  // The config loader parses path templates with the router's parser.
  ['router'],
  ['config'],
  ['codec'],
  ['upstream/discovery'],
  ['upstream/balance'],
  // HTTP/2 framing and HPACK, under the gRPC client.
  ['upstream/http2'],
  ['upstream/dubbo', 'upstream/grpc'],
  ['upstream/*'],
  ['mapping'],
  ['gateway'],
  // frontends/contract.ts: the one contract both front ends take.
  ['frontends/*'],
  ['frontends/http', 'frontends/ext-proc'],
  ['openapi'],
  ['app'],
];

/** Imports the order allows but the design rules out: files of `module` import nothing under `folder`. */
export interface Separation {
  readonly module: string;
  readonly folder: string;
  readonly why: string;
}

export const SEPARATIONS: readonly Separation[] = [
  { module: 'mapping', folder: 'upstream', why: 'mapping is pure (request → call plan, reply → response); transports belong to upstream' },
];

/** One import: `from` and `to` are paths relative to the source root, with `/` separators. */
export interface ImportEdge {
  readonly from: string;
  readonly to: string;
  /** 1-based line of the import in `from`. */
  readonly line: number;
  readonly specifier: string;
  /** `import type` / `export type` / an `import('...')` type: no code runs, but the layers still couple. */
  readonly typeOnly: boolean;
}

export interface ImportGraph {
  /** Every .ts file under the root (relative paths). */
  readonly files: readonly string[];
  /** Imports between files under the root; packages and files outside the root are left out. */
  readonly edges: readonly ImportEdge[];
  /** Relative specifiers the resolver could not find: `file:line specifier`. */
  readonly unresolved: readonly string[];
}

// The project's module settings (tsconfig.json), which decide how `./x.js` finds `./x.ts`.
const COMPILER_OPTIONS: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  resolveJsonModule: true,
  allowJs: false,
};

function listTsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listTsFiles(full));
    else if (entry.isFile() && entry.name.endsWith('.ts')) out.push(full);
  }
  return out;
}

interface FoundImport {
  readonly specifier: string;
  readonly node: ts.Node;
  readonly typeOnly: boolean;
}

/** Static imports, re-exports, `import x = require()`, dynamic `import()` and `import('...')` types. */
function findImports(source: ts.SourceFile): FoundImport[] {
  const found: FoundImport[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      // `import { type A, type B }` is type-only too (under verbatimModuleSyntax it is even elided).
      const allTypeNamed =
        clause !== undefined &&
        clause.name === undefined &&
        clause.namedBindings !== undefined &&
        ts.isNamedImports(clause.namedBindings) &&
        clause.namedBindings.elements.length > 0 &&
        clause.namedBindings.elements.every((e) => e.isTypeOnly);
      found.push({ specifier: node.moduleSpecifier.text, node, typeOnly: clause?.isTypeOnly === true || allTypeNamed });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ specifier: node.moduleSpecifier.text, node, typeOnly: node.isTypeOnly });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expr = node.moduleReference.expression;
      if (ts.isStringLiteral(expr)) found.push({ specifier: expr.text, node, typeOnly: node.isTypeOnly });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg !== undefined && ts.isStringLiteralLike(arg)) found.push({ specifier: arg.text, node, typeOnly: false });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push({ specifier: node.argument.literal.text, node, typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const toPosix = (p: string): string => p.split(path.sep).join('/');

/** Reads every .ts file under `root` and returns the imports between them. */
export function readImports(root: string): ImportGraph {
  const absRoot = path.resolve(root);
  const files = listTsFiles(absRoot).sort();
  const edges: ImportEdge[] = [];
  const unresolved: string[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    const from = toPosix(path.relative(absRoot, file));
    for (const imp of findImports(source)) {
      const line = source.getLineAndCharacterOfPosition(imp.node.getStart(source)).line + 1;
      const resolved = ts.resolveModuleName(imp.specifier, file, COMPILER_OPTIONS, ts.sys).resolvedModule;
      if (resolved === undefined) {
        if (imp.specifier.startsWith('.')) unresolved.push(`${from}:${line} ${imp.specifier}`);
        continue;
      }
      if (resolved.isExternalLibraryImport === true) continue;
      const rel = path.relative(absRoot, resolved.resolvedFileName);
      if (rel.startsWith('..') || path.isAbsolute(rel)) continue;
      edges.push({ from, to: toPosix(rel), line, specifier: imp.specifier, typeOnly: imp.typeOnly });
    }
  }
  return { files: files.map((f) => toPosix(path.relative(absRoot, f))), edges, unresolved };
}

interface Placement {
  readonly module: string;
  readonly layer: number;
}

/** The module and layer a file belongs to (the most specific module that contains it), if any. */
export function placeFile(file: string, order: readonly (readonly string[])[] = MODULE_ORDER): Placement | undefined {
  const dir = path.posix.dirname(file);
  let best: (Placement & { depth: number }) | undefined;
  order.forEach((layer, index) => {
    for (const module of layer) {
      const directOnly = module.endsWith('/*');
      const folder = directOnly ? module.slice(0, -2) : module;
      const inside = directOnly ? dir === folder : dir === folder || dir.startsWith(`${folder}/`);
      const depth = folder.split('/').length;
      if (inside && (best === undefined || depth > best.depth)) best = { module, layer: index, depth };
    }
  });
  return best === undefined ? undefined : { module: best.module, layer: best.layer };
}

export interface OrderReport {
  /** Files that belong to no module of the order. */
  readonly unplaced: readonly string[];
  /** One line per import against the order or a separation: `from:line → to (why)`. */
  readonly violations: readonly string[];
  /** One line per cycle between modules: `a → b → a (via the imports that close it)`. */
  readonly moduleCycles: readonly string[];
  /** One line per cycle between files (inside a module too: ES modules in a cycle see each other half-initialised). */
  readonly fileCycles: readonly string[];
}

const moduleLabel = (module: string): string => (module.endsWith('/*') ? `${module.slice(0, -2)} (files directly in it)` : module);

/** Checks an import graph against the order and the separations. */
export function checkModuleOrder(
  graph: Pick<ImportGraph, 'files' | 'edges'>,
  order: readonly (readonly string[])[] = MODULE_ORDER,
  separations: readonly Separation[] = SEPARATIONS,
): OrderReport {
  const unplaced = graph.files.filter((f) => placeFile(f, order) === undefined);
  const violations: string[] = [];
  // One example import per pair of modules / files, for the cycle reports.
  const moduleEdges = new Map<string, Map<string, ImportEdge>>();
  const fileEdges = new Map<string, Map<string, ImportEdge>>();
  const addEdge = (edges: Map<string, Map<string, ImportEdge>>, a: string, b: string, e: ImportEdge): void => {
    let targets = edges.get(a);
    if (targets === undefined) edges.set(a, (targets = new Map()));
    if (!targets.has(b)) targets.set(b, e);
  };
  for (const e of graph.edges) {
    if (e.from !== e.to) addEdge(fileEdges, e.from, e.to, e);
    const a = placeFile(e.from, order);
    const b = placeFile(e.to, order);
    if (a === undefined || b === undefined || a.module === b.module) continue;
    addEdge(moduleEdges, a.module, b.module, e);
    const kind = e.typeOnly ? 'type import' : 'import';
    const separation = separations.find((sep) => sep.module === a.module && e.to.startsWith(`${sep.folder}/`));
    if (b.layer > a.layer) {
      violations.push(`${e.from}:${e.line} → ${e.to} (${kind}: ${moduleLabel(a.module)} may not import ${moduleLabel(b.module)}, which comes later)`);
    } else if (b.layer === a.layer) {
      violations.push(`${e.from}:${e.line} → ${e.to} (${kind}: ${moduleLabel(a.module)} and ${moduleLabel(b.module)} are siblings)`);
    } else if (separation !== undefined) {
      violations.push(
        `${e.from}:${e.line} → ${e.to} (${kind}: ${moduleLabel(a.module)} imports nothing under ${separation.folder}/: ${separation.why})`,
      );
    }
  }
  return {
    unplaced,
    violations,
    moduleCycles: findCycles(moduleEdges, moduleLabel),
    fileCycles: findCycles(fileEdges, (f) => f),
  };
}

/**
 * Tarjan's strongly connected components; each component of more than one node is reported with
 * its shortest cycle through the component's first node, and the imports along it.
 */
function findCycles(edges: ReadonlyMap<string, ReadonlyMap<string, ImportEdge>>, label: (node: string) => string): string[] {
  const nodes = new Set<string>();
  for (const [from, targets] of edges) {
    nodes.add(from);
    for (const to of targets.keys()) nodes.add(to);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let next = 0;
  const strongConnect = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        strongConnect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) components.push(component);
    }
  };
  for (const v of [...nodes].sort()) if (!index.has(v)) strongConnect(v);

  return components.map((component) => {
    const members = new Set(component);
    const start = [...component].sort()[0]!;
    // Breadth-first inside the component for the shortest way from `start` back to it.
    const previous = new Map<string, string>();
    const queue = [start];
    let closing: string | undefined;
    while (queue.length > 0 && closing === undefined) {
      const v = queue.shift()!;
      for (const w of edges.get(v)?.keys() ?? []) {
        if (!members.has(w)) continue;
        if (w === start) {
          closing = v;
          break;
        }
        if (!previous.has(w)) {
          previous.set(w, v);
          queue.push(w);
        }
      }
    }
    const cycle: string[] = [start];
    for (let v = closing!; v !== start; v = previous.get(v)!) cycle.splice(1, 0, v);
    cycle.push(start);
    const imports = cycle.slice(0, -1).map((node, i) => {
      const e = edges.get(node)!.get(cycle[i + 1]!)!;
      return `${e.from}:${e.line} → ${e.to}`;
    });
    return `${cycle.map(label).join(' → ')} (via ${imports.join('; ')})`;
  });
}
