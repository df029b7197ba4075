/**
 * The validated, frozen model of a mapping folder (format v1). The loader turns YAML into these
 * records; nothing downstream reads YAML or re-validates.
 */

/** Where a piece of config came from, for error messages. Lines and columns are 1-based. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

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

export interface ServiceConfig {
  readonly name: string;
  readonly protocol: Protocol;
  /** Dubbo: the Java interface FQCN. */
  readonly interface?: string;
  /** Dubbo / Triple service version and group. */
  readonly version?: string;
  readonly group?: string;
  /** Dubbo: call through `$invoke` (generic invocation) instead of the declared signature. */
  readonly generic: boolean;
  /** gRPC / Triple: the .proto file (relative to the config root or absolute) and the full service name. */
  readonly proto?: string;
  readonly service?: string;
  /** Static endpoints, `host:port`. */
  readonly endpoints: readonly string[];
  /** Registry URL, e.g. `zookeeper://127.0.0.1:2181`. */
  readonly registry?: string;
  readonly timeoutMs: number;
  /** Connections (Dubbo) or channels (gRPC) per endpoint. */
  readonly connectionsPerEndpoint: number;
  readonly balance: BalanceKind;
  readonly sticky?: StickyConfig;
  /** Request headers that may be forwarded as gRPC metadata (lower-case). */
  readonly forwardHeaders: readonly string[];
  readonly source: SourceLocation;
}

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
  /** `path.X`, `query.X`, `header.X`, `cookie.X`, `body`, `body.a.b`; absent for constants. */
  readonly from?: string;
  /** A constant value (when `from` is absent). */
  readonly value?: unknown;
  readonly type: string;
  readonly required: boolean;
  readonly source: SourceLocation;
}

export type LongPolicy = 'auto' | 'string';

export interface RouteConfig {
  readonly id: string;
  readonly method: string;
  /** Path template, e.g. `/accounts/{id}` or `/v1/{name=shelves/*}`. */
  readonly path: string;
  readonly serviceName: string;
  /** The RPC method name (Java method, or gRPC method). */
  readonly rpcMethod: string;
  readonly args: readonly ArgConfig[];
  /** Attachment / metadata name → request source (`header.x-tenant`, ...). */
  readonly attachments: Readonly<Record<string, string>>;
  /** Java exception class → HTTP status. */
  readonly errors: Readonly<Record<string, number>>;
  /** gRPC: google.api.http `body` ("*", a field name, or absent). */
  readonly body?: string;
  /** gRPC: google.api.http `response_body`. */
  readonly responseBody?: string;
  /** Declared return type (Dubbo), used for exact decoding of enums and longs. */
  readonly returns?: string;
  readonly timeoutMs?: number;
  readonly longs: LongPolicy;
  /** The route may be retried on another endpoint after a failure that reached the wire. */
  readonly idempotent: boolean;
  /** gRPC: emit fields with default values in responses. */
  readonly emitDefaults: boolean;
  /** True for routes derived from google.api.http options rather than written in YAML. */
  readonly fromProto: boolean;
  readonly source: SourceLocation;
}

export interface FerryConfig {
  /** The folder the mapping files were loaded from (proto paths resolve against it). */
  readonly root: string;
  readonly services: ReadonlyMap<string, ServiceConfig>;
  readonly types: ReadonlyMap<string, TypeDef>;
  readonly routes: readonly RouteConfig[];
}
