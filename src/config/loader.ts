/**
 * Loads a folder of mapping files (format v1): parses YAML keeping positions, validates each file
 * against the shipped JSON Schema, checks what a schema cannot (duplicates, dangling references),
 * and returns one frozen FerryConfig. Every problem carries file:line:col and one sentence.
 */
import { open, readdir } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { constants as fsConstants, readFileSync, type Dirent, type Stats } from 'node:fs';
import { createSecureContext } from 'node:tls';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { parseTemplate, TemplateError, templateKey, variableNames, type CompiledTemplate } from '../router/index.js';
import { ConfigError, type ConfigProblem } from './errors.js';
import { parseOffThread } from './parse-off-thread.js';
import { runAtOnce, runInSlices } from './slices.js';
import {
  DEFAULT_REFLECTION_SETTINGS,
  DEFAULT_RETRIES,
  type ArgConfig,
  type BalanceKind,
  type CanaryConfig,
  type DubboRoute,
  type DubboService,
  type FerryConfig,
  type GrpcRoute,
  type KeySources,
  type ProtoService,
  type RouteConfig,
  type ServiceConfig,
  type SourceLocation,
  type PluginDecl,
  type PolicyUse,
  type RegistryAccess,
  type StickyConfig,
  type TypeDef,
  type UpstreamTls,
} from './types.js';

const SCHEMA_PATH = fileURLToPath(new URL('./schema.json', import.meta.url));

/** The JSON Schema every mapping file is validated against (also usable by editors). */
export function mappingSchema(): object {
  return JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as object;
}

let compiledValidator: ValidateFunction | undefined;
function validator(): ValidateFunction {
  // Compiled once per process: the schema is a constant shipped with Ferry.
  if (compiledValidator === undefined) {
    const ajv = new Ajv2020({ allErrors: true, strict: false, verbose: true });
    compiledValidator = ajv.compile(mappingSchema());
  }
  return compiledValidator;
}

export interface MappingFile {
  /** Path as shown in messages. */
  readonly file: string;
  readonly text: string;
}

/** Budgets of a mapping folder (docs/operations.md). Files are checked with fstat before they are read. */
export interface MappingLimits {
  /** Largest mapping file, bytes. */
  readonly maxFileBytes: number;
  /** Largest sum of the mapping files of the folder, bytes. */
  readonly maxTotalBytes: number;
  /** Longest time YAML parsing and schema validation of the folder may take (off the event loop), ms. */
  readonly parseTimeoutMs: number;
}

/**
 * 1 MiB per file is hundreds of times the largest mapping seen (the shipped ones are under 10 KiB)
 * and parses in 1 to 4 s off the event loop; 8 MiB per folder bounds the parse worker's memory
 * (about 150 MB of YAML nodes per MiB, one file at a time).
 */
export const DEFAULT_MAPPING_LIMITS: MappingLimits = Object.freeze({
  maxFileBytes: 1024 * 1024,
  maxTotalBytes: 8 * 1024 * 1024,
  parseTimeoutMs: 30_000,
});

/** Folders up to this many bytes are parsed on the calling thread (the shipped mappings are under 10 KiB each). */
export const INLINE_PARSE_BYTES = 64 * 1024;

export interface LoadDirOptions {
  readonly limits?: Partial<MappingLimits>;
  /** Told about each entry named like a mapping that is not a regular file (a FIFO, socket, device, folder); it is never read. */
  readonly onSkipped?: (file: string, reason: string) => void;
  /**
   * The config this load replaces (a reload): files whose bytes are unchanged are neither parsed
   * nor compiled again; their services, types and routes are reused ({@link loadStats} counts them).
   */
  readonly previous?: FerryConfig;
}

/** What one load did: files parsed and routes compiled anew, against those reused from the previous config. */
export interface LoadStats {
  readonly files: number;
  readonly filesParsed: number;
  readonly filesReused: number;
  readonly routesCompiled: number;
  readonly routesReused: number;
}

/**
 * A mapping file as compiled, kept with the config it went into so that the next load can reuse it
 * when the file's bytes are unchanged (same digest, same folder). Only files whose compile reads
 * nothing but their own text are kept: a service with `tls:` files or secrets from `{ env }` /
 * `{ file }` may compile differently with the same text, so its file is always compiled again.
 */
interface FileUnit {
  readonly file: string;
  readonly digest: string;
  readonly root: string;
  readonly services: readonly ServiceConfig[];
  readonly types: readonly TypeDef[];
  readonly plugins: readonly PluginDecl[];
  readonly policies: readonly PolicyUse[];
  readonly routes: ReadonlyArray<{ readonly route: RouteConfig; readonly httpSource: SourceLocation }>;
  /**
   * What compileRoute read of the services this file's routes call (declared in any file): their
   * protocol and default retries, by name. When one differs, the file is compiled again.
   */
  readonly calls: ReadonlyMap<string, string>;
}

/** The units and stats of each loaded config (the previous config is all the next load needs). */
const loads = new WeakMap<FerryConfig, { readonly units: ReadonlyMap<string, FileUnit>; readonly stats: LoadStats }>();

/** What the load of `config` parsed and compiled anew and what it reused; undefined for configs not from loadConfigDir. */
export function loadStats(config: FerryConfig): LoadStats | undefined {
  return loads.get(config)?.stats;
}

/** What compileRoute reads of a service. */
function callSignature(s: ServiceConfig): string {
  return `${s.protocol}/${s.retries}`;
}

/** Whether a service's compile reads anything besides the mapping text (TLS files, secrets from env or files). */
function readsOutside(raw: RawService): boolean {
  const secret = (v: unknown): boolean => v !== undefined && typeof v !== 'string';
  const registry = (r: RawRegistry | undefined): boolean => r !== undefined && typeof r !== 'string';
  return (
    raw.tls !== undefined ||
    (raw.protocol === 'dubbo' && secret(raw.token)) ||
    registry(raw.registry) ||
    (raw.registries ?? []).some((r) => registry(r.registry))
  );
}

function digestOf(text: string): string {
  return createHash('sha256').update(text).digest('base64');
}

/**
 * Reads every *.yaml / *.yml file below `dir` (sorted) and loads them as one config. Only regular
 * files are read (symlinks resolved; a FIFO is never opened, so it cannot block the load), each
 * within the size budgets; YAML parsing and validation run in a worker thread under a timeout.
 */
