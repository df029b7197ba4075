/**
 * `ferry validate --against`: checks each Dubbo route of a loaded config against what the provider
 * has (ServiceSignature): the method exists, one overload takes exactly the route's JVM parameter
 * descriptors, a declared `returns:` is what the method returns, each field a mapping declares for
 * a provider POJO exists with the same type, each declared enum constant exists, and (when the
 * source knows what is exported) the service's version and group are exported. Every mismatch is a
 * ConfigProblem at the mapping's file:line:col naming what the provider has instead.
 */
import { keySource, type ConfigProblem } from '../../config/errors.js';
import type { DubboService, FerryConfig, SourceLocation } from '../../config/types.js';
import { createJavaTypeParser, jvmDescriptor } from '../hessian/java-types.js';
import { descriptorOf, methodLabel, typeDefsOf, type ServiceSignature } from './model.js';

/** A service as exported: its version and group (undefined: none). */
export interface ExportedService {
  readonly version?: string;
  readonly group?: string;
}

export interface ProviderFacts {
  /** The signature of an interface, or undefined when the source does not describe it. */
  signature(interfaceName: string): ServiceSignature | undefined;
  /** What is exported of an interface; undefined when the source cannot tell (a jar). */
  exported?(interfaceName: string): readonly ExportedService[] | undefined;
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length]!;
}

function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dd = distance(name, c);
    if (dd < bestD) {
      best = c;
      bestD = dd;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

const at = (s: SourceLocation, message: string): ConfigProblem => ({ file: s.file, line: s.line, col: s.col, message });
const show = (v: string | undefined): string => (v === undefined || v === '' ? 'none' : v);

export function checkAgainstProvider(config: FerryConfig, facts: ProviderFacts): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const parser = createJavaTypeParser((n) => config.types.get(n));
  const checkedTypes = new Set<string>();

  for (const svc of config.services.values()) {
    if (svc.protocol !== 'dubbo') continue;
    const exported = facts.exported?.(svc.interface);
    if (exported !== undefined) checkExported(svc, exported, problems);
  }

  for (const route of config.routes) {
    if (route.protocol !== 'dubbo') continue;
    const svc = config.services.get(route.serviceName);
    if (svc === undefined || svc.protocol !== 'dubbo') continue;
    const sig = facts.signature(svc.interface);
    if (sig === undefined) continue;
    const where = `route "${route.id}"`;
    const overloads = sig.methods.filter((m) => m.name === route.rpcMethod);
    if (overloads.length === 0) {
      const guess = closest(route.rpcMethod, [...new Set(sig.methods.map((m) => m.name))]);
      const guessText =
        guess === undefined
          ? ''
          : `; did you mean ${sig.methods
              .filter((m) => m.name === guess)
              .map(methodLabel)
              .join(' or ')}?`;
      problems.push(at(keySource(route, 'call'), `${where}: ${svc.interface} (${sig.source}) has no method ${route.rpcMethod}${guessText}`));
      continue;
    }
    let descriptor: string;
    try {
      descriptor = route.args.map((a) => jvmDescriptor(parser.parse(a.type))).join('');
    } catch {
      continue; // the loader reports bad type text
    }
    const match = overloads.find((m) => m.descriptor === descriptor);
    if (match === undefined) {
      const sameArity = overloads.filter((m) => m.params.length === route.args.length);
      // Point at the first argument whose type differs from the overload of the same arity, if there is one.
      let place = keySource(route, 'args');
      if (sameArity.length === 1) {
        const m = sameArity[0]!;
        const defs = typeDefsOf(sig.types);
        const i = route.args.findIndex((a, k) => {
          try {
            return jvmDescriptor(parser.parse(a.type)) !== descriptorOf([m.params[k]!.type], defs);
          } catch {
            return true;
          }
        });
        if (i >= 0) place = route.args[i]!.source;
      }
      const given = `${route.rpcMethod}(${route.args.map((a) => a.type).join(', ')})`;
      problems.push(at(place, `${where}: ${svc.interface} has no ${given}; did you mean ${overloads.map(methodLabel).join(' or ')}?`));
      continue;
    }
    if (route.returns !== undefined) {
      const defs = typeDefsOf(sig.types);
      let same = true;
      try {
        same =
          match.returns !== undefined &&
          jvmDescriptor(parser.parse(route.returns)) === descriptorOf([match.returns], defs) &&
          route.returns.replace(/\s+/g, '').replace(/java\.util\.|java\.lang\./g, '') === match.returns.replace(/java\.util\.|java\.lang\./g, '');
      } catch {
        same = true; // the loader reports bad type text
      }
      if (!same) {
        problems.push(at(keySource(route, 'returns'), `${where}: ${methodLabel(match)} returns ${match.returns ?? 'void'}, not ${route.returns}`));
      }
    }
    // The declared POJOs and enums the route's types reach, against the provider's.
    for (const t of [...route.args.map((a) => a.type), ...(route.returns !== undefined ? [route.returns] : [])]) {
      for (const name of reachable(t, config)) {
        if (checkedTypes.has(name)) continue;
        checkedTypes.add(name);
        const mine = config.types.get(name);
        const theirs = sig.types.get(name);
        if (mine === undefined || theirs === undefined) continue;
        if (mine.kind === 'enum') {
          if (theirs.kind !== 'enum') {
            problems.push(at(mine.source, `type ${name} is a POJO at the provider, not an enum`));
            continue;
          }
          const extra = mine.constants.filter((c) => !theirs.constants.includes(c));
          if (extra.length > 0)
            problems.push(at(mine.source, `enum ${name}: the provider has no ${extra.join(', ')} (it has ${theirs.constants.join(', ')})`));
          continue;
        }
        if (theirs.kind !== 'pojo') {
          problems.push(at(mine.source, `type ${name} is an enum at the provider, not a POJO`));
          continue;
        }
        for (const f of mine.fields) {
          const other = theirs.fields.find((x) => x.name === f.name);
          if (other === undefined) {
            const guess = closest(
              f.name,
              theirs.fields.map((x) => x.name),
            );
            problems.push(
              at(f.source, `type ${name} has no field ${f.name} at the provider${guess === undefined ? '' : `; did you mean ${guess}?`}`),
            );
          } else if (f.type.replace(/\s+/g, '').replace(/java\.util\.|java\.lang\./g, '') !== other.type.replace(/java\.util\.|java\.lang\./g, '')) {
            problems.push(at(f.source, `type ${name}: field ${f.name} is ${other.type} at the provider, not ${f.type}`));
          }
        }
      }
    }
  }
  return problems;
}

