/**
 * Scalar and enum values in both directions: JSON (numbers, lossless numbers, strings) → draft
 * values with the ranges and forms the proto3 JSON mapping allows, and decoded values → JSON.
 */
import type { Enum } from 'protobufjs';
import { isLosslessNumber } from 'lossless-json';
import { longFromBigInt, longText, type DraftValue } from './draft.js';
import { describe, fail } from './mapping-error.js';

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;
const UINT32_MAX = 2n ** 32n - 1n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

// ---------------------------------------------------------------- JSON → draft value

/** Exact integer from a JSON number, lossless number or integer string. */
function integerOf(v: unknown, path: string, allowString: boolean): bigint {
  let text: string;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) fail(path, `expected an integer, got ${describe(v)}`);
    return BigInt(v);
  } else if (isLosslessNumber(v)) {
    text = v.value;
  } else if (typeof v === 'string' && allowString) {
    if (!/^-?\d+$/.test(v)) fail(path, `expected an integer, got ${describe(v)}`);
    return BigInt(v);
  } else {
    return fail(path, `expected an integer, got ${describe(v)}`);
  }
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (m === null) return fail(path, `expected an integer, got ${describe(v)}`);
  let digits = m[2]! + (m[3] ?? '');
  let exp = Number(m[4] ?? '0') - (m[3]?.length ?? 0);
  if (exp < 0) {
    const cut = digits.slice(digits.length + exp);
    if (!/^0*$/.test(cut)) fail(path, `expected an integer, got ${describe(v)}`);
    digits = digits.slice(0, digits.length + exp) || '0';
    exp = 0;
  }
  if (exp > 40) fail(path, `integer out of range: ${text}`);
  const n = BigInt(digits) * 10n ** BigInt(exp);
  return m[1] === '-' ? -n : n;
}

/** A double or float from a JSON number, lossless number, numeric string or NaN/±Infinity. */
export function floatOf(v: unknown, path: string, isFloat: boolean): number {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (isLosslessNumber(v)) n = Number(v.value);
  else if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    if (!/^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v)) fail(path, `expected a number, got ${describe(v)}`);
    n = Number(v);
  } else return fail(path, `expected a number, got ${describe(v)}`);
  if (!Number.isFinite(n)) fail(path, `number out of range for ${isFloat ? 'float' : 'double'}`);
  // Accept anything that rounds to a finite float32 (FLT_MAX itself prints as 3.4028235e38).
  if (isFloat && !Number.isFinite(Math.fround(n))) fail(path, 'number out of range for float');
  return n;
}

