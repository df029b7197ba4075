/**
 * What changed between an existing mapping file (as parsed YAML, perhaps edited by hand) and a
 * fresh signature of its service: methods added or gone, types added or gone, fields added, gone or
 * retyped, enum constants changed. `ferry import` prints it instead of touching the file.
 */
import type { ServiceSignature } from './model.js';

type Plain = Record<string, unknown>;
const asRecord = (v: unknown): Plain => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Plain) : {});

export function signatureChanges(existing: unknown, sig: ServiceSignature): string[] {
  const doc = asRecord(existing);
  const services = asRecord(doc['services']);
  const keys = Object.entries(services)
    .filter(([, s]) => asRecord(s)['interface'] === sig.interface)
    .map(([k]) => k);
  const routes = Array.isArray(doc['routes']) ? (doc['routes'] as unknown[]).map(asRecord) : [];
  const called = new Map<string, string[]>();
  for (const r of routes) {
    const call = typeof r['call'] === 'string' ? r['call'] : '';
    const dot = call.indexOf('.');
    if (dot < 0 || !keys.includes(call.slice(0, dot))) continue;
    const method = call.slice(dot + 1);
    called.set(method, [...(called.get(method) ?? []), typeof r['id'] === 'string' ? r['id'] : typeof r['http'] === 'string' ? r['http'] : '?']);
  }
  const out: string[] = [];
  if (keys.length === 0) out.push(`the file has no service with interface ${sig.interface}`);
  const now = new Set(sig.methods.map((m) => m.name));
  for (const m of [...now].sort()) if (!called.has(m)) out.push(`method added: ${m} (no route calls it yet)`);
  for (const [m, ids] of [...called].sort()) if (!now.has(m)) out.push(`method removed: ${m} (routes ${ids.join(', ')} still call it)`);

  const types = asRecord(doc['types']);
  for (const [name, t] of sig.types) {
    const old = types[name];
    if (old === undefined) {
      out.push(`type added: ${name}`);
      continue;
    }
    const o = asRecord(old);
    if (t.kind === 'enum') {
      const before = Array.isArray(o['enum']) ? (o['enum'] as unknown[]).map(String) : [];
      const added = t.constants.filter((c) => !before.includes(c));
      const gone = before.filter((c) => !t.constants.includes(c));
      if (added.length > 0) out.push(`enum ${name}: constants added: ${added.join(', ')}`);
      if (gone.length > 0) out.push(`enum ${name}: constants removed: ${gone.join(', ')}`);
      if (o['enum'] === undefined) out.push(`type ${name} is now an enum`);
      continue;
    }
    if (o['fields'] === undefined) {
      out.push(`type ${name} is now a POJO`);
      continue;
    }
    const before = asRecord(o['fields']);
    for (const f of t.fields) {
      const was = before[f.name];
      if (was === undefined) out.push(`type ${name}: field added: ${f.name}: ${f.type}`);
      else if (String(was).replace(/\s+/g, '') !== f.type) out.push(`type ${name}: field ${f.name} changed: ${String(was)} → ${f.type}`);
    }
    for (const f of Object.keys(before)) if (!t.fields.some((x) => x.name === f)) out.push(`type ${name}: field removed: ${f}`);
  }
  return out;
}
