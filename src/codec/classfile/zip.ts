/**
 * Reads entries of a jar (a zip file) from memory: the central directory, then each entry on demand.
 *
 * Why not a zip library: none is a dependency yet, and Ferry needs only the part of the format a
 * jar uses (stored and deflated entries, no encryption, no zip64, no spanning); Node's zlib gives
 * `inflateRawSync` with `maxOutputLength`, which is the zip-bomb budget itself: inflation stops at
 * the budget whatever the entry's header claims. The sizes, offsets and CRC of every entry read are
 * checked, so a corrupt jar is an error naming the entry, never garbage handed to the class reader.
 */
import { crc32, inflateRawSync } from 'node:zlib';
import { SignatureSourceError } from '../../errors/index.js';

export interface ZipBudgets {
  /** Most entries in the central directory. */
  readonly maxEntries: number;
  /** Most bytes one entry may inflate to (a class file, here). */
  readonly maxEntryBytes: number;
  /** Most bytes all entries read from one archive may inflate to together. */
  readonly maxTotalBytes: number;
}

export const DEFAULT_ZIP_BUDGETS: ZipBudgets = { maxEntries: 100_000, maxEntryBytes: 4 * 1024 * 1024, maxTotalBytes: 256 * 1024 * 1024 };

interface Entry {
  readonly method: number;
  readonly flags: number;
  readonly crc: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localOffset: number;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

export class ZipArchive {
  readonly #data: Buffer;
  readonly #entries = new Map<string, Entry>();
  readonly #budgets: ZipBudgets;
  readonly #where: string;
  #inflated = 0;

  /** Reads the central directory of `data`; throws SignatureSourceError when it is not a usable zip. */
  constructor(data: Buffer, where: string, budgets: Partial<ZipBudgets> = {}) {
    this.#data = data;
    this.#where = where;
    this.#budgets = { ...DEFAULT_ZIP_BUDGETS, ...budgets };
    const fail = (why: string): never => {
      throw new SignatureSourceError(`${where} is not a usable jar: ${why}`);
    };
    // The end-of-central-directory record is in the last 22 + 65535 (comment) bytes.
    let eocd = -1;
    for (let i = data.length - 22; i >= 0 && i >= data.length - 22 - 65535; i--) {
      if (data.readUInt32LE(i) === EOCD) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) fail('no end of central directory (not a zip file, or cut short)');
    const count = data.readUInt16LE(eocd + 10);
    const dirSize = data.readUInt32LE(eocd + 12);
    const dirOffset = data.readUInt32LE(eocd + 16);
    if (count === 0xffff || dirOffset === 0xffffffff) fail('zip64 archives are not supported');
    if (count > this.#budgets.maxEntries) fail(`${count} entries, over the budget of ${this.#budgets.maxEntries}`);
    if (dirOffset + dirSize > eocd) fail('the central directory lies outside the file');
    let p = dirOffset;
    for (let i = 0; i < count; i++) {
      if (p + 46 > eocd || data.readUInt32LE(p) !== CENTRAL) fail(`central directory entry ${i + 1} is malformed`);
      const nameLen = data.readUInt16LE(p + 28);
      const extraLen = data.readUInt16LE(p + 30);
      const commentLen = data.readUInt16LE(p + 32);
      if (p + 46 + nameLen > eocd) fail(`central directory entry ${i + 1} runs past the directory`);
      const name = data.toString('utf8', p + 46, p + 46 + nameLen);
      const entry: Entry = {
        flags: data.readUInt16LE(p + 8),
        method: data.readUInt16LE(p + 10),
        crc: data.readUInt32LE(p + 16),
        compressedSize: data.readUInt32LE(p + 20),
        size: data.readUInt32LE(p + 24),
        localOffset: data.readUInt32LE(p + 42),
      };
      if (entry.size === 0xffffffff || entry.compressedSize === 0xffffffff || entry.localOffset === 0xffffffff) {
        fail(`entry ${name} needs zip64, which is not supported`);
      }
      this.#entries.set(name, entry);
      p += 46 + nameLen + extraLen + commentLen;
    }
  }

  names(): IterableIterator<string> {
    return this.#entries.keys();
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /** The entry's bytes, inflated and checked; undefined when there is no such entry. */
  read(name: string): Buffer | undefined {
    const e = this.#entries.get(name);
    if (e === undefined) return undefined;
    const data = this.#data;
    const fail = (why: string): never => {
      throw new SignatureSourceError(`${this.#where}: entry ${name} ${why}`);
    };
    if ((e.flags & 1) !== 0) fail('is encrypted');
    if (e.size > this.#budgets.maxEntryBytes) fail(`declares ${e.size} bytes, over the budget of ${this.#budgets.maxEntryBytes}`);
    const left = this.#budgets.maxTotalBytes - this.#inflated;
    if (e.localOffset + 30 > data.length || data.readUInt32LE(e.localOffset) !== LOCAL) fail('has no local header where the directory says');
    const start = e.localOffset + 30 + data.readUInt16LE(e.localOffset + 26) + data.readUInt16LE(e.localOffset + 28);
    if (start + e.compressedSize > data.length) fail('runs past the end of the file');
    const raw = data.subarray(start, start + e.compressedSize);
    let out: Buffer;
    if (e.method === 0) {
      out = raw;
    } else if (e.method === 8) {
      // Inflation is bounded by the budget, not by the size the header claims (a zip bomb lies).
      const limit = Math.min(this.#budgets.maxEntryBytes, left) + 1;
      try {
        out = inflateRawSync(raw, { maxOutputLength: limit });
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'ERR_BUFFER_TOO_LARGE') fail(`inflates past the budget of ${Math.min(this.#budgets.maxEntryBytes, left)} bytes (a zip bomb?)`);
        return fail(`cannot be inflated (${(err as Error).message})`);
      }
    } else {
      return fail(`uses compression method ${e.method} (only stored and deflated are supported)`);
    }
    if (out.length > this.#budgets.maxEntryBytes || out.length > left) fail(`inflates past the budget (a zip bomb?)`);
    if (out.length !== e.size) fail(`inflates to ${out.length} bytes, not the ${e.size} its header says`);
    if (crc32(out) >>> 0 !== e.crc >>> 0) fail('fails its CRC check (corrupt)');
    this.#inflated += out.length;
    return out;
  }
}