function bytesOf(v: unknown, path: string): Uint8Array {
  if (typeof v !== 'string') return fail(path, `expected base64 bytes, got ${describe(v)}`);
  if (!/^[A-Za-z0-9+/\-_]*={0,2}$/.test(v) || v.replace(/=+$/, '').length % 4 === 1) {
    fail(path, 'expected base64 bytes (standard or URL-safe alphabet)');
  }
  return Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** An enum number from its value name or number (unknown numbers are kept, as proto3 does). */
export function enumOf(e: Enum, v: unknown, path: string): number {
  if (typeof v === 'string') {
    // own names only: not "constructor" or "toString" from Object.prototype
    const n = Object.hasOwn(e.values, v) ? e.values[v] : undefined;
    if (n === undefined) fail(path, `unknown value ${JSON.stringify(v)} for enum ${e.name}`);
    return n;
  }
  const n = integerOf(v, path, false);
  if (n < INT32_MIN || n > INT32_MAX) fail(path, `enum number out of range: ${n}`);
  return Number(n);
}

/** A scalar field's draft value; `kind` is the protobufjs scalar type name. */
export function scalarOf(kind: string, v: unknown, path: string): DraftValue {
  switch (kind) {
    case 'int32':
    case 'sint32':
    case 'sfixed32': {
      const n = integerOf(v, path, true);
      if (n < INT32_MIN || n > INT32_MAX) fail(path, `value out of range for ${kind}: ${n}`);
      return Number(n);
    }
    case 'uint32':
    case 'fixed32': {
      const n = integerOf(v, path, true);
      if (n < 0n || n > UINT32_MAX) fail(path, `value out of range for ${kind}: ${n}`);
      return Number(n);
    }
    case 'int64':
    case 'sint64':
    case 'sfixed64': {
      const n = integerOf(v, path, true);
      if (n < INT64_MIN || n > INT64_MAX) fail(path, `value out of range for ${kind}: ${n}`);
      return longFromBigInt(n, false);
    }
    case 'uint64':
    case 'fixed64': {
      const n = integerOf(v, path, true);
      if (n < 0n || n > UINT64_MAX) fail(path, `value out of range for ${kind}: ${n}`);
      return longFromBigInt(n, true);
    }
    case 'double':
      return floatOf(v, path, false);
    case 'float':
      return floatOf(v, path, true);
    case 'bool':
      if (typeof v !== 'boolean') fail(path, `expected true or false, got ${describe(v)}`);
      return v;
    case 'string':
      if (typeof v !== 'string') fail(path, `expected a string, got ${describe(v)}`);
      return protoString(v, path);
    case 'bytes':
      return bytesOf(v, path);
    default:
      return fail(path, `unsupported field type ${kind}`);
  }
}

/** A UTF-16 code unit of a surrogate pair with no partner (the `u` flag matches whole pairs as one code point). */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * A protobuf string must be valid UTF-8, so a lone surrogate (JSON allows `"\ud800"`) is refused
 * here, as Python's json_format refuses it: protobufjs would write it as bytes no peer accepts.
 */
export function protoString(v: string, path: string): string {
  if (LONE_SURROGATE.test(v))
    fail(path, 'the string holds a lone surrogate (\\uD800–\\uDFFF with no partner), which protobuf strings (UTF-8) cannot carry');
  return v;
}

/** A map key (always a JSON object key, so a string) as the draft value of its key type. */
export function mapKeyOf(kind: string, key: string, path: string): DraftValue {
  switch (kind) {
    case 'string':
      return protoString(key, path);
    case 'bool':
      if (key !== 'true' && key !== 'false') fail(path, `map key must be "true" or "false", got ${JSON.stringify(key)}`);
      return key === 'true';
    default:
      if (!/^-?\d+$/.test(key)) fail(path, `map key must be an integer, got ${JSON.stringify(key)}`);
      return scalarOf(kind, key, path);
  }
}

/** A scalar from a path or query parameter (bool also takes 1 and 0). */
export function stringScalar(kind: string, text: string, path: string): DraftValue {
  if (kind === 'bool') {
    if (text === 'true' || text === '1') return true;
    if (text === 'false' || text === '0') return false;
    return fail(path, `expected true or false, got ${JSON.stringify(text)}`);
  }
  return scalarOf(kind, text, path);
}

// ---------------------------------------------------------------- decoded value → JSON

export function floatJson(v: number, isFloat: boolean): number | string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (isFloat && v !== 0) {
    // Shortest form with at least 6 significant digits that reads back as the same float32
    // (the form protobuf's Python and C++ printers use).
    for (let p = 6; p <= 9; p++) {
      const s = Number(v.toPrecision(p));
      if (Math.fround(s) === v) return s;
    }
  }
  return v;
}

/** JSON of a decoded scalar: 64-bit integers as decimal strings, bytes as base64, NaN/±Infinity as strings. */
export function scalarJson(kind: string, v: unknown): unknown {
  switch (kind) {
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return longText(v, false);
    case 'uint64':
    case 'fixed64':
      return longText(v, true);
    case 'double':
      return floatJson(v as number, false);
    case 'float':
      return floatJson(v as number, true);
    case 'bytes':
      return Buffer.from(v as Uint8Array).toString('base64');
    default:
      return v;
  }
}
