/**
 * Parses JVM field descriptors (`J`, `[Ljava/lang/String;`) and generic signatures (JVMS 4.7.9.1:
 * `Ljava/util/List<Lcom/x/Account;>;`, `<T:Ljava/lang/Object;>(TT;)Ljava/util/Map<TK;+TV;>;`) into
 * one small type tree. Generic nesting is bounded (a hostile signature cannot recurse without end).
 */
import { SignatureSourceError } from '../../errors/index.js';

export type JvmType =
  | { readonly kind: 'primitive'; readonly name: 'boolean' | 'byte' | 'char' | 'short' | 'int' | 'long' | 'float' | 'double' }
  | { readonly kind: 'class'; readonly name: string; readonly args: readonly JvmType[] }
  | { readonly kind: 'array'; readonly elem: JvmType }
  | { readonly kind: 'variable'; readonly name: string }
  /** `*`, `+X` (extends), `-X` (super); `bound` is undefined for `*` and `-X`. */
  | { readonly kind: 'wildcard'; readonly bound?: JvmType };

export interface MethodType {
  readonly params: readonly JvmType[];
  /** undefined for void. */
  readonly returns?: JvmType;
}

/** Deepest nesting of type arguments and arrays a signature may have. */
export const MAX_GENERIC_DEPTH = 32;

const PRIMS: Record<string, JvmType> = {
  Z: { kind: 'primitive', name: 'boolean' },
  B: { kind: 'primitive', name: 'byte' },
  C: { kind: 'primitive', name: 'char' },
  S: { kind: 'primitive', name: 'short' },
  I: { kind: 'primitive', name: 'int' },
  J: { kind: 'primitive', name: 'long' },
  F: { kind: 'primitive', name: 'float' },
  D: { kind: 'primitive', name: 'double' },
};

class Cursor {
  pos = 0;
  constructor(
    readonly text: string,
    readonly where: string,
  ) {}
  fail(why: string): never {
    throw new SignatureSourceError(`${this.where}: malformed signature "${this.text.slice(0, 200)}" (${why} at ${this.pos + 1})`);
  }
  peek(): string {
    return this.text[this.pos] ?? '';
  }
  take(ch: string): void {
    if (this.text[this.pos] !== ch) this.fail(`expected "${ch}"`);
    this.pos++;
  }
  identifier(stops: string): string {
    const start = this.pos;
    while (this.pos < this.text.length && !stops.includes(this.text[this.pos]!)) this.pos++;
    if (this.pos === start) this.fail('expected a name');
    return this.text.slice(start, this.pos);
  }
}

function parseType(c: Cursor, depth: number): JvmType {
  if (depth > MAX_GENERIC_DEPTH) c.fail(`nested deeper than ${MAX_GENERIC_DEPTH}`);
  const ch = c.peek();
  const prim = PRIMS[ch];
  if (prim !== undefined) {
    c.pos++;
    return prim;
  }
  if (ch === '[') {
    c.pos++;
    return { kind: 'array', elem: parseType(c, depth + 1) };
  }
  if (ch === 'T') {
    c.pos++;
    const name = c.identifier(';');
    c.take(';');
    return { kind: 'variable', name };
  }
  if (ch === 'L') {
    c.pos++;
    let name = c.identifier('<.;');
    let args: JvmType[] = [];
    for (;;) {
      if (c.peek() === '<') {
        c.pos++;
        args = [];
        while (c.peek() !== '>') {
          if (c.pos >= c.text.length) c.fail('unterminated type arguments');
          args.push(typeArgument(c, depth + 1));
        }
        c.pos++;
      }
      if (c.peek() === '.') {
        // An inner class of a generic outer class: Outer<T>.Inner is the class Outer$Inner.
        c.pos++;
        name += '$' + c.identifier('<.;');
        args = [];
        continue;
      }
      break;
    }
    c.take(';');
    return { kind: 'class', name: name.replaceAll('/', '.'), args };
  }
  return c.fail('expected a type');
}

function typeArgument(c: Cursor, depth: number): JvmType {
  const ch = c.peek();
  if (ch === '*') {
    c.pos++;
    return { kind: 'wildcard' };
  }
  if (ch === '+') {
    c.pos++;
    return { kind: 'wildcard', bound: parseType(c, depth) };
  }
  if (ch === '-') {
    c.pos++;
    parseType(c, depth);
    return { kind: 'wildcard' };
  }
  return parseType(c, depth);
}

/** Skips `<T:Ljava/lang/Object;U::Ljava/lang/Comparable<TU;>;>`, returning each variable's first bound. */
function typeParameters(c: Cursor): Map<string, JvmType | undefined> {
  const out = new Map<string, JvmType | undefined>();
  if (c.peek() !== '<') return out;
  c.pos++;
  while (c.peek() !== '>') {
    if (c.pos >= c.text.length) c.fail('unterminated type parameters');
    const name = c.identifier(':');
    let first: JvmType | undefined;
    while (c.peek() === ':') {
      c.pos++;
      if (c.peek() === ':') continue; // no class bound, an interface bound follows
      const bound = parseType(c, 1);
      first ??= bound;
    }
    out.set(name, first);
  }
  c.pos++;
  return out;
}

/** A field descriptor or field `Signature`. */
export function parseFieldType(text: string, where: string): JvmType {
  const c = new Cursor(text, where);
  const t = parseType(c, 0);
  if (c.pos !== text.length) c.fail('unexpected text after the type');
  return t;
}

/** A method descriptor or method `Signature` (type parameters and `^throws` are read and dropped). */
export function parseMethodType(text: string, where: string): MethodType & { readonly typeParameters: ReadonlyMap<string, JvmType | undefined> } {
  const c = new Cursor(text, where);
  const typeParams = typeParameters(c);
  c.take('(');
  const params: JvmType[] = [];
  while (c.peek() !== ')') {
    if (c.pos >= text.length) c.fail('unterminated parameter list');
    params.push(parseType(c, 0));
  }
  c.pos++;
  let returns: JvmType | undefined;
  if (c.peek() === 'V') c.pos++;
  else returns = parseType(c, 0);
  while (c.peek() === '^') {
    c.pos++;
    parseType(c, 0);
  }
  if (c.pos !== text.length) c.fail('unexpected text after the method type');
  return { params, ...(returns !== undefined ? { returns } : {}), typeParameters: typeParams };
}

/** A class `Signature`'s type parameters (`<T:Ljava/lang/Object;>Ljava/lang/Object;`), for fields typed by them. */
export function parseClassTypeParameters(text: string, where: string): ReadonlyMap<string, JvmType | undefined> {
  return typeParameters(new Cursor(text, where));
}
