/**
 * Errors of the JSON → message direction: the walkers throw JsonMappingError carrying the JSON path
 * below the value they were given; the public entry points turn it into FERRY_BAD_ARGUMENT naming
 * where in the request the value came from.
 */
import { isLosslessNumber } from 'lossless-json';
import { FerryError } from '../../errors/index.js';

/** Where in a request a JSON value came from, for 400 messages. */
export interface JsonSource {
  /** `body`, `query.x`, `path.x` … (goes into the problem's `argument`). */
  readonly argument: string;
  /** JSON path prefix, `$` for a body. */
  readonly jsonPath: string;
}

/** Thrown inside the walkers; carries the JSON path so the caller can build a FerryError. */
class JsonMappingError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

export function fail(path: string, message: string): never {
  throw new JsonMappingError(path, message);
}

/** A JSON value as a 400 message names it. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (isLosslessNumber(v)) return `the number ${v.value}`;
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return `${typeof v} ${String(v)}`;
}

/** A JSON object (not null, not an array, not a lossless number). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isLosslessNumber(v);
}

/** Rethrows a JsonMappingError as FERRY_BAD_ARGUMENT for `source`; anything else unchanged. */
export function rethrowAsBadArgument(err: unknown, source: JsonSource): never {
  if (err instanceof JsonMappingError) {
    const jsonPath = source.jsonPath + err.path;
    throw new FerryError('FERRY_BAD_ARGUMENT', `${source.argument} ${jsonPath}: ${err.message}`, {
      argument: source.argument,
      jsonPath,
    });
  }
  throw err;
}
