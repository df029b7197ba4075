/**
 * A ServiceSignature from class files (an API jar or a folder of classes): the interface's public
 * methods (and those of its super-interfaces found in the same classes) with their generic types,
 * parameter names from `MethodParameters` when javac wrote them (-parameters), and every POJO and
 * enum those types reach: POJO fields are the non-static, non-transient fields of the class and its
 * superclasses (superclass fields first, as Hessian writes them), enum constants in declared order.
 * A field typed by a class's own type variable (`T items`) becomes its bound (`Object` for none):
 * the mapping names classes, not generic instantiations.
 */
import { SignatureSourceError } from '../../errors/index.js';
import {
  ACC_BRIDGE,
  ACC_ENUM,
  ACC_INTERFACE,
  ACC_PUBLIC,
  ACC_STATIC,
  ACC_SYNTHETIC,
  ACC_TRANSIENT,
  type ClassInfo,
} from '../classfile/class-file.js';
import { parseClassTypeParameters, parseFieldType, parseMethodType, type JvmType } from '../classfile/signature.js';
import {
  typeText,
  UnsupportedTypeError,
  withoutUnsendable,
  type ExceptionSignature,
  type MethodSignature,
  type ParamSignature,
  type ServiceSignature,
  type SkippedMethod,
  type TypeSignature,
  type TypeTerm,
} from './model.js';

/** Class files by binary name (`com.example.bank.Account`); undefined when the classes do not hold it. */
export interface ClassSource {
  readonly where: string;
  load(binaryName: string): ClassInfo | undefined;
}

/** Most POJO and enum classes one import follows (a budget for huge or hostile class graphs). */
export const MAX_IMPORTED_TYPES = 5000;

type Vars = ReadonlyMap<string, JvmType | undefined>;

/** A JDK class Ferry has no mapping type for, or a class the classes do not hold. */
function whyUnsupported(typeName: string, where: string, reason = 'has no mapping type yet'): string {
  if (reason !== 'has no mapping type yet') return `${typeName}, which ${reason}`;
  return typeName.startsWith('java.') || typeName.startsWith('javax.') || typeName.includes(' ')
    ? `${typeName}, which has no mapping type yet`
    : `${typeName}, which ${where} does not hold (import from a jar or folder that has it too)`;
}

function toTerm(t: JvmType, vars: Vars, depth = 0): TypeTerm {
  switch (t.kind) {
    case 'primitive':
      return t;
    case 'array':
      return { kind: 'array', elem: toTerm(t.elem, vars, depth + 1) };
    case 'class':
      return { kind: 'class', name: t.name, args: t.args.map((a) => toTerm(a, vars, depth + 1)) };
    case 'variable': {
      const bound = vars.get(t.name);
      // A bound that names a variable again (T extends U) is not followed: Object.
      return bound !== undefined && bound.kind === 'class' && depth < 8
        ? toTerm(bound, new Map(), depth + 1)
        : { kind: 'class', name: 'java.lang.Object', args: [] };
    }
    case 'wildcard':
      return t.bound === undefined ? { kind: 'class', name: 'java.lang.Object', args: [] } : toTerm(t.bound, vars, depth + 1);
  }
}

interface LoadedType {
  readonly sig?: TypeSignature;
  readonly error?: string;
  /** Domain classes the type's fields name. */
  readonly refs: readonly string[];
}

