/** The part of node-zookeeper-client 1.1 that Ferry uses (the package ships no types). */
declare module 'node-zookeeper-client' {
  import type { EventEmitter } from 'node:events';

  export interface Event {
    readonly type: number;
    readonly name: string;
    readonly path: string;
    getType(): number;
    getName(): string;
    getPath(): string;
  }

  export interface Stat {
    readonly version: number;
  }

  export class Exception extends Error {
    static readonly OK: number;
    static readonly CONNECTION_LOSS: number;
    static readonly OPERATION_TIMEOUT: number;
    static readonly NO_NODE: number;
    static readonly NODE_EXISTS: number;
    static readonly SESSION_EXPIRED: number;
    getCode(): number;
    getName(): string;
    getPath(): string;
  }

  export interface State {
    readonly name: string;
    readonly code: number;
  }

  export const CreateMode: {
    readonly PERSISTENT: number;
    readonly EPHEMERAL: number;
    readonly PERSISTENT_SEQUENTIAL: number;
    readonly EPHEMERAL_SEQUENTIAL: number;
  };

  export interface ClientOptions {
    sessionTimeout?: number;
    spinDelay?: number;
    retries?: number;
  }

  /** Who an ACL entry is for: `new Id('digest', 'user:' + base64(sha1('user:password')))`. */
  export class Id {
    constructor(scheme: string, id: string);
  }
  export class ACL {
    constructor(permission: number, id: Id);
  }
  export const Permission: { READ: number; WRITE: number; CREATE: number; DELETE: number; ADMIN: number; ALL: number };

  export interface Client extends EventEmitter {
    connect(): void;
    /** Credentials sent with this and every later connect (`digest`: `user:password`). */
    addAuthInfo(scheme: string, auth: Buffer): void;
    close(): void;
    getState(): State;
    getChildren(
      path: string,
      watcher: (event: Event) => void,
      callback: (error: Exception | Error | null, children: string[], stat: Stat) => void,
    ): void;
    getChildren(path: string, callback: (error: Exception | Error | null, children: string[], stat: Stat) => void): void;
    exists(path: string, watcher: (event: Event) => void, callback: (error: Exception | Error | null, stat: Stat | null) => void): void;
    exists(path: string, callback: (error: Exception | Error | null, stat: Stat | null) => void): void;
    getData(
      path: string,
      watcher: (event: Event) => void,
      callback: (error: Exception | Error | null, data: Buffer | undefined, stat: Stat) => void,
    ): void;
    getData(path: string, callback: (error: Exception | Error | null, data: Buffer | undefined, stat: Stat) => void): void;
    setData(path: string, data: Buffer | null, callback: (error: Exception | Error | null, stat: Stat) => void): void;
    create(path: string, data: Buffer | null, mode: number, callback: (error: Exception | Error | null, path: string) => void): void;
    create(path: string, data: Buffer | null, acls: ACL[], mode: number, callback: (error: Exception | Error | null, path: string) => void): void;
    mkdirp(path: string, callback: (error: Exception | Error | null, path: string) => void): void;
    mkdirp(path: string, data: Buffer | null, acls: ACL[], mode: number, callback: (error: Exception | Error | null, path: string) => void): void;
    remove(path: string, callback: (error: Exception | Error | null) => void): void;
    /** A multi-op request (bench/registry-scale.ts writes in batches). */
    transaction(): Transaction;
  }

  export interface Transaction {
    create(path: string, data: Buffer | null, mode: number): Transaction;
    remove(path: string, version?: number): Transaction;
    commit(callback: (error: Exception | Error | null, results: unknown[]) => void): void;
  }

  export function createClient(connectionString: string, options?: ClientOptions): Client;

  const zookeeper: {
    createClient: typeof createClient;
    Exception: typeof Exception;
    CreateMode: typeof CreateMode;
    ACL: typeof ACL;
    Id: typeof Id;
    Permission: typeof Permission;
  };
  export default zookeeper;
}
