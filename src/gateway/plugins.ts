/**
 * The plugin hook API: the one mechanism for gateway policies. A plugin is a module whose default
 * export is a {@link FerryPlugin}; a mapping names it (`plugins: { name: { file } }`) and turns it on
 * per route or for every route (`policies: { name: options }`). The built-in policies (jwt, api-key,
 * rate-limit, cors) are plugins of the same shape. Per route, the engine runs the chain's hooks
 * around the upstream call; a hook that throws or outlives its budget fails that request only
 * (500 FERRY_PLUGIN_FAILED / FERRY_PLUGIN_TIMEOUT), is counted, and never reaches another request.
 */
import { stat } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { ConfigError, type ConfigProblem } from '../config/errors.js';
import type { FerryConfig, PolicyUse, RouteConfig, SourceLocation } from '../config/types.js';
import { FerryError, type ErrorCode } from '../errors/index.js';
import type { FrontendKind, GatewayRequest, GatewayResponse } from '../exchange/index.js';

/** What a hook sees of one request. A context belongs to one request of one route. */
export interface PolicyContext {
  readonly routeId: string;
  readonly request: GatewayRequest;
  /** Path variables of the matched route. */
  readonly params: Readonly<Record<string, string>>;
  /** True for a CORS preflight (OPTIONS naming the route's method): only plugins with `preflight: true` see it. */
  readonly preflight: boolean;
  /**
   * Verified claims (set by an authentication policy); `from: claim.X` in the mapping reads them.
   * Later policies (rate limits keyed on `claim.sub`) read them too.
   */
  claims: Readonly<Record<string, unknown>> | undefined;
  /** Headers added to the reply, whatever it is (success, problem, or a reply a hook gave). */
  readonly responseHeaders: Record<string, string>;
  /** Ends the request with a problem+json reply carrying `code` (and the headers set so far). */
  reject(code: ErrorCode, message: string): never;
}

/** A hook may answer the request itself by returning a reply; returning nothing lets it go on. */
export type HookReply = GatewayResponse | undefined | void;

/** The hooks of one plugin on one route (what `create` returns). All are optional. */
export interface PolicyHooks {
  /** The request was received and matched to this route (before its body is mapped). */
  onRequest?(ctx: PolicyContext): HookReply | Promise<HookReply>;
  /** Right before the upstream call (after every plugin's onRequest). */
  beforeUpstream?(ctx: PolicyContext): HookReply | Promise<HookReply>;
  /** After a successful upstream reply; may return a replacement. Runs in reverse chain order. */
  afterUpstream?(ctx: PolicyContext, response: GatewayResponse): HookReply | Promise<HookReply>;
  /** After the call or the mapping failed with a coded error; may return a reply instead of the problem. */
  onError?(ctx: PolicyContext, error: FerryError): HookReply | Promise<HookReply>;
}

/** What a route tells a plugin when the plugin is created for it. */
export interface PolicyRoute {
  readonly id: string;
  readonly method: string;
  readonly path: string;
}

/** A plugin module's default export. */
export interface FerryPlugin<Options = unknown> {
  /** JSON Schema (2020-12) of the options; a mapping's options are checked against it, with file:line problems. */
  readonly optionsSchema?: object;
  /** Longest one hook may take, ms (default {@link DEFAULT_HOOK_BUDGET_MS}). A synchronous loop cannot be cut short. */
  readonly budgetMs?: number;
  /** Whether the plugin sees CORS preflights (the cors policy does; authentication must not). */
  readonly preflight?: boolean;
  /** Builds the hooks for one route, once per config load. Throwing is a config problem at the route's `policies:`. */
  create(options: Options, route: PolicyRoute): PolicyHooks;
  /** Releases what `create` opened (connections, timers) when the config that built it is replaced or Ferry stops. */
  close?(): void | Promise<void>;
}

/** Closes every plugin of a catalog that has something to close; a failing close is ignored (it is going away). */
export async function closePlugins(catalog: PluginCatalog): Promise<void> {
  await Promise.all([...catalog.values()].map(async (p) => p.close?.()).map((p) => p.catch(() => {})));
}

