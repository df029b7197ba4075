/**
 * The validated, frozen model of a mapping folder (format v1). The loader turns YAML into these
 * records; nothing downstream reads YAML or re-validates. Services and routes are discriminated by
 * `protocol`: narrow on it and the protocol's own fields are there, with no cross-protocol optionals.
 */
import type { SourceLocation } from '../errors/index.js';
import type { CompiledTemplate } from '../router/index.js';

export type { SourceLocation };

export type Protocol = 'dubbo' | 'grpc' | 'triple';
export type BalanceKind = 'round-robin' | 'least-pending' | 'consistent-hash';

export interface StickyConfig {
  /** Cookie name for signed-cookie stickiness. */
  readonly cookie?: string;
  /** Request value to hash on (`header.x`, `query.x`, `cookie.x`) for hash stickiness. */
  readonly hashOn?: string;
  /** Cookie lifetime in seconds (session cookie when absent). */
  readonly maxAgeSeconds?: number;
}

/** Where each key of a YAML map was written (the key itself), for errors found after loading. */
export type KeySources = Readonly<Record<string, SourceLocation>>;

/** Default for `retries:` (extra attempts after a failure the retry policy allows; the schema allows 0 to 10). */
export const DEFAULT_RETRIES = 1;

/**
 * TLS to a service's endpoints, read from the files the mapping names when the config loads (a
 * reload re-reads them). `context` is what node:tls takes, so any transport (grpc-js channels,
 * node:http2, tls.connect) can use it as it is.
 */
export interface UpstreamTls {
  /** CA bundle (absent: Node's public roots), client certificate and key (mTLS). */
  readonly context: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
  /** SNI and the name the certificate must carry (absent: the endpoint's host). */
  readonly servername?: string;
  /** The files and a digest of their bytes: a reload keeps a service's connections while this is unchanged. */
  readonly identity: string;
}

/**
 * How Ferry reaches a registry beyond its URL (`registry: { url, tls, username, password }`): TLS
 * (ZooKeeper's secure client port) and credentials (ZooKeeper digest, Nacos login), the secrets
 * read from the mapping, a file or the environment. Never logged: `identity` names it without them.
 */
export interface RegistryAccess {
  readonly tls?: UpstreamTls;
  readonly username?: string;
  readonly password?: string;
  /** TLS files and a hash of the credentials: a reload keeps the registry's clients while this is unchanged. */
  readonly identity: string;
}

/** One entry of `registries:`: a registry, the cluster it stands for, and its priority (lower is preferred). */
export interface RegistryCluster {
  readonly cluster: string;
  readonly registry: string;
  readonly access?: RegistryAccess;
  readonly priority: number;
}

/**
 * Tag routing (`canary:`), Dubbo's TagRouter rule: each request gets a tag (from `tagFrom`, else from
 * the `split`, else none) and goes to the endpoints whose `label` holds it.
 */
export interface CanaryConfig {
  /** The endpoint label holding the tag (default `dubbo.tag`). */
  readonly label: string;
  /** Request sources naming the tag (`header.x`, `cookie.x`, `claim.x`, `query.x`); the first present wins. */
  readonly tagFrom: readonly string[];
  /** A requested tag no endpoint carries → no endpoint (503), instead of the untagged ones. */
  readonly force: boolean;
  /** Shares for requests that name no tag; `tag` undefined = the untagged endpoints. */
  readonly split?: ReadonlyArray<{ readonly tag: string | undefined; readonly weight: number }>;
  /** Request value hashed for the split (absent: a random draw per request). */
  readonly splitOn?: string;
  /** Where `canary:` was written. */
  readonly source: SourceLocation;
}

