import { FerryError, formatLocation, type SourceLocation } from '../errors/index.js';
import { TemplateError } from '../router/index.js';
import type { KeySources } from './types.js';

/** One mistake in a mapping file (or a .proto it names): where it is and one plain sentence about it. */
export interface ConfigProblem {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

/**
 * Thrown when a mapping folder cannot be loaded or bound (FERRY_CONFIG_INVALID); carries every
 * problem found, each with its place. `file`, `line` and `col` are those of the first problem.
 */
export class ConfigError extends FerryError {
  readonly problems: readonly ConfigProblem[];
  readonly file: string;
  readonly line: number;
  readonly col: number;

  constructor(problems: readonly ConfigProblem[]) {
    if (problems.length === 0) throw new TypeError('a ConfigError needs at least one problem');
    super('FERRY_CONFIG_INVALID', problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
    const first = problems[0]!;
    this.file = first.file;
    this.line = first.line;
    this.col = first.col;
  }
}

export function formatProblem(p: ConfigProblem): string {
  return `${formatLocation(p)}: ${p.message}`;
}

/** A ConfigError for one problem at a known source location. */
export function configErrorAt(source: SourceLocation, message: string): ConfigError {
  return new ConfigError([{ file: source.file, line: source.line, col: source.col, message }]);
}

/** Where `key` of a service or route was written, or the item itself when the key is absent. */
export function keySource(item: { readonly source: SourceLocation; readonly keySources: KeySources }, key: string): SourceLocation {
  return item.keySources[key] ?? item.source;
}

/**
 * The problems an error thrown while compiling or binding stands for: a ConfigError's own, a
 * TemplateError at its place (else at `fallback`), anything else as one problem at `fallback`
 * prefixed with `context` (e.g. `route "x": `).
 */
export function problemsOf(err: unknown, fallback: SourceLocation, context = ''): ConfigProblem[] {
  if (err instanceof ConfigError) return [...err.problems];
  if (err instanceof TemplateError) {
    const at =
      err.file !== undefined && err.line !== undefined && err.col !== undefined ? { file: err.file, line: err.line, col: err.col } : fallback;
    return [{ ...at, message: `${context}path template "${err.template}" ${err.reason}` }];
  }
  const message = err instanceof Error ? err.message : String(err);
  return [{ file: fallback.file, line: fallback.line, col: fallback.col, message: `${context}${message}` }];
}