/** Types a plugin's definition (no runtime effect). */
export function definePlugin<Options>(plugin: FerryPlugin<Options>): FerryPlugin<Options> {
  return plugin;
}

export const DEFAULT_HOOK_BUDGET_MS = 1000;

/** One plugin's hooks bound to one route, with what the engine needs to run and account them. */
export interface BoundPolicy {
  readonly name: string;
  readonly hooks: PolicyHooks;
  readonly budgetMs: number;
  readonly preflight: boolean;
  /** The front ends it runs on (`frontends:` in its options; default both). */
  readonly frontends: ReadonlySet<FrontendKind>;
}

const ALL_FRONTENDS: ReadonlySet<FrontendKind> = new Set(['http', 'ext-proc']);

/**
 * `frontends:` is Ferry's, not the plugin's: taken out of the options before the plugin sees them.
 * (The mapping schema has checked its values already.)
 */
function splitFrontends(options: unknown): { options: unknown; frontends: ReadonlySet<FrontendKind> } {
  if (options === null || typeof options !== 'object' || Array.isArray(options) || !Object.hasOwn(options, 'frontends')) {
    return { options, frontends: ALL_FRONTENDS };
  }
  const { frontends, ...rest } = options as { frontends: FrontendKind[] };
  return { options: rest, frontends: new Set(frontends) };
}

/** Plugins by the name mappings use (built-ins plus the modules a mapping declares). */
export type PluginCatalog = ReadonlyMap<string, FerryPlugin>;

/** Told about each hook that threw or timed out (metric `ferry_plugin_failures_total`, and the log). */
export type PluginFailureObserver = (plugin: string, routeId: string, reason: 'threw' | 'timeout', message: string) => void;

/**
 * Imports the plugin modules a config declares (a changed file is imported anew: its mtime is in
 * the URL, so a mapping reload picks it up) and returns them with the built-ins. Throws ConfigError
 * with the declaration's place for a module that cannot be loaded or is not a plugin.
 */