export async function loadConfigDir(dir: string, options: LoadDirOptions = {}): Promise<FerryConfig> {
  const limits = { ...DEFAULT_MAPPING_LIMITS, ...options.limits };
  const root = path.resolve(dir);
  const unreadable = (file: string, err: unknown): ConfigError =>
    new ConfigError([{ file, line: 1, col: 1, message: `cannot be read: ${err instanceof Error ? err.message : String(err)}` }]);
  const skipped = (file: string, reason: string): void => options.onSkipped?.(file, reason);
  const names = await listYaml(root, (full, reason) => skipped(shownPath(full), reason)).catch((err: unknown) => {
    throw unreadable(dir, err);
  });
  const files: MappingFile[] = [];
  let total = 0;
  for (const name of names) {
    const file = shownPath(name);
    const read = await readMappingFile(name, limits.maxFileBytes).catch((err: unknown) => {
      throw err instanceof ConfigError ? err : unreadable(file, err);
    });
    if (typeof read !== 'string') {
      if ('skip' in read) {
        skipped(file, read.skip);
        continue;
      }
      throw new ConfigError([{ file, line: 1, col: 1, message: read.problem }]);
    }
    total += Buffer.byteLength(read);
    if (total > limits.maxTotalBytes) {
      throw new ConfigError([
        {
          file,
          line: 1,
          col: 1,
          message: `the mapping files read so far (this one included) hold ${total} bytes, over the ${limits.maxTotalBytes}-byte limit per folder (--max-mapping-bytes)`,
        },
      ]);
    }
    files.push({ file, text: read });
  }
  if (files.length === 0) {
    throw new ConfigError([{ file: dir, line: 1, col: 1, message: 'the folder holds no .yaml or .yml mapping file' }]);
  }
  const previous = options.previous !== undefined ? loads.get(options.previous)?.units : undefined;
  const digests = files.map((f) => digestOf(f.text));
  const inputs: Array<CompileInput | undefined> = files.map((f, i) => {
    const unit = previous?.get(f.file);
    return unit !== undefined && unit.digest === digests[i] && unit.root === root ? { unit } : undefined;
  });
  // Parse what is not reused; when a reused file's routes call a service that changed, parse it too.
  for (;;) {
    const todo = files.flatMap((f, i) => (inputs[i] === undefined ? [i] : []));
    const bytes = todo.reduce((n, i) => n + Buffer.byteLength(files[i]!.text), 0);
    const chosen = todo.map((i) => files[i]!);
    // A few small files parse in milliseconds: a worker thread would only add its start-up time.
    const parsed =
      bytes <= INLINE_PARSE_BYTES
        ? chosen.map((f) => parseMappingFile(f))
        : await runInSlices(unpackParsed(await parseOffThread<PackedResult>(chosen, limits.parseTimeoutMs)));
    const problems = parsed.flatMap((r) => (Array.isArray(r) ? r : []));
    if (problems.length > 0) throw new ConfigError(problems);
    todo.forEach((fileIndex, k) => {
      inputs[fileIndex] = { parsed: parsed[k] as ParsedFile | null, digest: digests[fileIndex]! };
    });
    const result = await runInSlices(compileFiles(inputs as CompileInput[], root));
    if ('demote' in result) {
      for (const [i, input] of inputs.entries())
        if (input !== undefined && 'unit' in input && result.demote.has(input.unit.file)) inputs[i] = undefined;
      continue;
    }
    if (result.problems.length > 0) throw new ConfigError(result.problems);
    const reused = inputs.filter((input) => input !== undefined && 'unit' in input).length;
    loads.set(result.config, {
      units: new Map(result.units.map((u) => [u.file, u])),
      stats: Object.freeze({
        files: files.length,
        filesParsed: files.length - reused,
        filesReused: reused,
        routesCompiled: result.routesCompiled,
        routesReused: result.config.routes.length - result.routesCompiled,
      }),
    });
    return result.config;
  }
}

function shownPath(full: string): string {
  return path.relative(process.cwd(), full) || full;
}

const FILE_KIND: ReadonlyArray<[(s: Dirent | Stats) => boolean, string]> = [
  [(s) => s.isFIFO(), 'a FIFO (named pipe)'],
  [(s) => s.isSocket(), 'a socket'],
  [(s) => s.isCharacterDevice(), 'a character device'],
  [(s) => s.isBlockDevice(), 'a block device'],
  [(s) => s.isDirectory(), 'a folder'],
];

function notRegular(s: Dirent | Stats): string {
  const kind = FILE_KIND.find(([is]) => is(s))?.[1] ?? 'not a regular file';
  return `is ${kind}, not a regular file: skipped, never read`;
}

/**
 * The text of one mapping file, or why it is skipped or refused. Opened non-blocking (a FIFO put
 * there after the listing must not block), checked with fstat, then read at most to the cap.
 */
async function readMappingFile(full: string, maxFileBytes: number): Promise<string | { skip: string } | { problem: string }> {
  const handle = await open(full, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    const st = await handle.stat();
    if (!st.isFile()) return { skip: notRegular(st) };
    if (st.size > maxFileBytes) {
      return { problem: `is ${st.size} bytes, over the ${maxFileBytes}-byte limit per mapping file (--max-mapping-file-bytes); not read` };
    }
    // One byte more than the cap tells a file that grew since fstat.
    const buf = Buffer.alloc(Math.min(st.size, maxFileBytes) + 1);
    let n = 0;
    while (n < buf.length) {
      const { bytesRead } = await handle.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    if (n > maxFileBytes) return { problem: `grew past the ${maxFileBytes}-byte limit per mapping file (--max-mapping-file-bytes) while being read` };
    return buf.toString('utf8', 0, n);
  } finally {
    await handle.close();
  }
}

/** Mapping files below `dir`; entries that are FIFOs, sockets or devices are reported and left unopened. */
async function listYaml(dir: string, skip: (full: string, reason: string) => void): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    // Hidden names are skipped: editors' temporary files, and a Kubernetes ConfigMap volume's
    // `..data` / `..<timestamp>` folders, which hold the same files the visible symlinks point at.
    if (e.name.startsWith('.')) continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listYaml(full, skip)));
    else if (/\.ya?ml$/.test(e.name)) {
      if (e.isFile() || e.isSymbolicLink()) out.push(full);
      else skip(full, notRegular(e));
    }
  }
  return out.sort();
}

/** Where each node of a mapping file was written: `v`+path (the value) and `k`+path (a map key), as [line, col]. */
export type Positions = ReadonlyMap<string, readonly [number, number]>;

/** One mapping file parsed and validated against the schema (plain data, so that it crosses a worker boundary). */
export interface ParsedFile {
  readonly file: string;
  readonly positions: Positions;
  readonly data: Record<string, unknown>;
}

const SEP = '\u0001';

/**
 * Positions as they cross the parse worker's boundary: every key in one string (`lengths` says
 * where each ends) and [line, col] pairs in one array. A Map of 120 000 entries (a file at the size
 * cap) takes the receiving thread half a second to deserialize in one go; this form arrives in a few
 * milliseconds and is unpacked in slices ({@link unpackParsed}).
 */
export interface PackedFile {
  readonly file: string;
  readonly data: Record<string, unknown>;
  readonly keys: string;
  readonly lengths: Int32Array;
  readonly lineCols: Int32Array;
}

/** What the parse worker posts per file: {@link parseMappingFile}'s result with the positions packed. */
export type PackedResult = PackedFile | ConfigProblem[] | null;

export function packParsed(r: ParsedFile | ConfigProblem[] | null): PackedResult {
  if (r === null || Array.isArray(r)) return r;
  const lengths = new Int32Array(r.positions.size);
  const lineCols = new Int32Array(2 * r.positions.size);
  let i = 0;
  for (const [k, [line, col]] of r.positions) {
    lengths[i] = k.length;
    lineCols[2 * i] = line;
    lineCols[2 * i + 1] = col;
    i++;
  }
  return { file: r.file, data: r.data, keys: [...r.positions.keys()].join(''), lengths, lineCols };
}

/** The parse results back with their positions Maps, yielding every 1 024 entries (run with runInSlices). */
export function* unpackParsed(results: readonly PackedResult[]): Generator<void, Array<ParsedFile | ConfigProblem[] | null>> {
  const out: Array<ParsedFile | ConfigProblem[] | null> = [];
  for (const r of results) {
    if (r === null || Array.isArray(r)) {
      out.push(r);
      continue;
    }
    const positions = new Map<string, readonly [number, number]>();
    let at = 0;
    for (let i = 0; i < r.lengths.length; i++) {
      if ((i & 1023) === 0) yield;
      const end = at + (r.lengths[i] as number);
      positions.set(r.keys.slice(at, end), [r.lineCols[2 * i] as number, r.lineCols[2 * i + 1] as number]);
      at = end;
    }
    out.push({ file: r.file, data: r.data, positions });
  }
  return out;
}

