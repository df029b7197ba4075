/**
 * `ferry import` and `ferry validate --against`: reads a service's signature from an API jar (or a
 * folder of classes) or from a ZooKeeper registry's metadata report, writes a mapping for it, or
 * checks a loaded mapping against it. The file handling lives here (the pure parts are in
 * codec/classfile and codec/service-signature): the output is written atomically (a temporary file
 * renamed into place), and an existing file is never overwritten: the fresh import goes to
 * `<file>.new` (not `.yaml`, so a mapping folder never loads it) and what changed is reported.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { SignatureSourceError } from '../errors/index.js';
import { ConfigError, type ConfigProblem } from '../config/errors.js';
import type { FerryConfig, RegistryAccess } from '../config/types.js';
import { readClassFile, type ClassInfo } from '../codec/classfile/class-file.js';
import { ZipArchive } from '../codec/classfile/zip.js';
import { signatureFromClasses, type ClassSource } from '../codec/service-signature/from-classes.js';
import { signatureFromDefinition } from '../codec/service-signature/from-definition.js';
import type { ServiceSignature } from '../codec/service-signature/model.js';
import { mappingYaml } from '../codec/service-signature/to-mapping.js';
import { signatureChanges } from '../codec/service-signature/diff.js';
import { checkAgainstProvider, type ExportedService } from '../codec/service-signature/check.js';
import { readZooKeeperService } from '../upstream/service-definitions.js';
import { readNacosService } from '../upstream/nacos-service-definitions.js';

/** Largest jar read into memory. */
export const MAX_JAR_BYTES = 512 * 1024 * 1024;
/** Largest single class file read from a folder. */
const MAX_CLASS_FILE_BYTES = 4 * 1024 * 1024;

