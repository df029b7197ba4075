/**
 * Path-template routing with google.api.http syntax: literal segments, `*`, `**`, variables
 * `{field}` / `{field.sub=pattern/*}` and a trailing `:verb`. Templates compile into a segment trie
 * once; matching walks it with literals before wildcards and never backtracks more than needed.
 */

import { FerryError, formatLocation, type SourceLocation } from '../errors/index.js';

/**
 * A malformed path template (FERRY_CONFIG_INVALID). With the place it was written (`at`), the
 * message starts with file:line:col; `reason` is the bare sentence for callers that word their own.
 */
export class TemplateError extends FerryError {
  readonly template: string;
  readonly reason: string;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly col: number | undefined;

  constructor(template: string, reason: string, at?: SourceLocation) {
    super('FERRY_CONFIG_INVALID', `${at ? `${formatLocation(at)}: ` : ''}path template "${template}" ${reason}`);
    this.name = 'TemplateError';
    this.template = template;
    this.reason = reason;
    this.file = at?.file;
    this.line = at?.line;
    this.col = at?.col;
  }
}

export type Segment = { readonly kind: 'literal'; readonly value: string } | { readonly kind: 'star' } | { readonly kind: 'double-star' };

export interface VariableSpan {
  /** The field path it binds, e.g. `id` or `book.id`. */
  readonly name: string;
  readonly start: number;
  /** Exclusive end segment index; -1 means "to the end of the path" (a `**` inside the variable). */
  readonly end: number;
}