function indexPositions(doc: Document.Parsed, lines: LineCounter): Positions {
  const at = new Map<string, readonly [number, number]>();
  const pos = (offset: number | undefined): readonly [number, number] => {
    const p = lines.linePos(offset ?? 0);
    return [p.line, p.col];
  };
  const isNode = (n: unknown): n is YamlNode => isScalar(n) || isMap(n) || isSeq(n);
  // An explicit stack: a file nested thousands deep must not overflow the call stack.
  const stack: Array<[YamlNode, string]> = [];
  const root = doc.contents;
  at.set('v', isNode(root) ? pos(root.range?.[0]) : [1, 1]);
  if (isNode(root)) stack.push([root, '']);
  while (stack.length > 0) {
    const [node, key] = stack.pop()!;
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isScalar(pair.key)) continue;
        const k = key + SEP + String(pair.key.value);
        if (at.has('k' + k)) continue;
        const keyPos = pos(pair.key.range?.[0]);
        at.set('k' + k, keyPos);
        if (isNode(pair.value)) {
          at.set('v' + k, pos(pair.value.range?.[0]));
          stack.push([pair.value, k]);
        } else {
          at.set('v' + k, keyPos);
        }
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        if (!isNode(item)) return;
        const k = key + SEP + String(i);
        at.set('v' + k, pos(item.range?.[0]));
        stack.push([item, k]);
      });
    }
  }
  return at;
}

/** Parses and validates one mapping file: its data and positions, or its problems. An empty file is `null`. */
export function parseMappingFile(f: MappingFile): ParsedFile | ConfigProblem[] | null {
  try {
    const lines = new LineCounter();
    // maxAliasCount bounds alias expansion (the billion-laughs document) in toJS.
    const doc = parseDocument(f.text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length > 0) {
      return doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { file: f.file, line: pos.line, col: pos.col, message: `YAML syntax: ${firstLine(e.message)}` };
      });
    }
    const data = doc.toJS({ maxAliasCount: 100 }) as unknown;
    if (data === null || data === undefined) return null; // an empty file declares nothing
    if (typeof data !== 'object' || Array.isArray(data)) {
      return [{ file: f.file, line: 1, col: 1, message: 'a mapping file must be a YAML map with services, types and routes' }];
    }
    const positions = indexPositions(doc, lines);
    const validate = validator();
    if (!validate(data)) return schemaProblems({ file: f.file, positions }, validate.errors ?? []);
    return { file: f.file, positions, data: data as Record<string, unknown> };
  } catch (err) {
    // The yaml library's alias budget, or a document nested past what the parser's stack holds.
    return [{ file: f.file, line: 1, col: 1, message: `cannot be parsed: ${firstLine(err instanceof Error ? err.message : String(err))}` }];
  }
}

/** Loads mapping files already read into memory. `root` is the folder proto paths resolve against. */
export function loadConfigFiles(files: readonly MappingFile[], root: string): FerryConfig {
  return compileParsed(
    files.map((f) => parseMappingFile(f)),
    root,
  );
}

/** Compiles parse results (from {@link parseMappingFile}) into one config, or throws every problem. */
export function compileParsed(results: ReadonlyArray<ParsedFile | ConfigProblem[] | null>, root: string): FerryConfig {
  return runAtOnce(compileSteps(results, root));
}

/** {@link compileParsed} in slices, the event loop served between them (a reload's compile of thousands of routes). */
export function compileParsedInSlices(results: ReadonlyArray<ParsedFile | ConfigProblem[] | null>, root: string): Promise<FerryConfig> {
  return runInSlices(compileSteps(results, root));
}

