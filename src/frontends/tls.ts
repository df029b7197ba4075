/**
 * The certificate files a front end serves TLS with, read and kept current: the HTTPS front end and
 * the ext_proc server both take one. The files are polled (stat, so that a rename over the file or
 * a Kubernetes secret's symlink swap is seen like an edit); a change is read whole and checked with
 * tls.createSecureContext before anything is swapped, so a half-written rotation keeps the old
 * certificate serving until the pair matches again.
 */
import { unwatchFile, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';

export interface ServerTlsFiles {
  /** PEM certificate chain the server presents. */
  readonly certFile: string;
  /** PEM private key of that certificate. */
  readonly keyFile: string;
  /** PEM CA bundle client certificates must chain to: when given, a client without a valid certificate is refused. */
  readonly clientCaFile?: string;
}

/** What the files hold, as node:tls takes it. */
export interface ServerTlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer;
}

export interface ServerCertificates {
  readonly files: ServerTlsFiles;
  /** Clients must present a certificate that chains to `clientCaFile`. */
  readonly requireClientCert: boolean;
  current(): ServerTlsMaterial;
  /** Called with the new material after each reload that succeeded; returns the unsubscribe. */
  onChange(listener: (material: ServerTlsMaterial) => void): () => void;
  /** Stops watching the files. */
  close(): void;
}

export interface WatchOptions {
  /** How often the files are checked for a change, ms (default 1000). */
  readonly intervalMs?: number;
  /** A reload that failed (the old certificate keeps serving). */
  readonly onReloadError?: (err: Error) => void;
  /** A reload that succeeded. */
  readonly onReloaded?: () => void;
}

/** A certificate file that cannot be used; the message names the file and what is wrong. */
export class TlsFilesError extends Error {
  override readonly name = 'TlsFilesError';
}

/** After a change, wait this long for the other file of the pair before reading (a rotation writes both). */
const SETTLE_MS = 100;

async function readMaterial(files: ServerTlsFiles): Promise<ServerTlsMaterial> {
  const read = async (file: string, what: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (err) {
      throw new TlsFilesError(`the TLS ${what} file ${file} cannot be read: ${(err as Error).message}`);
    }
  };
  const material: ServerTlsMaterial = {
    cert: await read(files.certFile, 'certificate'),
    key: await read(files.keyFile, 'key'),
    ...(files.clientCaFile !== undefined ? { ca: await read(files.clientCaFile, 'client CA') } : {}),
  };
  try {
    createSecureContext(material);
  } catch (err) {
    const names = [files.certFile, files.keyFile, ...(files.clientCaFile !== undefined ? [files.clientCaFile] : [])].join(', ');
    throw new TlsFilesError(`the TLS files ${names} do not make a usable certificate: ${(err as Error).message}`);
  }
  return material;
}

/** Reads the files (throws TlsFilesError naming the file when they cannot serve) and watches them. */
export async function watchServerCertificates(files: ServerTlsFiles, opts: WatchOptions = {}): Promise<ServerCertificates> {
  let material = await readMaterial(files);
  const listeners = new Set<(m: ServerTlsMaterial) => void>();
  const watched = [files.certFile, files.keyFile, ...(files.clientCaFile !== undefined ? [files.clientCaFile] : [])];
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const reload = (): void => {
    timer = undefined;
    readMaterial(files).then(
      (next) => {
        if (closed) return;
        material = next;
        for (const l of listeners) l(next);
        opts.onReloaded?.();
      },
      (err: unknown) => {
        if (!closed) opts.onReloadError?.(err as Error);
      },
    );
  };
  const changed = (): void => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(reload, SETTLE_MS);
    timer.unref();
  };
  for (const f of watched) watchFile(f, { interval: opts.intervalMs ?? 1000, persistent: false }, changed);
  return {
    files,
    requireClientCert: files.clientCaFile !== undefined,
    current: () => material,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closed = true;
      clearTimeout(timer);
      for (const f of watched) unwatchFile(f, changed);
      listeners.clear();
    },
  };
}