function checkExported(svc: DubboService, exported: readonly ExportedService[], problems: ConfigProblem[]): void {
  const ok = exported.some((e) => show(e.version) === show(svc.version) && show(e.group) === show(svc.group));
  if (ok) return;
  const has = exported.map((e) => `version ${show(e.version)}, group ${show(e.group)}`);
  const place = svc.version !== undefined ? keySource(svc, 'version') : svc.group !== undefined ? keySource(svc, 'group') : svc.source;
  problems.push(
    at(
      place,
      exported.length === 0
        ? `service "${svc.name}": no provider exports ${svc.interface}`
        : `service "${svc.name}": ${svc.interface} is exported with ${has.join('; ')}, not version ${show(svc.version)}, group ${show(svc.group)}`,
    ),
  );
}

/** Declared type names a type text reaches through the config's POJO fields. */
function reachable(text: string, config: FerryConfig): string[] {
  const out: string[] = [];
  const queue = text.split(/[<>,[\]\s]+/).filter((n) => config.types.has(n));
  while (queue.length > 0) {
    const n = queue.shift()!;
    if (out.includes(n)) continue;
    out.push(n);
    const t = config.types.get(n)!;
    if (t.kind === 'pojo') for (const f of t.fields) queue.push(...f.type.split(/[<>,[\]\s]+/).filter((x) => config.types.has(x)));
  }
  return out;
}