function* compileSteps(results: ReadonlyArray<ParsedFile | ConfigProblem[] | null>, root: string): Generator<void, FerryConfig> {
  const problems: ConfigProblem[] = [];
  const parsed: ParsedFile[] = [];
  for (const r of results) {
    if (r === null) continue;
    if (Array.isArray(r)) problems.push(...r);
    else parsed.push(r);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const result = yield* compileFiles(
    parsed.map((pf) => ({ parsed: pf, digest: '' })),
    root,
  );
  if ('demote' in result) throw new Error('compileFiles asked to demote a reused file, and none was given'); // cannot happen
  if (result.problems.length > 0) throw new ConfigError(result.problems);
  return result.config;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}

// ---------------------------------------------------------------------------------------------
// Positions

function locate(
  pf: { readonly file: string; readonly positions: Positions },
  pathParts: readonly (string | number)[],
  keyOf = false,
): SourceLocation {
  // The place itself is almost always indexed (every ancestor of an indexed node is): one lookup
  // instead of one per level. Profiled: the walk was the compile's largest cost (40 µs a route).
  const full = pathParts.length === 0 ? '' : SEP + pathParts.join(SEP);
  const direct = pf.positions.get((keyOf && pathParts.length > 0 ? 'k' : 'v') + full);
  if (direct !== undefined) return { file: pf.file, line: direct[0], col: direct[1] };
  let best = pf.positions.get('v') ?? [1, 1];
  let key = '';
  for (let i = 0; i < pathParts.length; i++) {
    key += SEP + String(pathParts[i]);
    if (keyOf && i === pathParts.length - 1) {
      const k = pf.positions.get('k' + key);
      if (k !== undefined) {
        best = k;
        break;
      }
    }
    const v = pf.positions.get('v' + key);
    if (v === undefined) break;
    best = v;
  }
  return { file: pf.file, line: best[0], col: best[1] };
}

function pointerParts(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

// ---------------------------------------------------------------------------------------------
// Schema errors → one sentence each

function describePlace(parts: readonly string[]): string {
  if (parts.length === 0) return 'the file';
  const [top, second, third, fourth] = parts;
  if (top === 'services' && second !== undefined) {
    return third === undefined ? `service "${second}"` : `"${parts.slice(2).join('.')}" of service "${second}"`;
  }
  if (top === 'types' && second !== undefined) {
    return third === undefined ? `type "${second}"` : `"${parts.slice(2).join('.')}" of type "${second}"`;
  }
  if (top === 'routes' && second !== undefined) {
    const routeNo = `route #${Number(second) + 1}`;
    if (third === 'args' && fourth !== undefined) {
      const rest = parts.slice(4);
      return `argument #${Number(fourth) + 1}${rest.length ? ` ("${rest.join('.')}")` : ''} of ${routeNo}`;
    }
    return third === undefined ? routeNo : `"${parts.slice(2).join('.')}" of ${routeNo}`;
  }
  return `"${parts.join('.')}"`;
}

const PATTERN_HINTS: ReadonlyArray<[RegExp, string]> = [
  [/\/http$/, 'must be a method and a path template, e.g. "GET /accounts/{id}"'],
  [/\/call$/, 'must name a service and a method, e.g. "accounts.getAccount"'],
  [/\/endpoints\/\d+$/, 'must be host:port, e.g. "127.0.0.1:20880"'],
  [/\/registries\/\d+\/cluster$/, 'must be a name of letters, digits, ".", "_" or "-", e.g. "dc1"'],
  [/\/registry(\/url)?$/, 'must be a registry URL such as "zookeeper://127.0.0.1:2181" or "nacos://127.0.0.1:8848"'],
];

function schemaProblems(pf: { readonly file: string; readonly positions: Positions }, errors: readonly ErrorObject[]): ConfigProblem[] {
  const file = pf.file;
  const out = new Map<string, ConfigProblem>();
  // Errors inside a oneOf branch repeat what the oneOf says better; keep the most useful one per place.
  const byPath = new Map<string, ErrorObject[]>();
  for (const e of errors) {
    const list = byPath.get(e.instancePath) ?? [];
    list.push(e);
    byPath.set(e.instancePath, list);
  }
  for (const [instancePath, errs] of byPath) {
    const parts = pointerParts(instancePath);
    for (const e of pickErrors(errs)) {
      const { message, keyName } = sentence(e, parts, instancePath);
      const loc = keyName !== undefined ? locate(pf, [...parts, keyName], true) : locate(pf, parts);
      const key = `${loc.line}:${loc.col}:${message}`;
      if (!out.has(key)) out.set(key, { file, line: loc.line, col: loc.col, message });
    }
  }
  return [...out.values()].sort((a, b) => a.line - b.line || a.col - b.col);
}

function pickErrors(all: readonly ErrorObject[]): ErrorObject[] {
  // An `if` failure only says "the protocol's branch did not match"; the branch's own errors say why.
  const errs = all.filter((e) => e.keyword !== 'if');
  const decisive = errs.filter(
    (e) => (e.keyword === 'additionalProperties' || e.keyword === 'required' || e.keyword === 'enum') && !e.schemaPath.includes('/oneOf/'),
  );
  if (decisive.length > 0) return decisive;
  const oneOf = errs.find((e) => e.keyword === 'oneOf');
  if (oneOf) return [oneOf];
  return errs.slice(0, 1);
}

function sentence(e: ErrorObject, parts: readonly string[], instancePath: string): { message: string; keyName?: string } {
  const place = describePlace(parts);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p['additionalProperty']);
      const protocol = protocolOf(e);
      if (protocol !== undefined && isServicePlace(parts)) {
        const owners = protocolsAllowing(key);
        if (owners !== undefined) {
          return { message: `"${key}" applies to ${owners} services, not to ${protocol} service "${parts[1]}"`, keyName: key };
        }
      }
      const allowed = allowedKeys(e.parentSchema);
      const hint = allowed.length > 0 ? ` (expected one of: ${allowed.join(', ')})` : '';
      return { message: `unknown key "${key}" in ${place}${hint}`, keyName: key };
    }
    case 'required': {
      const key = String(p['missingProperty']);
      const protocol = protocolOf(e);
      if (protocol !== undefined && isServicePlace(parts) && key !== 'protocol') {
        const what = REQUIRED_KEY_HINTS[key];
        return { message: `${place} uses protocol ${protocol} and needs "${key}"${what ? ` (${what})` : ''}` };
      }
      return { message: `${place} is missing the required key "${key}"` };
    }
    case 'enum':
      return { message: `${place} must be one of: ${(p['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'oneOf':
      if (e.schemaPath.includes('duration'))
        return { message: `${place} must be a duration such as "500ms", "3s", "1m" or a number of milliseconds` };
      if (e.schemaPath.startsWith('#/$defs/type')) return { message: `${place} needs exactly one of "fields" (a POJO) or "enum" (an enum)` };
      if (/\/registry$/.test(instancePath))
        return {
          message: `${place} must be a registry URL such as "zookeeper://127.0.0.1:2181" or "nacos://127.0.0.1:8848", or { url, tls, username, password }`,
        };
      if (/\/(token|username|password)$/.test(instancePath)) return { message: `${place} must be the value, { env: NAME } or { file: PATH }` };
      return { message: `${place} does not match any allowed form` };
    case 'pattern': {
      for (const [re, hint] of PATTERN_HINTS) if (re.test(instancePath)) return { message: `${place} ${hint}` };
      if (e.schemaPath.includes('source')) {
        return {
          message: `${place} is not a request source: use path.NAME, query.NAME, header.NAME, cookie.NAME, claim.NAME, attribute.NAME, metadata.NAMESPACE.FIELD, body or body.FIELD`,
        };
      }
      return { message: `${place} has an invalid value` };
    }
    case 'type':
      return { message: `${place} must be ${article(String(p['type']))}` };
    case 'minItems':
      return { message: `${place} must not be empty` };
    case 'minimum':
    case 'maximum':
      return { message: `${place} must be ${e.keyword === 'minimum' ? 'at least' : 'at most'} ${String(p['limit'])}` };
    case 'uniqueItems':
      return { message: `${place} lists the same value twice` };
    default:
      return { message: `${place} ${e.message ?? 'is invalid'}` };
  }
}

const REQUIRED_KEY_HINTS: Readonly<Record<string, string>> = {
  interface: 'the Java interface name',
  proto: 'the .proto file',
  service: 'the full proto service name',
};

/** `services.<name>` itself (not a key inside it). */
function isServicePlace(parts: readonly string[]): boolean {
  return parts.length === 2 && parts[0] === 'services';
}

/** The protocol of the service an error is about (ajv's `verbose` gives the data it checked). */
function protocolOf(e: ErrorObject): string | undefined {
  const data = e.data as { protocol?: unknown } | undefined;
  return data !== null && typeof data === 'object' && typeof data.protocol === 'string' ? data.protocol : undefined;
}

let serviceKeys: ReadonlyArray<{ readonly protocols: string; readonly keys: ReadonlySet<string> }> | undefined;
/** Which protocols' services may have `key`, read from the schema's per-protocol branches. */
function protocolsAllowing(key: string): string | undefined {
  if (serviceKeys === undefined) {
    const defs = (mappingSchema() as { $defs: Record<string, { properties: Record<string, unknown> }> }).$defs;
    serviceKeys = [
      { protocols: 'dubbo', keys: new Set(Object.keys(defs['dubboService']!.properties)) },
      { protocols: 'grpc and triple', keys: new Set(Object.keys(defs['protoService']!.properties)) },
    ];
  }
  const owner = serviceKeys.find((s) => s.keys.has(key));
  return owner?.protocols;
}

function allowedKeys(schema: unknown): string[] {
  if (schema && typeof schema === 'object' && 'properties' in schema) {
    return Object.keys((schema as { properties: object }).properties);
  }
  return [];
}

function article(type: string): string {
  switch (type) {
    case 'object':
      return 'a map';
    case 'array':
      return 'a list';
    case 'integer':
      return 'a whole number';
    default:
      return `a ${type}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Cross-file compilation

/** Keys every service may have; the schema has already checked each protocol's own. */
interface RawServiceCommon {
  version?: string;
  group?: string;
  endpoints?: Array<string | { address: string; labels?: Record<string, string> }>;
  registry?: RawRegistry;
  registries?: Array<{ cluster: string; registry: RawRegistry; priority?: number }>;
  timeout?: number | string;
  pool?: { connections?: number };
  balance?: BalanceKind;
  sticky?: { cookie?: string; maxAge?: number | string; hash?: string; header?: string };
  retries?: number;
  tls?: RawTls;
  canary?: RawCanary;
}

interface RawCanary {
  label?: string;
  tagFrom?: string | string[];
  force?: boolean;
  split?: Array<{ tag?: string; weight: number }>;
  splitOn?: string;
}

type RawSecret = string | { env?: string; file?: string };
type RawTls = { ca?: string; cert?: string; key?: string; serverName?: string };
type RawRegistry = string | { url: string; tls?: RawTls; username?: RawSecret; password?: RawSecret };

/** A registry's URL, whichever form it was written in. */
function registryUrlOf(raw: RawRegistry): string {
  return typeof raw === 'string' ? raw : raw.url;
}

interface RawDubboService extends RawServiceCommon {
  protocol: 'dubbo';
  interface: string;
  generic?: boolean;
  token?: RawSecret;
}

interface RawProtoService extends RawServiceCommon {
  protocol: 'grpc' | 'triple';
  proto?: string;
  descriptorSet?: string;
  reflection?: true | { timeout?: string | number; maxBytes?: number; maxFiles?: number };
  service: string;
  interface?: string;
  forwardHeaders?: string[];
}

type RawService = RawDubboService | RawProtoService;

interface RawArg {
  from?: string;
  value?: unknown;
  type: string;
  required?: boolean;
}

interface RawRoute {
  id?: string;
  http: string;
  call: string;
  args?: RawArg[];
  attachments?: Record<string, string>;
  errors?: Record<string, number | { status: number; fields?: string[] }>;
  body?: string;
  responseBody?: string;
  returns?: string;
  timeout?: number | string;
  longs?: 'auto' | 'string';
  idempotent?: boolean;
  emitDefaults?: boolean;
  retries?: number;
  policies?: Record<string, unknown>;
  canary?: RawCanary | false;
  metadata?: Record<string, string>;
}

/**
 * Route keys that only one side can use. The schema cannot tell them apart, because a route's
 * protocol is that of the service its `call` names, which may be declared in another file.
 */
const DUBBO_ROUTE_KEYS = ['args', 'returns', 'errors', 'attachments', 'longs'] as const;
const GRPC_ROUTE_KEYS = ['body', 'responseBody', 'emitDefaults', 'metadata'] as const;

/** Metadata names a route may not set: transport-level HTTP/2 headers (`grpc-*` and `*-bin` the schema refuses). */
const RESERVED_METADATA_NAMES = new Set(['content-type', 'te', 'host', 'connection', 'transfer-encoding', 'keep-alive', 'upgrade', 'user-agent']);

const DEFAULT_TAG_LABEL = 'dubbo.tag';

/**
 * A `canary:` block checked beyond the schema (a split needs some weight and distinct tags;
 * `splitOn` needs a split; something must name a tag). Problems go to `problemAt` at the key.
 */
function compileCanary(
  raw: RawCanary,
  owner: string,
  at: (...keys: (string | number)[]) => SourceLocation,
  problemAt: (loc: SourceLocation, message: string) => void,
): CanaryConfig | undefined {
  let ok = true;
  const tagFrom = raw.tagFrom === undefined ? [] : typeof raw.tagFrom === 'string' ? [raw.tagFrom] : raw.tagFrom;
  if (tagFrom.length === 0 && raw.split === undefined) {
    problemAt(at(), `"canary" of ${owner} needs "tagFrom" (where a request names its tag) or "split" (shares by weight), or both`);
    ok = false;
  }
  if (raw.splitOn !== undefined && raw.split === undefined) {
    problemAt(at('splitOn'), `"splitOn" of ${owner} hashes a request value for a split, but "canary" has no "split"`);
    ok = false;
  }
  if (raw.split !== undefined) {
    const seen = new Map<string, number>();
    raw.split.forEach((entry, i) => {
      const key = entry.tag ?? '';
      const prior = seen.get(key);
      if (prior !== undefined) {
        problemAt(
          at('split', i),
          `"split" of ${owner} names ${entry.tag === undefined ? 'the untagged endpoints' : `tag "${entry.tag}"`} twice (entries #${prior + 1} and #${i + 1})`,
        );
        ok = false;
      }
      seen.set(key, i);
    });
    if (raw.split.every((e) => e.weight === 0)) {
      problemAt(at('split'), `every "weight" of the split of ${owner} is 0; give at least one entry a share`);
      ok = false;
    }
  }
  if (!ok) return undefined;
  return Object.freeze({
    label: raw.label ?? DEFAULT_TAG_LABEL,
    tagFrom: Object.freeze([...tagFrom]),
    force: raw.force ?? false,
    ...(raw.split !== undefined ? { split: Object.freeze(raw.split.map((e) => Object.freeze({ tag: e.tag, weight: e.weight }))) } : {}),
    ...(raw.splitOn !== undefined ? { splitOn: raw.splitOn } : {}),
    source: at(),
  });
}

const DEFAULT_TIMEOUT_MS = 3000;

/** Parses "500ms", "3s", "1.5m" or a number of milliseconds. */
export function parseDuration(v: number | string): number {
  if (typeof v === 'number') return v;
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m)$/.exec(v);
  if (!m) throw new Error(`not a duration: ${v}`);
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000);
}