/** What every service has, whatever its protocol: where providers are and how calls reach them. */
interface ServiceBase {
  readonly name: string;
  /**
   * The name providers are registered under (`/dubbo/<interface>/providers`). Dubbo: the Java
   * interface FQCN. gRPC / Triple: `interface:` when given, else the proto service name.
   */
  readonly interface: string;
  /** Service version and group: a registry filter; Dubbo sends them in the request, Triple as metadata. */
  readonly version?: string;
  readonly group?: string;
  /** Static endpoints, `host:port` (empty when `registry` is set). */
  readonly endpoints: readonly string[];
  /** Labels of static endpoints written as `{ address, labels }`, by `host:port` as written. */
  readonly endpointLabels?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Tag routing for every route of the service (a route may replace or turn it off). */
  readonly canary?: CanaryConfig;
  /** Registry URL, e.g. `zookeeper://127.0.0.1:2181`. */
  readonly registry?: string;
  /** TLS and credentials for `registry` (`registry: { url, tls, username, password }`). */
  readonly registryAccess?: RegistryAccess;
  /** Several registries (`registries:`), each a cluster with a priority; set instead of `registry`. */
  readonly registries?: readonly RegistryCluster[];
  readonly timeoutMs: number;
  /** Whether `timeout:` was written; when not, routes without one use the providers' declared `timeout`. */
  readonly timeoutSet: boolean;
  /** Connections (Dubbo) or channels (gRPC, Triple) per endpoint: `pool: { connections }`. */
  readonly connectionsPerEndpoint: number;
  readonly balance: BalanceKind;
  readonly sticky?: StickyConfig;
  /** Extra attempts after a failure the retry policy allows (routes may override). */
  readonly retries: number;
  /** Speak TLS to the endpoints (`tls:`); plaintext when absent. */
  readonly tls?: UpstreamTls;
  /** Where the service's name was written. */
  readonly source: SourceLocation;
  /** Where each of its keys was written (`proto`, `service`, `sticky`, ...). */
  readonly keySources: KeySources;
}

export interface DubboService extends ServiceBase {
  readonly protocol: 'dubbo';
  /** Call through `$invoke` (generic invocation) instead of the declared signature. */
  readonly generic: boolean;
  /**
   * Sent as the `token` attachment of every call (providers exported with `token=` require it); read
   * from the mapping, a file or the environment. Absent: each provider's own `token` URL parameter.
   */
  readonly token?: string;
}

/** Where a gRPC service's schema comes from at run time (`reflection:`), and the fetch's budgets. */
export interface ReflectionSettings {
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly maxFiles: number;
}

/** `reflection: true`: the whole fetch within 10 s, at most 16 MiB of descriptors in at most 512 files. */
export const DEFAULT_REFLECTION_SETTINGS: ReflectionSettings = Object.freeze({ timeoutMs: 10_000, maxBytes: 16 * 1024 * 1024, maxFiles: 512 });

/** What gRPC and Triple services share: a schema (exactly one of proto, descriptorSet, reflection) and the service in it. */
interface ProtoServiceBase extends ServiceBase {
  /** The .proto file (relative to the config root or absolute). */
  readonly proto?: string;
  /** A FileDescriptorSet file (relative to the config root or absolute). */
  readonly descriptorSet?: string;
  /** The schema is fetched from the upstream's reflection service. */
  readonly reflection?: ReflectionSettings;
  /** The full proto service name, e.g. `example.payments.v1.Payments`. */
  readonly service: string;
  /** Request headers that may be forwarded as metadata (lower-case). */
  readonly forwardHeaders: readonly string[];
}

export interface GrpcService extends ProtoServiceBase {
  readonly protocol: 'grpc';
}

/** Dubbo 3 Triple with protobuf IDL: gRPC on the wire, plus `version`/`group` as metadata. */
export interface TripleService extends ProtoServiceBase {
  readonly protocol: 'triple';
}

/** A service of a proto-described protocol (gRPC or Triple): both go through the same binding. */
export type ProtoService = GrpcService | TripleService;

export type ServiceConfig = DubboService | GrpcService | TripleService;

export interface PojoTypeDef {
  readonly kind: 'pojo';
  readonly name: string;
  /** Field name → declared type text, in declaration order. */
  readonly fields: ReadonlyArray<{ readonly name: string; readonly type: string; readonly source: SourceLocation }>;
  readonly source: SourceLocation;
}

export interface EnumTypeDef {
  readonly kind: 'enum';
  readonly name: string;
  readonly constants: readonly string[];
  readonly source: SourceLocation;
}

export type TypeDef = PojoTypeDef | EnumTypeDef;