export async function loadPlugins(config: FerryConfig, builtins: PluginCatalog): Promise<PluginCatalog> {
  const out = new Map(builtins);
  const problems: ConfigProblem[] = [];
  for (const decl of config.plugins?.values() ?? []) {
    const at = (message: string): void => void problems.push({ ...decl.source, message: `plugin "${decl.name}": ${message}` });
    if (builtins.has(decl.name)) {
      at(`"${decl.name}" is a built-in policy; give the plugin another name`);
      continue;
    }
    let mod: { default?: unknown };
    try {
      const { mtimeMs } = await stat(decl.file);
      mod = (await import(`${pathToFileURL(decl.file).href}?mtime=${mtimeMs}`)) as { default?: unknown };
    } catch (err) {
      at(`cannot load ${decl.file}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      continue;
    }
    const plugin = mod.default as Partial<FerryPlugin> | undefined;
    if (plugin === null || typeof plugin !== 'object' || typeof plugin.create !== 'function') {
      at(`${decl.file} has no default export with a create(options, route) function`);
      continue;
    }
    if (plugin.budgetMs !== undefined && !(Number.isInteger(plugin.budgetMs) && plugin.budgetMs > 0 && plugin.budgetMs <= 60_000)) {
      at(`budgetMs must be a whole number of milliseconds from 1 to 60000`);
      continue;
    }
    out.set(decl.name, plugin as FerryPlugin);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}

const validators = new WeakMap<object, ValidateFunction>();
const ajv = new Ajv2020({ allErrors: true, strict: false });

function optionsValidator(schema: object): ValidateFunction {
  let v = validators.get(schema);
  if (v === undefined) {
    v = ajv.compile(schema);
    validators.set(schema, v);
  }
  return v;
}

function describe(e: ErrorObject): string {
  const where = e.instancePath === '' ? 'options' : `options${e.instancePath.replace(/\//g, '.')}`;
  if (e.keyword === 'additionalProperties')
    return `${where} has an unknown key "${String((e.params as { additionalProperty: string }).additionalProperty)}"`;
  return `${where} ${e.message ?? 'is invalid'}`;
}

/**
 * The chain of one route: the global policies, overridden by name by the route's own (`false` turns
 * one off), in the order written. Checks each plugin's options with its schema and creates its hooks.
 * Problems go to `problems` with the place the policy was named.
 */
export function bindPolicies(
  route: RouteConfig,
  globals: readonly PolicyUse[],
  catalog: PluginCatalog,
  problems: ConfigProblem[],
): readonly BoundPolicy[] {
  const uses = new Map<string, PolicyUse>();
  for (const u of globals) uses.set(u.name, u);
  for (const u of route.policies ?? []) uses.set(u.name, u);
  const chain: BoundPolicy[] = [];
  for (const use of uses.values()) {
    if (use.options === false) continue;
    const at = (source: SourceLocation, message: string): void =>
      void problems.push({ ...source, message: `route "${route.id}": policy "${use.name}": ${message}` });
    const plugin = catalog.get(use.name);
    if (plugin === undefined) {
      at(use.source, `no built-in policy or declared plugin has this name (known: ${[...catalog.keys()].join(', ')})`);
      continue;
    }
    const { options, frontends } = splitFrontends(use.options === true ? {} : use.options);
    if (plugin.optionsSchema !== undefined) {
      const validate = optionsValidator(plugin.optionsSchema);
      if (!validate(options)) {
        for (const e of validate.errors ?? []) at(use.source, describe(e));
        continue;
      }
    }
    try {
      const hooks = plugin.create(options, { id: route.id, method: route.method, path: route.path });
      chain.push({ name: use.name, hooks, budgetMs: plugin.budgetMs ?? DEFAULT_HOOK_BUDGET_MS, preflight: plugin.preflight === true, frontends });
    } catch (err) {
      at(use.source, err instanceof Error ? err.message : String(err));
    }
  }
  return chain;
}

/** Marks an error a hook raised on purpose through ctx.reject (a reply, not a plugin failure). */
const REJECTION = Symbol('ferry.policy.rejection');

export function newPolicyContext(req: GatewayRequest, routeId: string, params: Readonly<Record<string, string>>, preflight: boolean): PolicyContext {
  return {
    routeId,
    request: req,
    params,
    preflight,
    claims: undefined,
    responseHeaders: {},
    reject(code: ErrorCode, message: string): never {
      const err = new FerryError(code, message);
      (err as unknown as Record<symbol, boolean>)[REJECTION] = true;
      throw err;
    },
  };
}

/**
 * Runs one hook within its budget. A rejection (ctx.reject) passes as it is; anything else a hook
 * throws, or a hook still pending at its budget, becomes FERRY_PLUGIN_FAILED / FERRY_PLUGIN_TIMEOUT
 * and is reported. A synchronous hook costs no timer or promise.
 */
export async function runHook(
  policy: BoundPolicy,
  routeId: string,
  call: () => HookReply | Promise<HookReply>,
  onFailure: PluginFailureObserver | undefined,
): Promise<HookReply> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const r = call();
    if (!(r instanceof Promise)) return r;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PluginTimeout()), policy.budgetMs);
    });
    return await Promise.race([r, timeout]);
  } catch (err) {
    if (err instanceof FerryError && (err as unknown as Record<symbol, boolean>)[REJECTION] === true) throw err;
    if (err instanceof PluginTimeout) {
      onFailure?.(policy.name, routeId, 'timeout', `took longer than its budget of ${policy.budgetMs} ms`);
      throw new FerryError('FERRY_PLUGIN_TIMEOUT', `plugin "${policy.name}" did not finish within ${policy.budgetMs} ms`);
    }
    const message = err instanceof Error ? err.message : String(err);
    onFailure?.(policy.name, routeId, 'threw', message);
    throw new FerryError('FERRY_PLUGIN_FAILED', `plugin "${policy.name}" failed: ${message}`, { cause: err });
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

class PluginTimeout extends Error {}