/** Where the value of each key of the map at `at` was written. */
function keySourcesOf(pf: ParsedFile, at: readonly (string | number)[]): KeySources {
  let node: unknown = pf.data;
  for (const part of at) {
    if (node === null || typeof node !== 'object') return Object.freeze({});
    node = (node as Record<string, unknown>)[String(part)];
  }
  const out: Record<string, SourceLocation> = {};
  if (node !== null && typeof node === 'object' && !Array.isArray(node)) {
    for (const key of Object.keys(node)) out[key] = locate(pf, [...at, key]);
  }
  return Object.freeze(out);
}

/** A file to compile: parsed now (`parsed` null for an empty file), or reused as compiled by the previous load. */
type CompileInput = { readonly parsed: ParsedFile | null; readonly digest: string } | { readonly unit: FileUnit };

type CompileResult =
  | { readonly config: FerryConfig; readonly problems: ConfigProblem[]; readonly units: FileUnit[]; readonly routesCompiled: number }
  /** Reused files whose routes call a service that compiles differently now: parse and compile them again. */
  | { readonly demote: ReadonlySet<string> };

/** A unit being filled while its file compiles. */
interface UnitDraft {
  services: ServiceConfig[];
  types: TypeDef[];
  plugins: PluginDecl[];
  policies: PolicyUse[];
  routes: Array<{ route: RouteConfig; httpSource: SourceLocation }>;
  calls: Map<string, string>;
  keep: boolean;
}

/**
 * Compiles the files in order into one config: services and types of every file first, then
 * plugins and global policies, then routes (which may call services of any file). A reused file
 * takes part with what it compiled to last time, checked against the others like a parsed one
 * (duplicates are found whichever file changed).
 */
