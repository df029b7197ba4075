/**
 * Path-template routing with google.api.http syntax: literal segments, `*`, `**`, variables
 * `{field}` / `{field.sub=pattern/*}` and a trailing `:verb`. Templates compile into a segment trie
 * once; matching walks it with literals before wildcards and never backtracks more than needed.
 */

export class TemplateError extends Error {
  constructor(template: string, reason: string) {
    super(`path template "${template}" ${reason}`);
    this.name = 'TemplateError';
  }
}

type Segment = { kind: 'literal'; value: string } | { kind: 'star' } | { kind: 'double-star' };

interface VariableSpan {
  readonly name: string;
  readonly start: number;
  /** Exclusive end segment index; -1 means "to the end of the path" (a `**` inside the variable). */
  readonly end: number;
}

export interface CompiledTemplate {
  readonly segments: readonly Segment[];
  readonly variables: readonly VariableSpan[];
  readonly verb: string;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** Parses a path template; throws TemplateError with a plain reason when it is malformed. */
export function parseTemplate(template: string): CompiledTemplate {
  if (!template.startsWith('/')) throw new TemplateError(template, 'must start with "/"');
  let body = template.slice(1);
  let verb = '';
  // A verb is a ":" after the last "/" that is not inside a variable.
  const lastSlash = body.lastIndexOf('/');
  const lastBrace = body.lastIndexOf('}');
  const colon = body.lastIndexOf(':');
  if (colon > lastSlash && colon > lastBrace) {
    verb = body.slice(colon + 1);
    body = body.slice(0, colon);
    if (verb === '') throw new TemplateError(template, 'has an empty ":verb"');
  }
  const segments: Segment[] = [];
  const variables: VariableSpan[] = [];
  const parts = body === '' ? [] : splitOutsideBraces(body, template);
  for (const part of parts) {
    if (part.startsWith('{')) {
      if (!part.endsWith('}')) throw new TemplateError(template, `has a malformed variable "${part}"`);
      const inner = part.slice(1, -1);
      const eq = inner.indexOf('=');
      const name = eq < 0 ? inner : inner.slice(0, eq);
      if (!IDENT.test(name)) throw new TemplateError(template, `has a variable with an invalid name "${name}"`);
      if (variables.some((v) => v.name === name)) throw new TemplateError(template, `binds variable "${name}" twice`);
      const pattern = eq < 0 ? ['*'] : inner.slice(eq + 1).split('/');
      const start = segments.length;
      for (const p of pattern) segments.push(patternSegment(p, template));
      const end = segments[segments.length - 1]!.kind === 'double-star' ? -1 : segments.length;
      variables.push({ name, start, end });
    } else {
      segments.push(patternSegment(part, template));
    }
  }
  const dstar = segments.findIndex((s) => s.kind === 'double-star');
  if (dstar >= 0 && dstar !== segments.length - 1) throw new TemplateError(template, 'may use "**" only as its last segment');
  return { segments, variables, verb };
}

function splitOutsideBraces(body: string, template: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of body) {
    if (ch === '{') depth++;
    if (ch === '}') depth--;
    if (depth < 0 || depth > 1) throw new TemplateError(template, 'has unbalanced braces');
    if (ch === '/' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (depth !== 0) throw new TemplateError(template, 'has unbalanced braces');
  parts.push(current);
  return parts;
}

function patternSegment(p: string, template: string): Segment {
  if (p === '*') return { kind: 'star' };
  if (p === '**') return { kind: 'double-star' };
  if (p === '') throw new TemplateError(template, 'has an empty segment ("//")');
  if (/[{}*]/.test(p)) throw new TemplateError(template, `has an invalid segment "${p}"`);
  return { kind: 'literal', value: p };
}

// ---------------------------------------------------------------------------------------------

interface Entry<T> {
  readonly value: T;
  readonly variables: readonly VariableSpan[];
}

interface TrieNode<T> {
  readonly literals: Map<string, TrieNode<T>>;
  star: TrieNode<T> | undefined;
  /** Routes ending in `**`, by verb then method. */
  readonly rest: Map<string, Map<string, Entry<T>>>;
  /** Routes ending exactly here, by verb then method. */
  readonly ends: Map<string, Map<string, Entry<T>>>;
}

function newNode<T>(): TrieNode<T> {
  return { literals: new Map(), star: undefined, rest: new Map(), ends: new Map() };
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
  readonly template: string;
  readonly value: T;
}

/** Builds a router; throws TemplateError for a bad template and Error for a duplicate method+template. */
export function createRouter<T>(entries: readonly RouterEntry<T>[]): Router<T> {
  const root = newNode<T>();
  for (const e of entries) {
    const t = parseTemplate(e.template);
    let node = root;
    let table = node.ends;
    for (let i = 0; i < t.segments.length; i++) {
      const seg = t.segments[i]!;
      if (seg.kind === 'literal') {
        let next = node.literals.get(seg.value);
        if (!next) node.literals.set(seg.value, (next = newNode()));
        node = next;
      } else if (seg.kind === 'star') {
        node = node.star ??= newNode();
      } else {
        table = node.rest;
        break;
      }
      table = node.ends;
    }
    let byMethod = table.get(t.verb);
    if (!byMethod) table.set(t.verb, (byMethod = new Map()));
    if (byMethod.has(e.method)) throw new Error(`duplicate route ${e.method} ${e.template}`);
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
    const r = pick(node.ends.get(verb), segs, method);
    if (r.kind === 'found') return r;
    if (r.kind === 'method-not-allowed') notAllowed = r;
  } else {
    const seg = segs[i]!;
    if (seg !== '') {
      const lit = node.literals.get(seg);
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
  const rest = node.rest.get(verb);
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
