/**
 * `ferry serve ... --workers N` for the bench, until the CLI takes the flag itself: the primary
 * forks N workers with src/cluster.ts, and each worker runs the ordinary CLI (without the flag).
 *
 *   node --import tsx bench/ferry-cluster.ts serve --mappings DIR --port P --workers 2
 */
import cluster from 'node:cluster';
import { parseWorkers, startClusterPrimary } from '../src/cluster.js';

const at = process.argv.indexOf('--workers');
const workers = parseWorkers(at >= 0 ? process.argv[at + 1] : undefined);
if (at >= 0) process.argv.splice(at, 2);
if (cluster.isPrimary && workers > 1) {
  const primary = startClusterPrimary({ workers });
  primary.done.then((code) => process.exit(code));
} else {
  await import('../src/cli.js');
}
