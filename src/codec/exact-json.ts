/**
 * JSON text → values with every number kept as its exact text (lossless-json's LosslessNumber),
 * the same values lossless-json's `parse` gives, at about a third of its cost: V8's `JSON.parse`
 * builds the tree, one scan of the text collects the number tokens in order, and a walk of the
 * tree puts each token back in place of the double `JSON.parse` made of it.
 *
 * The walk meets the values in the order of the text only where nothing reorders them, so every
 * text where that could fail goes to lossless-json itself, which then gives its own value or its
 * own error: a key that repeats (JSON.parse keeps the last value where lossless-json refuses),
 * an integer-like key (V8 lists those first), `__proto__`, and any text `JSON.parse` refuses (so
 * that the error message is lossless-json's, as before). Equivalence: test/codec/exact-json.test.ts.
 */
import { LosslessNumber, parse as parseLossless } from 'lossless-json';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

/** Parses JSON text as lossless-json's `parse(text)` does (same values, same errors). */
export function parseExactJson(text: string): unknown {
  let tree: unknown;
  try {
    tree = JSON.parse(text);
  } catch {
    return parseLossless(text); // throws lossless-json's SyntaxError (or parses what V8 would not)
  }
  if (typeof tree !== 'object' || tree === null) {
    return typeof tree === 'number' ? new LosslessNumber(text.trim()) : tree;
  }
  const tokens = numberTokens(text);
  if (tokens === undefined) return parseLossless(text);
  const walk = { tokens: tokens.numbers, next: 0, keys: 0 };
  if (!restore(tree, walk) || walk.next !== tokens.numbers.length || walk.keys !== tokens.keys) return parseLossless(text);
  return tree;
}

/**
 * The number tokens of valid JSON text in order, and how many keys its objects have (a key is a
 * string followed by a colon). Undefined for a key that could reorder the tree's walk: one made
 * of digits only, or `__proto__` (its value is an own property either way, but the walk below
 * would call the setter).
 */
function numberTokens(text: string): { numbers: string[]; keys: number } | undefined {
  const numbers: string[] = [];
  let keys = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i + 1;
      // The closing quote: the next one not escaped (an odd run of backslashes before it).
      let end = text.indexOf('"', start);
      while (text.charCodeAt(end - 1) === BACKSLASH && oddBackslashesBefore(text, end)) end = text.indexOf('"', end + 1);
      i = end;
      // A key: the next non-blank character is a colon.
      let j = end + 1;
      while (text.charCodeAt(j) <= 0x20) j++;
      if (text.charCodeAt(j) === COLON) {
        keys++;
        if (reordersWalk(text, start, end)) return undefined;
      }
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      const start = i;
      while (i + 1 < n) {
        const d = text.charCodeAt(i + 1);
        // Digits, '.', 'e', 'E', '+', '-': the rest of a number (JSON.parse checked its syntax).
        if ((d >= ZERO && d <= NINE) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === MINUS) i++;
        else break;
      }
      numbers.push(text.slice(start, i + 1));
    }
  }
  return { numbers, keys };
}

function oddBackslashesBefore(text: string, at: number): boolean {
  let k = at - 1;
  while (text.charCodeAt(k) === BACKSLASH) k--;
  return (at - 1 - k) % 2 === 1;
}

/** A key made of digits only (V8 lists those first), `__proto__`, or one with escapes (which could spell either). */
function reordersWalk(text: string, start: number, end: number): boolean {
  if (end - start === 9 && text.startsWith('__proto__', start)) return true;
  let digitsOnly = end > start;
  for (let k = start; k < end; k++) {
    const s = text.charCodeAt(k);
    if (s === BACKSLASH) return true;
    if (s < ZERO || s > NINE) digitsOnly = false;
  }
  return digitsOnly;
}

interface Walk {
  readonly tokens: readonly string[];
  next: number;
  keys: number;
}

/** Replaces the numbers of a JSON.parse tree with the tokens, in the order the text has them; false when they run out. */
function restore(node: object, walk: Walk): boolean {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const v: unknown = node[i];
      if (typeof v === 'number') {
        const token = walk.tokens[walk.next++];
        if (token === undefined) return false;
        node[i] = new LosslessNumber(token);
      } else if (typeof v === 'object' && v !== null && !restore(v, walk)) return false;
    }
    return true;
  }
  const record = node as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    walk.keys++;
    const v = record[key];
    if (typeof v === 'number') {
      const token = walk.tokens[walk.next++];
      if (token === undefined) return false;
      record[key] = new LosslessNumber(token);
    } else if (typeof v === 'object' && v !== null && !restore(v, walk)) return false;
  }
  return true;
}