/** Class files from a jar or a folder, each parsed once. JDK classes are never looked up. */
export function openClassSource(file: string): ClassSource {
  let stat;
  try {
    stat = statSync(file);
  } catch (err) {
    throw new SignatureSourceError(`${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const cache = new Map<string, ClassInfo | undefined>();
  let read: (entry: string) => Buffer | undefined;
  if (stat.isDirectory()) {
    read = (entry) => {
      const full = path.join(file, entry);
      if (!existsSync(full)) return undefined;
      const size = statSync(full).size;
      if (size > MAX_CLASS_FILE_BYTES) throw new SignatureSourceError(`${full} is ${size} bytes, over the budget of ${MAX_CLASS_FILE_BYTES}`);
      return readFileSync(full);
    };
  } else {
    if (stat.size > MAX_JAR_BYTES) throw new SignatureSourceError(`${file} is ${stat.size} bytes, over the budget of ${MAX_JAR_BYTES}`);
    const zip = new ZipArchive(readFileSync(file), file);
    read = (entry) => zip.read(entry);
  }
  return {
    where: file,
    load(name) {
      // Only Java binary names become paths: a class file naming `../x` reads nothing outside the jar or folder.
      if (name.startsWith('java.') || name.startsWith('javax.') || !/^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$/.test(name)) return undefined;
      if (cache.has(name)) return cache.get(name);
      const entry = `${name.replaceAll('.', '/')}.class`;
      const bytes = read(entry);
      const info = bytes === undefined ? undefined : readClassFile(bytes, `${file}!${entry}`);
      if (info !== undefined && info.name !== name) throw new SignatureSourceError(`${file}!${entry} holds class ${info.name}, not ${name}`);
      cache.set(name, info);
      return info;
    },
  };
}

export interface SignatureQuery {
  readonly interface: string;
  readonly version?: string;
  readonly group?: string;
  /** TLS and credentials of a `zookeeper://` source (a service's `registry: { tls, username, password }`). */
  readonly registryAccess?: RegistryAccess;
}

export interface ResolvedSignature {
  readonly signature: ServiceSignature;
  /** What the registry says is exported (undefined for a jar). */
  readonly exported?: readonly ExportedService[];
}

const isRegistry = (source: string): boolean => /^(?:zookeeper|nacos):\/\//.test(source);

/** The signature of one interface from `source`: a jar or class folder, `zookeeper://…` or `nacos://…`. */
export async function resolveSignature(source: string, q: SignatureQuery, classes?: ClassSource): Promise<ResolvedSignature> {
  if (isRegistry(source)) {
    const facts = source.startsWith('nacos:')
      ? await readNacosService(source, q.interface, q)
      : await readZooKeeperService(source, q.interface, q, undefined, q.registryAccess);
    if (facts.definition === undefined) {
      throw new SignatureSourceError(
        `${source}: no service definition of ${q.interface} at ${facts.where} (the provider publishes one when its registry doubles as metadata report, or a metadata-report is configured)`,
      );
    }
    return { signature: signatureFromDefinition(facts.definition, facts.where), exported: facts.exported };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source))
    throw new SignatureSourceError(`${source}: only zookeeper:// and nacos:// registries, jars and class folders are read`);
  return { signature: signatureFromClasses(classes ?? openClassSource(source), q.interface) };
}

/** Writes `text` to `file` through a temporary file in the same folder and a rename: never half a file. */
export function writeFileAtomically(file: string, text: string | Uint8Array): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    const fd = openSync(tmp, 'wx');
    try {
      if (typeof text === 'string') writeSync(fd, text);
      else writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** `[group/]interface[:version]`, Dubbo's service key, as `--interface` takes it. */
export function parseServiceKey(text: string): SignatureQuery {
  const m = /^(?:([^/:\s]+)\/)?([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)(?::([^/:\s]+))?$/.exec(text.trim());
  if (m === null) throw new SignatureSourceError(`"${text}" is not an interface name ([group/]com.example.Service[:version])`);
  return { interface: m[2]!, ...(m[3] !== undefined ? { version: m[3] } : {}), ...(m[1] !== undefined ? { group: m[1] } : {}) };
}

export interface ImportOptions {
  readonly source: string;
  /** The interfaces to import (one service each, in one file). */
  readonly services: readonly SignatureQuery[];
  /** Output file; the mapping goes to stdout when absent. */
  readonly out?: string;
  readonly endpoints?: readonly string[];
}

export interface ImportResult {
  readonly text: string;
  readonly signatures: readonly ServiceSignature[];
  /** Where the mapping was written (the out file, or `<out>.new` when it existed). */
  readonly written?: string;
  /** What changed since the existing out file (only when it existed). */
  readonly changes?: readonly string[];
}

export async function runImport(opts: ImportOptions): Promise<ImportResult> {
  if (opts.services.length === 0) throw new SignatureSourceError('no interface to import');
  const classes = isRegistry(opts.source) ? undefined : openClassSource(opts.source);
  const imported = [];
  for (const q of opts.services) imported.push({ ...q, signature: (await resolveSignature(opts.source, q, classes)).signature });
  const signatures = imported.map((i) => i.signature);
  const text = mappingYaml(imported, {
    ...(isRegistry(opts.source) ? { registry: opts.source } : { endpoints: opts.endpoints ?? ['127.0.0.1:20880'] }),
    generatedFrom: isRegistry(opts.source) ? signatures.map((s) => s.source).join(', ') : path.basename(opts.source),
  });
  if (opts.out === undefined) return { text, signatures };
  if (!existsSync(opts.out)) {
    writeFileAtomically(opts.out, text);
    return { text, signatures, written: opts.out };
  }
  let existing: unknown;
  try {
    existing = parseYaml(readFileSync(opts.out, 'utf8'));
  } catch (err) {
    throw new SignatureSourceError(`${opts.out} exists and is not YAML (${(err as Error).message}); it was left as it is`);
  }
  const changes = [...new Set(signatures.flatMap((s) => signatureChanges(existing, s)))];
  const fresh = `${opts.out}.new`;
  writeFileAtomically(fresh, text);
  return { text, signatures, written: fresh, changes };
}

/**
 * Checks a loaded config against `against` (a jar or class folder for every Dubbo service; a
 * `zookeeper://` registry, also for exported versions and groups). Throws ConfigError with every
 * mismatch; returns how many routes were checked.
 */
export async function checkConfigAgainst(config: FerryConfig, against: string): Promise<number> {
  const sigs = new Map<string, ResolvedSignature | undefined>();
  const classes = isRegistry(against) ? undefined : openClassSource(against);
  for (const svc of config.services.values()) {
    if (svc.protocol !== 'dubbo' || sigs.has(svc.interface)) continue;
    try {
      sigs.set(svc.interface, await resolveSignature(against, svc, classes));
    } catch (err) {
      // A jar without this interface describes another service: nothing to check it against.
      if (classes !== undefined && err instanceof SignatureSourceError && err.message.includes('holds no class')) sigs.set(svc.interface, undefined);
      else throw err;
    }
  }
  const problems = checkAgainstProvider(config, {
    signature: (i) => sigs.get(i)?.signature,
    exported: (i) => sigs.get(i)?.exported,
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return config.routes.filter((r) => r.protocol === 'dubbo' && sigs.get(config.services.get(r.serviceName)?.interface ?? '') !== undefined).length;
}

/**
 * The run-time check (`ferry serve --check-signatures`): each Dubbo service whose `registry:` is
 * ZooKeeper is checked against the service definition in that registry's metadata report. Resolves
 * with the problems (file:line:col and message); a service whose definition cannot be read is one
 * problem at the service, naming why. Never throws.
 */
export async function checkRegistryServices(config: FerryConfig): Promise<ConfigProblem[]> {
  const sigs = new Map<string, ResolvedSignature>();
  const problems: ConfigProblem[] = [];
  for (const svc of config.services.values()) {
    if (svc.protocol !== 'dubbo' || svc.registry === undefined || !isRegistry(svc.registry)) continue;
    try {
      sigs.set(svc.name, await resolveSignature(svc.registry, svc));
    } catch (err) {
      problems.push({
        ...svc.source,
        message: `service "${svc.name}": cannot check its routes: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  }
  // Facts by interface, from the first service of each interface that could be read.
  const byInterface = new Map<string, ResolvedSignature>();
  for (const [name, r] of sigs) {
    const i = config.services.get(name)!.interface;
    if (!byInterface.has(i)) byInterface.set(i, r);
  }
  const checked: FerryConfig = {
    ...config,
    services: new Map([...config.services].filter(([name]) => sigs.has(name))),
  };
  problems.push(...checkAgainstProvider(checked, { signature: (i) => byInterface.get(i)?.signature, exported: (i) => byInterface.get(i)?.exported }));
  return problems;
}