export interface CompiledTemplate {
  /** The template as written. */
  readonly text: string;
  readonly segments: readonly Segment[];
  readonly variables: readonly VariableSpan[];
  /** The custom verb after the last segment (`search` in `/v1/payments:search`), or ''. */
  readonly verb: string;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/**
 * Parses a path template; throws TemplateError with a plain reason when it is malformed (placed at
 * `at` when the caller knows where the template was written). The result is frozen.
 */
export function parseTemplate(template: string, at?: SourceLocation): CompiledTemplate {
  const fail = (reason: string): never => {
    throw new TemplateError(template, reason, at);
  };
  if (!template.startsWith('/')) fail('must start with "/"');
  let body = template.slice(1);
  let verb = '';
  // A verb is a ":" after the last "/" that is not inside a variable.
  const lastSlash = body.lastIndexOf('/');
  const lastBrace = body.lastIndexOf('}');
  const colon = body.lastIndexOf(':');
  if (colon > lastSlash && colon > lastBrace) {
    verb = body.slice(colon + 1);
    body = body.slice(0, colon);
    if (verb === '') fail('has an empty ":verb"');
  }
  const segments: Segment[] = [];
  const variables: VariableSpan[] = [];
  const parts = body === '' ? [] : splitOutsideBraces(body, fail);
  for (const part of parts) {
    if (part.startsWith('{')) {
      if (!part.endsWith('}')) fail(`has a malformed variable "${part}"`);
      const inner = part.slice(1, -1);
      const eq = inner.indexOf('=');
      const name = eq < 0 ? inner : inner.slice(0, eq);
      if (!IDENT.test(name)) fail(`has a variable with an invalid name "${name}"`);
      if (variables.some((v) => v.name === name)) fail(`binds variable "${name}" twice`);
      const pattern = eq < 0 ? ['*'] : inner.slice(eq + 1).split('/');
      const start = segments.length;
      for (const p of pattern) segments.push(patternSegment(p, fail));
      const end = segments[segments.length - 1]!.kind === 'double-star' ? -1 : segments.length;
      variables.push(Object.freeze({ name, start, end }));
    } else {
      segments.push(patternSegment(part, fail));
    }
  }
  const dstar = segments.findIndex((s) => s.kind === 'double-star');
  if (dstar >= 0 && dstar !== segments.length - 1) fail('may use "**" only as its last segment');
  return Object.freeze({ text: template, segments: Object.freeze(segments), variables: Object.freeze(variables), verb });
}

/** The field paths a template binds, in order (`['name', 'id']`). */
export function variableNames(t: CompiledTemplate): string[] {
  return t.variables.map((v) => v.name);
}

/** The segment pattern a variable matches, as written in a template (`*`, `shelves/*`, `**`). */
export function variablePattern(t: CompiledTemplate, v: VariableSpan): string {
  const end = v.end < 0 ? t.segments.length : v.end;
  return t.segments.slice(v.start, end).map(segmentText).join('/');
}

/**
 * What a template matches, with variable names left out: `/a/{id}`, `/a/{key}` and `/a/*` share
 * one key, so two routes with the same method and key would serve the same requests.
 */
export function templateKey(t: CompiledTemplate): string {
  // Literals hold no "/" or "*" and only the last segment's ":" is a verb, so the key is unambiguous.
  return `/${t.segments.map(segmentText).join('/')}${t.verb === '' ? '' : `:${t.verb}`}`;
}

/** A segment as written in a template: the literal, `*` or `**`. */
export function segmentText(s: Segment): string {
  return s.kind === 'literal' ? s.value : s.kind === 'star' ? '*' : '**';
}

function splitOutsideBraces(body: string, fail: (reason: string) => never): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of body) {
    if (ch === '{') depth++;
    if (ch === '}') depth--;
    if (depth < 0 || depth > 1) fail('has unbalanced braces');
    if (ch === '/' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (depth !== 0) fail('has unbalanced braces');
  parts.push(current);
  return parts;
}

function patternSegment(p: string, fail: (reason: string) => never): Segment {
  if (p === '*') return STAR;
  if (p === '**') return DOUBLE_STAR;
  if (p === '') fail('has an empty segment ("//")');
  if (/[{}*]/.test(p)) fail(`has an invalid segment "${p}"`);
  return Object.freeze({ kind: 'literal', value: p });
}

const STAR: Segment = Object.freeze({ kind: 'star' });
const DOUBLE_STAR: Segment = Object.freeze({ kind: 'double-star' });

// ---------------------------------------------------------------------------------------------

interface Entry<T> {
  readonly value: T;
  readonly variables: readonly VariableSpan[];
}

/** A node of the route trie. Its maps are made when first written: most nodes use one of them, and a reload builds thousands. */
interface TrieNode<T> {
  literals: Map<string, TrieNode<T>> | undefined;
  star: TrieNode<T> | undefined;
  /** Routes ending in `**`, by verb then method. */
  rest: Map<string, Map<string, Entry<T>>> | undefined;
  /** Routes ending exactly here, by verb then method. */
  ends: Map<string, Map<string, Entry<T>>> | undefined;
}

function newNode<T>(): TrieNode<T> {
  return { literals: undefined, star: undefined, rest: undefined, ends: undefined };
}

export type RouteLookup<T> =
  | { readonly kind: 'found'; readonly value: T; readonly params: Record<string, string> }
  | { readonly kind: 'method-not-allowed'; readonly allowed: readonly string[] }
  | { readonly kind: 'not-found' };

export interface Router<T> {
  match(method: string, path: string): RouteLookup<T>;
}

export interface RouterEntry<T> {
  readonly method: string;
  /** A template, as text or already parsed (route configs carry it parsed). */
  readonly template: string | CompiledTemplate;
  readonly value: T;
}

/**
 * Builds a router; throws TemplateError for a bad template or for a second entry with the same
 * method and template key (callers that know where routes were written check `templateKey` first).
 */
export function createRouter<T>(entries: readonly RouterEntry<T>[]): Router<T> {
  const root = newNode<T>();
  const taken = new Map<string, string>();
  for (const e of entries) {
    const t = typeof e.template === 'string' ? parseTemplate(e.template) : e.template;
    const key = `${e.method} ${templateKey(t)}`;
    const prior = taken.get(key);
    if (prior !== undefined) throw new TemplateError(t.text, `duplicates "${prior}" for ${e.method} (a duplicate route)`);
    taken.set(key, t.text);
    let node = root;
    let rest = false;
    for (let i = 0; i < t.segments.length; i++) {
      const seg = t.segments[i]!;
      if (seg.kind === 'literal') {
        const literals = (node.literals ??= new Map<string, TrieNode<T>>());
        let next = literals.get(seg.value);
        if (!next) literals.set(seg.value, (next = newNode()));
        node = next;
      } else if (seg.kind === 'star') {
        node = node.star ??= newNode();
      } else {
        rest = true;
        break;
      }
    }
    const table = rest ? (node.rest ??= new Map<string, Map<string, Entry<T>>>()) : (node.ends ??= new Map<string, Map<string, Entry<T>>>());
    let byMethod = table.get(t.verb);
    if (!byMethod) table.set(t.verb, (byMethod = new Map<string, Entry<T>>()));
    byMethod.set(e.method, { value: e.value, variables: t.variables });
  }

  return {
    match(method: string, path: string): RouteLookup<T> {
      const segments = splitPath(path);
      if (segments === undefined) return NOT_FOUND;
      const last = segments[segments.length - 1] ?? '';
      const colon = last.lastIndexOf(':');
      let allowed: string[] | undefined;
      if (colon > 0) {
        const withoutVerb = [...segments.slice(0, -1), last.slice(0, colon)];
        const r = walk(root, withoutVerb, 0, last.slice(colon + 1), method);
        if (r.kind === 'found') return r;
        if (r.kind === 'method-not-allowed') allowed = [...r.allowed];
      }
      const r = walk(root, segments, 0, '', method);
      if (r.kind === 'found') return r;
      if (r.kind === 'method-not-allowed') return r;
      return allowed ? { kind: 'method-not-allowed', allowed } : NOT_FOUND;
    },
  };
}

const NOT_FOUND: RouteLookup<never> = Object.freeze({ kind: 'not-found' });

function splitPath(path: string): string[] | undefined {
  if (!path.startsWith('/')) return undefined;
  return path.length === 1 ? [''] : path.slice(1).split('/');
}

function walk<T>(node: TrieNode<T>, segs: readonly string[], i: number, verb: string, method: string): RouteLookup<T> {
  let notAllowed: RouteLookup<T> | undefined;
  if (i === segs.length || (segs.length === 1 && segs[0] === '' && i === 0)) {
    const r = pick(node.ends?.get(verb), segs, method);
    if (r.kind === 'found') return r;
    if (r.kind === 'method-not-allowed') notAllowed = r;
  } else {
    const seg = segs[i]!;
    if (seg !== '') {
      const lit = node.literals?.get(seg);
      if (lit) {
        const r = walk(lit, segs, i + 1, verb, method);
        if (r.kind === 'found') return r;
        if (r.kind === 'method-not-allowed') notAllowed ??= r;
      }
      if (node.star) {
        const r = walk(node.star, segs, i + 1, verb, method);
        if (r.kind === 'found') return r;
        if (r.kind === 'method-not-allowed') notAllowed ??= r;
      }
    }
  }
  const rest = node.rest?.get(verb);
  if (rest) {
    const r = pick(rest, segs, method);
    if (r.kind === 'found') return r;
    if (r.kind === 'method-not-allowed') notAllowed ??= r;
  }
  return notAllowed ?? NOT_FOUND;
}

function pick<T>(byMethod: Map<string, Entry<T>> | undefined, segs: readonly string[], method: string): RouteLookup<T> {
  if (!byMethod) return NOT_FOUND;
  const entry = byMethod.get(method);
  if (!entry) return { kind: 'method-not-allowed', allowed: [...byMethod.keys()] };
  const params: Record<string, string> = {};
  for (const v of entry.variables) {
    const end = v.end < 0 ? segs.length : v.end;
    params[v.name] = v.end === v.start + 1 ? decodeSegment(segs[v.start]!) : segs.slice(v.start, end).map(decodeSegment).join('/');
  }
  return { kind: 'found', value: entry.value, params };
}

function decodeSegment(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