/** One argument of a Dubbo call: where its value comes from and its declared Java type. */
export interface ArgConfig {
  /** `path.X`, `query.X`, `header.X`, `cookie.X`, `claim.X`, `attribute.X`, `metadata.NS.FIELD`, `body`, `body.a.b`; absent for constants. */
  readonly from?: string;
  /** A constant value (when `from` is absent). */
  readonly value?: unknown;
  readonly type: string;
  readonly required: boolean;
  readonly source: SourceLocation;
}

export type LongPolicy = 'auto' | 'string';

/** What every route has, whatever its protocol. */
interface RouteBase {
  readonly id: string;
  readonly method: string;
  /** Path template as written, e.g. `/accounts/{id}` or `/v1/{name=shelves/*}`. */
  readonly path: string;
  /** The same template parsed by the router (the only parser), at load time. */
  readonly template: CompiledTemplate;
  readonly serviceName: string;
  /** The RPC method name (Java method, or gRPC method). */
  readonly rpcMethod: string;
  readonly timeoutMs?: number;
  /** The route may be retried on another endpoint after a failure that reached the wire. */
  readonly idempotent: boolean;
  /** Extra attempts after a failure the retry policy allows: the route's `retries:`, else the service's. */
  readonly retries: number;
  /** Where the route was written (for derived routes: the service). */
  readonly source: SourceLocation;
  /** Where each of its keys was written (empty for derived routes). */
  readonly keySources: KeySources;
  /** The route's own `policies:` (over the global ones, by name); absent for derived routes. */
  readonly policies?: readonly PolicyUse[];
  /** The route's own tag routing (replaces the service's); `false` turns the service's off; absent: the service's. */
  readonly canary?: CanaryConfig | false;
}

/** One policy or plugin a route (or every route) runs: `name: options`, or `name: false` to turn a global one off. */
export interface PolicyUse {
  readonly name: string;
  /** As written; the plugin's own JSON Schema checks it when the engine is built. `false` = off. */
  readonly options: unknown;
  /** Where the name was written, for problems with the options. */
  readonly source: SourceLocation;
}

/** A plugin module a mapping names (`plugins: { name: { file } }`). */
export interface PluginDecl {
  readonly name: string;
  /** Absolute path of the module. */
  readonly file: string;
  readonly source: SourceLocation;
}

export interface DubboRoute extends RouteBase {
  readonly protocol: 'dubbo';
  /** The Java method's arguments, in declaration order. */
  readonly args: readonly ArgConfig[];
  /** Attachment name → request source (`header.x-tenant`, ...). */
  readonly attachments: Readonly<Record<string, string>>;
  /** Java exception class → HTTP status. */
  readonly errors: Readonly<Record<string, number>>;
  /** Per mapped exception class, the fields of the exception shown in the problem body (`errors: {X: {status, fields}}`). */
  readonly errorFields: Readonly<Record<string, readonly string[]>>;
  /** Declared return type, used for exact decoding of enums and longs. */
  readonly returns?: string;
  readonly longs: LongPolicy;
}

/** A route to a gRPC or Triple service (both map JSON ↔ protobuf by google.api.http rules). */
export interface GrpcRoute extends RouteBase {
  readonly protocol: 'grpc' | 'triple';
  /** google.api.http `body` ("*", a field name, or absent). */
  readonly body?: string;
  /** google.api.http `response_body`. */
  readonly responseBody?: string;
  /** Emit fields with default values in responses. */
  readonly emitDefaults: boolean;
  /** Metadata (Triple: header) name → request source (`claim.sub`, `header.x`), sent with the call. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** True for routes derived from google.api.http options rather than written in YAML. */
  readonly fromProto: boolean;
}

export type RouteConfig = DubboRoute | GrpcRoute;

export interface FerryConfig {
  /** The folder the mapping files were loaded from (proto paths resolve against it). */
  readonly root: string;
  readonly services: ReadonlyMap<string, ServiceConfig>;
  readonly types: ReadonlyMap<string, TypeDef>;
  readonly routes: readonly RouteConfig[];
  /** Plugin modules by name (built-in policies need none). */
  readonly plugins?: ReadonlyMap<string, PluginDecl>;
  /** Policies every route runs (top-level `policies:`), unless the route overrides them by name. */
  readonly policies?: readonly PolicyUse[];
}