export function signatureFromClasses(classes: ClassSource, interfaceName: string): ServiceSignature {
  const root = classes.load(interfaceName);
  if (root === undefined) throw new SignatureSourceError(`${classes.where} holds no class ${interfaceName}`);
  if ((root.access & ACC_INTERFACE) === 0) throw new SignatureSourceError(`${interfaceName} in ${classes.where} is a class, not an interface`);

  const loaded = new Map<string, LoadedType>();
  // Any class the classes hold that is not a JDK class counts as the service's own.
  const isDomain = (name: string): boolean => classes.load(name) !== undefined;

  const textOf = (t: JvmType, vars: Vars, refs: Set<string>): string =>
    typeText(toTerm(t, vars), (name) => {
      if (!isDomain(name)) return false;
      refs.add(name);
      return true;
    });

  const loadType = (name: string): LoadedType => {
    const hit = loaded.get(name);
    if (hit !== undefined) return hit;
    if (loaded.size >= MAX_IMPORTED_TYPES)
      throw new SignatureSourceError(`${classes.where}: over ${MAX_IMPORTED_TYPES} types reachable from ${interfaceName}`);
    const cls = classes.load(name)!;
    const refs = new Set<string>();
    let result: LoadedType;
    try {
      if ((cls.access & ACC_ENUM) !== 0 && cls.superName === 'java.lang.Enum') {
        const constants = cls.fields.filter((f) => (f.access & ACC_ENUM) !== 0).map((f) => f.name);
        result = { sig: { kind: 'enum', name, constants }, refs: [] };
      } else {
        if ((cls.access & ACC_INTERFACE) !== 0) throw new UnsupportedTypeError(`${name} (an interface: Hessian needs a concrete class)`);
        const chain: ClassInfo[] = [];
        for (let c: ClassInfo | undefined = cls; c !== undefined;) {
          chain.unshift(c);
          if (chain.length > 64) throw new SignatureSourceError(`${classes.where}: the superclasses of ${name} go deeper than 64`);
          const sup = c.superName;
          if (sup === undefined || sup === 'java.lang.Object') break;
          const next = classes.load(sup);
          if (next === undefined) throw new SignatureSourceError(`${name} extends ${sup}, which ${classes.where} does not hold`);
          c = next;
        }
        const fields: ParamSignature[] = [];
        for (const c of chain) {
          const vars = c.signature !== undefined ? parseClassTypeParameters(c.signature, `${c.name}`) : new Map<string, JvmType | undefined>();
          for (const f of c.fields) {
            if ((f.access & (ACC_STATIC | ACC_TRANSIENT | ACC_SYNTHETIC)) !== 0) continue;
            const t = parseFieldType(f.signature ?? f.descriptor, `${c.name}.${f.name}`);
            fields.push({ name: f.name, type: textOf(t, vars, refs) });
          }
        }
        result = { sig: { kind: 'pojo', name, fields }, refs: [...refs] };
      }
    } catch (err) {
      if (!(err instanceof UnsupportedTypeError)) throw err;
      result = { error: `${name} has a field of type ${whyUnsupported(err.typeName, classes.where, err.reason)}`, refs: [] };
    }
    loaded.set(name, result);
    return result;
  };

  /** Every domain type `start` reaches, or the first reason one of them cannot be mapped. */
  const closure = (start: Iterable<string>): { names: string[] } | { error: string } => {
    const seen = new Set<string>();
    const queue = [...start];
    while (queue.length > 0) {
      const n = queue.shift()!;
      if (seen.has(n)) continue;
      seen.add(n);
      const t = loadType(n);
      if (t.error !== undefined) return { error: t.error };
      queue.push(...t.refs);
    }
    return { names: [...seen] };
  };

  /**
   * A declared exception the classes hold, with the non-static, non-transient fields of it and its
   * superclasses down to the first JDK class (Throwable's own fields are not the service's).
   */
  const exceptionOf = (name: string): ExceptionSignature[] => {
    const chain: ClassInfo[] = [];
    for (let c = classes.load(name); c !== undefined && chain.length < 64; c = c.superName === undefined ? undefined : classes.load(c.superName))
      chain.unshift(c);
    if (chain.length === 0) return [];
    const fields = chain.flatMap((c) => c.fields.filter((f) => (f.access & (ACC_STATIC | ACC_TRANSIENT | ACC_SYNTHETIC)) === 0).map((f) => f.name));
    return [{ name, fields }];
  };

  // The interface's methods, then those of its super-interfaces in the classes (an override wins).
  const methods: MethodSignature[] = [];
  const skipped: SkippedMethod[] = [];
  const used = new Set<string>();
  const seenDescriptors = new Set<string>();
  const visitInterface = (cls: ClassInfo, depth: number): void => {
    for (const m of cls.methods) {
      if ((m.access & ACC_PUBLIC) === 0 || (m.access & (ACC_STATIC | ACC_SYNTHETIC | ACC_BRIDGE)) !== 0 || m.name.startsWith('<')) continue;
      const erased = parseMethodType(m.descriptor, `${cls.name}.${m.name}`);
      const descriptor = m.descriptor.slice(1, m.descriptor.indexOf(')'));
      const key = `${m.name}(${descriptor})`;
      if (seenDescriptors.has(key)) continue;
      seenDescriptors.add(key);
      const generic = m.signature !== undefined ? parseMethodType(m.signature, `${cls.name}.${m.name}`) : erased;
      // A generic signature may leave out synthetic parameters; trust it only when the counts agree.
      const typed = generic.params.length === erased.params.length ? generic : erased;
      const names = m.parameterNames;
      const namesKnown = names !== undefined && names.length === typed.params.length && names.every((n) => n !== undefined);
      const refs = new Set<string>();
      try {
        const params = typed.params.map((p, i) => ({
          name: namesKnown ? names[i]! : `arg${i}`,
          type: textOf(p, typed.typeParameters, refs),
        }));
        const returns = typed.returns === undefined ? undefined : textOf(typed.returns, typed.typeParameters, refs);
        const reach = closure(refs);
        if ('error' in reach) {
          skipped.push({ method: key, why: reach.error });
          continue;
        }
        for (const n of reach.names) used.add(n);
        const exceptions = m.exceptions.flatMap((e) => exceptionOf(e));
        methods.push({
          name: m.name,
          params,
          ...(returns !== undefined ? { returns } : {}),
          descriptor,
          namesKnown,
          ...(exceptions.length > 0 ? { exceptions } : {}),
        });
      } catch (err) {
        if (!(err instanceof UnsupportedTypeError)) throw err;
        skipped.push({ method: key, why: `uses ${whyUnsupported(err.typeName, classes.where, err.reason)}` });
      }
    }
    if (depth > 32) return;
    for (const sup of cls.interfaces) {
      const s = classes.load(sup);
      if (s !== undefined) visitInterface(s, depth + 1);
    }
  };
  visitInterface(root, 0);

  const types = new Map<string, TypeSignature>();
  for (const n of [...used].sort()) types.set(n, loaded.get(n)!.sig!);
  return withoutUnsendable({ interface: interfaceName, source: classes.where, methods, types, skipped });
}
