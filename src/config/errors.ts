import type { SourceLocation } from './types.js';

/** One mistake in a mapping file: where it is and one plain sentence about it. */
export interface ConfigProblem {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

/** Thrown when a mapping folder cannot be loaded; carries every problem found, each with its place. */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.message}`;
}

/** A ConfigError for one problem at a known source location. */
export function configErrorAt(source: SourceLocation, message: string): ConfigError {
  return new ConfigError([{ file: source.file, line: source.line, col: source.col, message }]);
}