function* compileFiles(inputs: readonly CompileInput[], root: string): Generator<void, CompileResult> {
  const problems: ConfigProblem[] = [];
  const services = new Map<string, ServiceConfig>();
  const types = new Map<string, TypeDef>();
  const routes: RouteConfig[] = [];
  const problemAt = (loc: SourceLocation, message: string): void => {
    problems.push({ file: loc.file, line: loc.line, col: loc.col, message });
  };
  const drafts = inputs.map((input): UnitDraft | undefined =>
    'unit' in input ? undefined : { services: [], types: [], plugins: [], policies: [], routes: [], calls: new Map(), keep: true },
  );
  /** Whether `name` is already in `map`; if so, a problem at `at` naming where it came first. */
  const taken = (
    map: ReadonlyMap<string, { readonly source: SourceLocation }>,
    what: string,
    name: string,
    at: SourceLocation,
    twice = 'declared twice',
  ): boolean => {
    const prior = map.get(name);
    if (prior) problemAt(at, `${what} "${name}" is ${twice} (first at ${prior.source.file}:${prior.source.line})`);
    return prior !== undefined;
  };
  /** Adds `item` under its name unless that name is taken (then false, and the problem). */
  const addOnce = <T extends { readonly name: string; readonly source: SourceLocation }>(
    map: Map<string, T>,
    what: string,
    item: T,
    twice?: string,
  ): boolean => {
    if (taken(map, what, item.name, item.source, twice)) return false;
    map.set(item.name, item);
    return true;
  };
  const addService = (svc: ServiceConfig): boolean => addOnce(services, 'service', svc);
  const addType = (t: TypeDef): boolean => addOnce(types, 'type', t);

  for (const [i, input] of inputs.entries()) {
    if ('unit' in input) {
      input.unit.services.forEach(addService);
      input.unit.types.forEach(addType);
      continue;
    }
    const pf = input.parsed;
    const draft = drafts[i]!;
    if (pf === null) continue;
    const rawServices = (pf.data['services'] ?? {}) as Record<string, RawService>;
    for (const [name, raw] of Object.entries(rawServices)) {
      const source = locate(pf, ['services', name], true);
      if (taken(services, 'service', name, source)) continue;
      if (readsOutside(raw)) draft.keep = false;
      const svc = compileService(name, raw, source, pf, root, problemAt);
      if (svc && addService(svc)) draft.services.push(svc);
    }
    const rawTypes = (pf.data['types'] ?? {}) as Record<string, { fields?: Record<string, string>; enum?: string[] }>;
    for (const [name, raw] of Object.entries(rawTypes)) {
      const source = locate(pf, ['types', name], true);
      let t: TypeDef;
      if (raw.enum !== undefined) {
        t = Object.freeze({ kind: 'enum', name, constants: Object.freeze([...raw.enum]), source });
      } else {
        const fields = Object.entries(raw.fields ?? {}).map(([fname, ftype]) =>
          Object.freeze({ name: fname, type: ftype, source: locate(pf, ['types', name, 'fields', fname]) }),
        );
        t = Object.freeze({ kind: 'pojo', name, fields: Object.freeze(fields), source });
      }
      addType(t);
      draft.types.push(t);
    }
  }

  // A reused file's routes were compiled against its services' protocol and retries: still the same?
  const demote = new Set<string>();
  for (const input of inputs) {
    if (!('unit' in input)) continue;
    for (const [name, signature] of input.unit.calls) {
      const s = services.get(name);
      if (s === undefined || callSignature(s) !== signature) demote.add(input.unit.file);
    }
  }
  if (demote.size > 0) return { demote };

  const plugins = new Map<string, PluginDecl>();
  const globalPolicies = new Map<string, PolicyUse>();
  const addPlugin = (p: PluginDecl): boolean => addOnce(plugins, 'plugin', p);
  const addPolicy = (use: PolicyUse): boolean => addOnce(globalPolicies, 'global policy', use, 'set twice');
  for (const [i, input] of inputs.entries()) {
    if ('unit' in input) {
      input.unit.plugins.forEach(addPlugin);
      input.unit.policies.forEach(addPolicy);
      continue;
    }
    const pf = input.parsed;
    const draft = drafts[i]!;
    if (pf === null) continue;
    const rawPlugins = (pf.data['plugins'] ?? {}) as Record<string, { file: string }>;
    for (const [name, raw] of Object.entries(rawPlugins)) {
      const p = Object.freeze({ name, file: path.resolve(root, raw.file), source: locate(pf, ['plugins', name], true) });
      addPlugin(p);
      draft.plugins.push(p);
    }
    for (const use of policyUses(pf, ['policies'], pf.data['policies'])) {
      addPolicy(use);
      draft.policies.push(use);
    }
  }

  const ids = new Map<string, SourceLocation>();
  const shapes = new Map<string, { id: string; source: SourceLocation }>();
  /** The id and method+template checks across files; true when the route is taken. */
  const admit = (route: RouteConfig, httpSource: () => SourceLocation): boolean => {
    const source = route.source;
    const priorId = ids.get(route.id);
    if (priorId) {
      problemAt(source, `route id "${route.id}" is used twice (first at ${priorId.file}:${priorId.line}); give each route its own id`);
      return false;
    }
    ids.set(route.id, source);
    const shape = `${route.method} ${templateKey(route.template)}`;
    const priorShape = shapes.get(shape);
    if (priorShape) {
      problemAt(
        httpSource(),
        `route "${route.id}" repeats ${route.method} ${route.path}, already served by route "${priorShape.id}" (${priorShape.source.file}:${priorShape.source.line})`,
      );
      return false;
    }
    shapes.set(shape, { id: route.id, source });
    routes.push(route);
    return true;
  };
  let routesCompiled = 0;
  for (const [i, input] of inputs.entries()) {
    if ('unit' in input) {
      for (const { route, httpSource } of input.unit.routes) {
        yield; // a slice may end here (runInSlices)
        admit(route, () => httpSource);
      }
      continue;
    }
    const pf = input.parsed;
    const draft = drafts[i]!;
    if (pf === null) continue;
    const rawRoutes = (pf.data['routes'] ?? []) as RawRoute[];
    for (const [index, raw] of rawRoutes.entries()) {
      yield; // a slice may end here (runInSlices): a mapping at the size cap holds 8 600 routes
      const source = locate(pf, ['routes', index]);
      const route = compileRoute(raw, index, source, pf, services, problemAt);
      if (!route) continue;
      routesCompiled++;
      const httpSource = (): SourceLocation => locate(pf, ['routes', index, 'http']);
      if (!admit(route, httpSource)) continue;
      draft.routes.push({ route, httpSource: httpSource() });
      draft.calls.set(route.serviceName, callSignature(services.get(route.serviceName)!));
    }
  }

  const config: FerryConfig = Object.freeze({
    root,
    services,
    types,
    routes: Object.freeze(routes),
    plugins,
    policies: Object.freeze([...globalPolicies.values()]),
  });
  const units = inputs.flatMap((input, i): FileUnit[] => {
    if ('unit' in input) return [input.unit];
    const draft = drafts[i]!;
    if (!draft.keep || input.digest === '') return [];
    const file = input.parsed?.file;
    if (file === undefined) return [];
    return [Object.freeze({ file, digest: input.digest, root, ...draft, calls: draft.calls })];
  });
  return { config, problems, units, routesCompiled };
}

/** The `policies:` map at `at` as PolicyUse records, each with the place its name was written. */
function policyUses(pf: ParsedFile, at: readonly (string | number)[], raw: unknown): PolicyUse[] {
  if (raw === undefined || raw === null) return [];
  return Object.entries(raw as Record<string, unknown>).map(([name, options]) =>
    Object.freeze({ name, options: options ?? {}, source: locate(pf, [...at, name], true) }),
  );
}

