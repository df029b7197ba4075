/**
 * docs/mapping-reference.md names every key the mapping schema allows: the test walks
 * src/config/schema.json (properties at every depth, through $defs, items, oneOf) and fails for a
 * key the page never mentions as `key`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

type Schema = { [k: string]: unknown };

/** Every property name of the schema, wherever it is declared. */
function schemaKeys(node: unknown, into = new Set<string>()): Set<string> {
  if (node === null || typeof node !== 'object') return into;
  if (Array.isArray(node)) {
    for (const n of node) schemaKeys(n, into);
    return into;
  }
  const o = node as Schema;
  if (o['properties'] !== null && typeof o['properties'] === 'object') {
    for (const [k, v] of Object.entries(o['properties'] as Schema)) {
      into.add(k);
      schemaKeys(v, into);
    }
  }
  for (const [k, v] of Object.entries(o)) if (k !== 'properties') schemaKeys(v, into);
  return into;
}

const schema = JSON.parse(readFileSync(new URL('../../src/config/schema.json', import.meta.url), 'utf8')) as unknown;
const reference = readFileSync(new URL('../../docs/mapping-reference.md', import.meta.url), 'utf8');

test('every key of the mapping schema is described in docs/mapping-reference.md', () => {
  const keys = [...schemaKeys(schema)].sort();
  assert.ok(keys.length > 40, `the walk finds the schema's keys (found ${keys.length})`);
  const missing = keys.filter((k) => !reference.includes(`\`${k}\``));
  assert.deepEqual(missing, [], 'keys the reference does not mention');
});

test('the check can fail: a key added to a copy of the schema is reported (input: services.*.colour)', () => {
  const copy = JSON.parse(JSON.stringify(schema)) as { $defs: { dubboService: { properties: Record<string, unknown> } } };
  copy.$defs.dubboService.properties['colour'] = { type: 'string' };
  const missing = [...schemaKeys(copy)].filter((k) => !reference.includes(`\`${k}\``));
  assert.deepEqual(missing, ['colour']);
});