function compileService(
  name: string,
  raw: RawService,
  source: SourceLocation,
  pf: ParsedFile,
  root: string,
  problemAt: (loc: SourceLocation, message: string) => void,
): ServiceConfig | undefined {
  const at = (key: string): SourceLocation => locate(pf, ['services', name, key], true);
  let ok = true;
  let tls: UpstreamTls | undefined;
  if (raw.tls !== undefined) {
    tls = compileTls(name, raw.tls, root, (key) => locate(pf, ['services', name, 'tls', key]), problemAt);
    if (tls === undefined) ok = false;
  }
  const given = (['endpoints', 'registry', 'registries'] as const).filter((k) => raw[k] !== undefined);
  if (given.length === 0) {
    problemAt(source, `service "${name}" needs "endpoints" (host:port list), "registries" or "registry"`);
    ok = false;
  }
  if (given.length > 1) {
    problemAt(at(given[1]!), `service "${name}" has both "${given[0]}" and "${given[1]}"; choose one`);
    ok = false;
  }
  const clusters = new Map<string, number>();
  const registryUrls = new Map<string, number>();
  (raw.registries ?? []).forEach((r, i) => {
    const priorCluster = clusters.get(r.cluster);
    if (priorCluster !== undefined) {
      problemAt(
        locate(pf, ['services', name, 'registries', i, 'cluster']),
        `cluster "${r.cluster}" of service "${name}" is named twice (entries #${priorCluster + 1} and #${i + 1}); each cluster needs its own name`,
      );
      ok = false;
    }
    clusters.set(r.cluster, i);
    const url = registryUrlOf(r.registry);
    const priorUrl = registryUrls.get(url);
    if (priorUrl !== undefined) {
      problemAt(
        locate(pf, ['services', name, 'registries', i, 'registry']),
        `registry "${url}" of service "${name}" is listed twice (entries #${priorUrl + 1} and #${i + 1})`,
      );
      ok = false;
    }
    registryUrls.set(url, i);
  });
  const endpointLabels: Record<string, Readonly<Record<string, string>>> = {};
  const endpointIds = (raw.endpoints ?? []).map((entry, i) => {
    const endpoint = typeof entry === 'string' ? entry : entry.address;
    const port = Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
    if (port < 1 || port > 65535) {
      problemAt(locate(pf, ['services', name, 'endpoints', i]), `endpoint "${endpoint}" of service "${name}" has port ${port}; a port is 1 to 65535`);
      ok = false;
    }
    if (typeof entry !== 'string' && entry.labels !== undefined) endpointLabels[endpoint] = Object.freeze({ ...entry.labels });
    return endpoint;
  });
  let canary: CanaryConfig | undefined;
  if (raw.canary !== undefined) {
    canary = compileCanary(
      raw.canary,
      `service "${name}"`,
      (...keys) => locate(pf, ['services', name, 'canary', ...keys], keys.length === 0),
      problemAt,
    );
    if (canary === undefined) ok = false;
  }
  const accessOf = (r: RawRegistry, at: (string | number)[]): RegistryAccess | undefined => {
    if (typeof r === 'string') return undefined;
    const access = compileRegistryAccess(name, r, root, (...keys) => locate(pf, ['services', name, ...at, ...keys], true), problemAt);
    if (access === undefined) ok = false;
    return access;
  };
  const registryAccess = raw.registry !== undefined ? accessOf(raw.registry, ['registry']) : undefined;
  const registries = raw.registries?.map((r, i) => {
    const access = accessOf(r.registry, ['registries', i, 'registry']);
    return Object.freeze({
      cluster: r.cluster,
      registry: registryUrlOf(r.registry),
      ...(access !== undefined ? { access } : {}),
      priority: r.priority ?? i,
    });
  });
  let sticky: StickyConfig | undefined;
  if (raw.sticky !== undefined) {
    const forms = [raw.sticky.cookie, raw.sticky.hash, raw.sticky.header].filter((v) => v !== undefined).length;
    if (forms !== 1) {
      problemAt(at('sticky'), `"sticky" of service "${name}" needs exactly one of "cookie", "hash" or "header"`);
      ok = false;
    } else {
      const hashOn = raw.sticky.hash ?? (raw.sticky.header !== undefined ? `header.${raw.sticky.header.toLowerCase()}` : undefined);
      sticky = Object.freeze({
        ...(raw.sticky.cookie !== undefined ? { cookie: raw.sticky.cookie } : {}),
        ...(hashOn !== undefined ? { hashOn } : {}),
        ...(raw.sticky.maxAge !== undefined ? { maxAgeSeconds: Math.round(parseDuration(raw.sticky.maxAge) / 1000) } : {}),
      });
    }
  }
  if (!ok) return undefined;
  const common = {
    name,
    ...(raw.version !== undefined ? { version: raw.version } : {}),
    ...(raw.group !== undefined ? { group: raw.group } : {}),
    endpoints: Object.freeze(endpointIds),
    ...(Object.keys(endpointLabels).length > 0 ? { endpointLabels: Object.freeze(endpointLabels) } : {}),
    ...(canary !== undefined ? { canary } : {}),
    ...(raw.registry !== undefined ? { registry: registryUrlOf(raw.registry) } : {}),
    ...(registryAccess !== undefined ? { registryAccess } : {}),
    ...(registries !== undefined ? { registries: Object.freeze(registries) } : {}),
    timeoutMs: raw.timeout !== undefined ? parseDuration(raw.timeout) : DEFAULT_TIMEOUT_MS,
    timeoutSet: raw.timeout !== undefined,
    balance: raw.balance ?? 'least-pending',
    ...(sticky !== undefined ? { sticky } : {}),
    retries: raw.retries ?? DEFAULT_RETRIES,
    ...(tls !== undefined ? { tls } : {}),
    source,
    keySources: keySourcesOf(pf, ['services', name]),
  };
  if (raw.protocol === 'dubbo') {
    const token = raw.token === undefined ? undefined : readSecret(name, 'token', raw.token, root, at('token'), problemAt);
    if (raw.token !== undefined && token === undefined) return undefined;
    const svc: DubboService = {
      ...common,
      protocol: 'dubbo',
      interface: raw.interface,
      generic: raw.generic ?? false,
      ...(token !== undefined ? { token } : {}),
      connectionsPerEndpoint: raw.pool?.connections ?? 2,
    };
    return Object.freeze(svc);
  }
  const schemaKeys = (['proto', 'descriptorSet', 'reflection'] as const).filter((k) => raw[k] !== undefined);
  if (schemaKeys.length !== 1) {
    problemAt(
      schemaKeys.length === 0 ? source : at(schemaKeys[1]!),
      schemaKeys.length === 0
        ? `service "${name}" needs its schema: "proto" (a .proto file), "descriptorSet" (a descriptor set file) or "reflection" (fetched from the upstream)`
        : `service "${name}" gives its schema twice ("${schemaKeys.join('" and "')}"): keep one`,
    );
    return undefined;
  }
  const reflection =
    raw.reflection === undefined
      ? undefined
      : Object.freeze({
          timeoutMs:
            typeof raw.reflection === 'object' && raw.reflection.timeout !== undefined
              ? parseDuration(raw.reflection.timeout)
              : DEFAULT_REFLECTION_SETTINGS.timeoutMs,
          maxBytes: (typeof raw.reflection === 'object' ? raw.reflection.maxBytes : undefined) ?? DEFAULT_REFLECTION_SETTINGS.maxBytes,
          maxFiles: (typeof raw.reflection === 'object' ? raw.reflection.maxFiles : undefined) ?? DEFAULT_REFLECTION_SETTINGS.maxFiles,
        });
  const proto = {
    ...common,
    // Providers of a proto service register under its full name unless the mapping says otherwise.
    interface: raw.interface ?? raw.service,
    ...(raw.proto !== undefined ? { proto: raw.proto } : {}),
    ...(raw.descriptorSet !== undefined ? { descriptorSet: raw.descriptorSet } : {}),
    ...(reflection !== undefined ? { reflection } : {}),
    service: raw.service,
    connectionsPerEndpoint: raw.pool?.connections ?? 1,
    forwardHeaders: Object.freeze((raw.forwardHeaders ?? []).map((h) => h.toLowerCase())),
  };
  const svc: ProtoService = raw.protocol === 'grpc' ? { ...proto, protocol: 'grpc' } : { ...proto, protocol: 'triple' };
  return Object.freeze(svc);
}

/**
 * A secret written as its value, `{ env: NAME }` or `{ file: PATH }` (one trailing newline dropped).
 * Problems name the variable or file, never the value.
 */
function readSecret(
  name: string,
  key: string,
  raw: RawSecret,
  root: string,
  at: SourceLocation,
  problemAt: (loc: SourceLocation, message: string) => void,
): string | undefined {
  if (typeof raw === 'string') return raw;
  if (raw.env !== undefined) {
    const value = process.env[raw.env];
    if (value === undefined || value === '') {
      problemAt(at, `"${key}" of service "${name}": the environment variable ${raw.env} is not set`);
      return undefined;
    }
    return value;
  }
  const file = path.resolve(root, raw.file ?? '');
  try {
    const value = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    if (value === '') throw new Error('it is empty');
    return value;
  } catch (err) {
    problemAt(at, `"${key}" of service "${name}": ${file} cannot be used: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}

/**
 * The TLS files and credentials of `registry: { url, tls, username, password }`. TLS is ZooKeeper's
 * (Nacos is reached over plain HTTP here); the secrets are read like `token`.
 */
function compileRegistryAccess(
  name: string,
  raw: Exclude<RawRegistry, string>,
  root: string,
  at: (...keys: string[]) => SourceLocation,
  problemAt: (loc: SourceLocation, message: string) => void,
): RegistryAccess | undefined {
  let ok = true;
  let tls: UpstreamTls | undefined;
  if (raw.tls !== undefined) {
    if (!raw.url.startsWith('zookeeper://')) {
      problemAt(
        at('tls'),
        `"registry.tls" of service "${name}": TLS to the registry is for ZooKeeper (its secure client port); ${raw.url.split(':')[0]} is reached over plain HTTP`,
      );
      ok = false;
    } else {
      tls = compileTls(name, raw.tls, root, (key) => at('tls', key), problemAt);
      if (tls === undefined) ok = false;
    }
  }
  const username = raw.username !== undefined ? readSecret(name, 'registry.username', raw.username, root, at('username'), problemAt) : undefined;
  const password = raw.password !== undefined ? readSecret(name, 'registry.password', raw.password, root, at('password'), problemAt) : undefined;
  if ((raw.username !== undefined && username === undefined) || (raw.password !== undefined && password === undefined)) ok = false;
  if (!ok) return undefined;
  const secret =
    username !== undefined
      ? createHash('sha256')
          .update(`${username}\0${password ?? ''}`)
          .digest('hex')
          .slice(0, 16)
      : '';
  return Object.freeze({
    ...(tls !== undefined ? { tls } : {}),
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    identity: `${tls?.identity ?? ''}|${secret}`,
  });
}

/**
 * Reads a service's `tls:` files (relative to the mapping folder) and checks that node:tls takes
 * them; each problem is reported at the key that names the file.
 */
function compileTls(
  name: string,
  raw: RawTls,
  root: string,
  at: (key: string) => SourceLocation,
  problemAt: (loc: SourceLocation, message: string) => void,
): UpstreamTls | undefined {
  const files: Partial<Record<'ca' | 'cert' | 'key', { path: string; bytes: Buffer }>> = {};
  let ok = true;
  for (const key of ['ca', 'cert', 'key'] as const) {
    const given = raw[key];
    if (given === undefined) continue;
    const file = path.resolve(root, given);
    try {
      const bytes = readFileSync(file);
      if (!bytes.includes('-----BEGIN ')) throw new Error('it holds no PEM block');
      files[key] = { path: file, bytes };
    } catch (err) {
      problemAt(at(key), `"tls.${key}" of service "${name}": ${file} cannot be used: ${err instanceof Error ? err.message : String(err)}`);
      ok = false;
    }
  }
  if (!ok) return undefined;
  const context = {
    ...(files.ca !== undefined ? { ca: files.ca.bytes } : {}),
    ...(files.cert !== undefined ? { cert: files.cert.bytes } : {}),
    ...(files.key !== undefined ? { key: files.key.bytes } : {}),
  };
  try {
    createSecureContext(context);
  } catch (err) {
    const key = files.key !== undefined ? 'key' : files.cert !== undefined ? 'cert' : 'ca';
    problemAt(at(key), `"tls" of service "${name}": node:tls refuses these files: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
  const digest = createHash('sha256');
  for (const f of [files.ca, files.cert, files.key]) digest.update(f?.bytes ?? '').update('\0');
  return Object.freeze({
    context: Object.freeze(context),
    ...(raw.serverName !== undefined ? { servername: raw.serverName } : {}),
    identity: `${files.ca?.path ?? ''}|${files.cert?.path ?? ''}|${raw.serverName ?? ''}|${digest.digest('hex')}`,
  });
}

function compileRoute(
  raw: RawRoute,
  index: number,
  source: SourceLocation,
  pf: ParsedFile,
  services: ReadonlyMap<string, ServiceConfig>,
  problemAt: (loc: SourceLocation, message: string) => void,
): RouteConfig | undefined {
  const at = (...keys: (string | number)[]): SourceLocation => locate(pf, ['routes', index, ...keys]);
  const [method, ...pathParts] = raw.http.split(' ');
  const routePath = pathParts.join(' ');
  const dot = raw.call.lastIndexOf('.');
  const serviceName = raw.call.slice(0, dot);
  const rpcMethod = raw.call.slice(dot + 1);
  const id = raw.id ?? `${serviceName}.${rpcMethod}`;
  const service = services.get(serviceName);
  let ok = true;
  if (!service) {
    const known = [...services.keys()];
    problemAt(
      at('call'),
      `route "${id}" calls service "${serviceName}", which no mapping file declares${known.length ? ` (declared: ${known.join(', ')})` : ''}`,
    );
    return undefined;
  }
  let template: CompiledTemplate | undefined;
  try {
    template = parseTemplate(routePath);
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    problemAt(at('http'), `the path template "${routePath}" of route "${id}" ${err.reason}`);
    ok = false;
  }
  const misplaced = service.protocol === 'dubbo' ? GRPC_ROUTE_KEYS : DUBBO_ROUTE_KEYS;
  for (const key of misplaced) {
    if (raw[key] === undefined) continue;
    problemAt(
      at(key),
      service.protocol === 'dubbo'
        ? `"${key}" applies to grpc and triple routes; route "${id}" calls a dubbo service (use "${key === 'metadata' ? 'attachments' : 'args'}")`
        : `"${key}" applies to dubbo routes; route "${id}" calls a ${service.protocol} service`,
    );
    ok = false;
  }
  let canary: CanaryConfig | false | undefined;
  if (raw.canary === false) canary = false;
  else if (raw.canary !== undefined) {
    canary = compileCanary(raw.canary, `route "${id}"`, (...keys) => at('canary', ...keys), problemAt);
    if (canary === undefined) ok = false;
  }
  for (const key of Object.keys(raw.metadata ?? {})) {
    if (!RESERVED_METADATA_NAMES.has(key)) continue;
    problemAt(at('metadata', key), `metadata "${key}" of route "${id}" is a transport header; name the metadata otherwise`);
    ok = false;
  }
  const pathVariables = template !== undefined ? variableNames(template) : [];
  const args: ArgConfig[] = [];
  (raw.args ?? []).forEach((a, i) => {
    const argSource = at('args', i);
    if (a.from === undefined && a.value === undefined) {
      problemAt(argSource, `argument #${i + 1} of route "${id}" needs "from" (a request source) or "value" (a constant)`);
      ok = false;
      return;
    }
    if (a.from !== undefined && a.value !== undefined) {
      problemAt(argSource, `argument #${i + 1} of route "${id}" has both "from" and "value"; choose one`);
      ok = false;
      return;
    }
    if (a.from !== undefined && a.from.startsWith('path.') && template !== undefined) {
      const name = a.from.slice(5);
      if (!pathVariables.includes(name)) {
        problemAt(at('args', i, 'from'), `argument #${i + 1} of route "${id}" reads path.${name}, but the path ${routePath} has no {${name}}`);
        ok = false;
        return;
      }
    }
    args.push(
      Object.freeze({
        ...(a.from !== undefined ? { from: a.from } : {}),
        ...(a.value !== undefined ? { value: a.value } : {}),
        type: a.type,
        // Path parameters are always present; other sources are required unless said otherwise.
        required: a.required ?? true,
        source: argSource,
      }),
    );
  });
  if (!ok || template === undefined) return undefined;
  const common = {
    id,
    method: method!,
    path: routePath,
    template,
    serviceName,
    rpcMethod,
    ...(raw.timeout !== undefined ? { timeoutMs: parseDuration(raw.timeout) } : {}),
    idempotent: raw.idempotent ?? false,
    retries: raw.retries ?? service.retries,
    source,
    keySources: keySourcesOf(pf, ['routes', index]),
    ...(raw.policies !== undefined ? { policies: Object.freeze(policyUses(pf, ['routes', index, 'policies'], raw.policies)) } : {}),
    ...(canary !== undefined ? { canary } : {}),
  };
  if (service.protocol === 'dubbo') {
    const route: DubboRoute = {
      ...common,
      protocol: 'dubbo',
      args: Object.freeze(args),
      attachments: Object.freeze({ ...(raw.attachments ?? {}) }),
      errors: Object.freeze(Object.fromEntries(Object.entries(raw.errors ?? {}).map(([k, v]) => [k, typeof v === 'number' ? v : v.status]))),
      errorFields: Object.freeze(
        Object.fromEntries(
          Object.entries(raw.errors ?? {}).flatMap(([k, v]) =>
            typeof v === 'number' || v.fields === undefined ? [] : [[k, Object.freeze([...v.fields])]],
          ),
        ),
      ),
      ...(raw.returns !== undefined ? { returns: raw.returns } : {}),
      longs: raw.longs ?? 'auto',
    };
    return Object.freeze(route);
  }
  const route: GrpcRoute = {
    ...common,
    protocol: service.protocol,
    ...(raw.body !== undefined ? { body: raw.body } : {}),
    ...(raw.responseBody !== undefined ? { responseBody: raw.responseBody } : {}),
    emitDefaults: raw.emitDefaults ?? false,
    metadata: Object.freeze({ ...(raw.metadata ?? {}) }),
    fromProto: false,
  };
  return Object.freeze(route);
}
