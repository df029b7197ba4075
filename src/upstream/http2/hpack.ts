/**
 * HPACK (RFC 7541) for Ferry's own HTTP/2 client session: a decoder for the header blocks gRPC
 * servers answer with (full RFC 7541: integers, Huffman and plain string literals, the static and
 * dynamic tables, table size updates) and a stateless encoder for request headers (static-table
 * references and literals without indexing, so the peer's decoder keeps no dynamic table of ours).
 *
 * Every error is an HpackError, which RFC 9113 section 4.3 makes a connection error of type
 * COMPRESSION_ERROR: after one the decoder's table may be out of sync and the connection must go.
 *
 * Strings are latin1 on both sides (one UTF-16 code unit per octet), so a name or value's `length`
 * is its octet count, which is what the table sizes and SETTINGS_MAX_HEADER_LIST_SIZE count.
 */

/** A malformed or over-budget header block: a COMPRESSION_ERROR (RFC 9113); the connection must be closed. */
export class HpackError extends Error {
  override readonly name = 'HpackError';
}

export interface HeaderBlockBudgets {
  /** RFC 9113 SETTINGS_MAX_HEADER_LIST_SIZE semantics: sum of name.length + value.length + 32 per field. */
  readonly maxListBytes: number;
}

/** RFC 7541 section 4.1: an entry's size is its name and value octets plus 32. */
const ENTRY_OVERHEAD = 32;
/** Integers above this are refused (RFC 7541 section 5.1 leaves the limit to the implementation). */
const MAX_INT = 0x7fffffff;

// ---------------------------------------------------------------------------------------------
// RFC 7541 Appendix A: the static table, indices 1 to 61.
// ---------------------------------------------------------------------------------------------
const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [':authority', ''], // 1
  [':method', 'GET'], // 2
  [':method', 'POST'], // 3
  [':path', '/'], // 4
  [':path', '/index.html'], // 5
  [':scheme', 'http'], // 6
  [':scheme', 'https'], // 7
  [':status', '200'], // 8
  [':status', '204'], // 9
  [':status', '206'], // 10
  [':status', '304'], // 11
  [':status', '400'], // 12
  [':status', '404'], // 13
  [':status', '500'], // 14
  ['accept-charset', ''], // 15
  ['accept-encoding', 'gzip, deflate'], // 16
  ['accept-language', ''], // 17
  ['accept-ranges', ''], // 18
  ['accept', ''], // 19
  ['access-control-allow-origin', ''], // 20
  ['age', ''], // 21
  ['allow', ''], // 22
  ['authorization', ''], // 23
  ['cache-control', ''], // 24
  ['content-disposition', ''], // 25
  ['content-encoding', ''], // 26
  ['content-language', ''], // 27
  ['content-length', ''], // 28
  ['content-location', ''], // 29
  ['content-range', ''], // 30
  ['content-type', ''], // 31
  ['cookie', ''], // 32
  ['date', ''], // 33
  ['etag', ''], // 34
  ['expect', ''], // 35
  ['expires', ''], // 36
  ['from', ''], // 37
  ['host', ''], // 38
  ['if-match', ''], // 39
  ['if-modified-since', ''], // 40
  ['if-none-match', ''], // 41
  ['if-range', ''], // 42
  ['if-unmodified-since', ''], // 43
  ['last-modified', ''], // 44
  ['link', ''], // 45
  ['location', ''], // 46
  ['max-forwards', ''], // 47
  ['proxy-authenticate', ''], // 48
  ['proxy-authorization', ''], // 49
  ['range', ''], // 50
  ['referer', ''], // 51
  ['refresh', ''], // 52
  ['retry-after', ''], // 53
  ['server', ''], // 54
  ['set-cookie', ''], // 55
  ['strict-transport-security', ''], // 56
  ['transfer-encoding', ''], // 57
  ['user-agent', ''], // 58
  ['vary', ''], // 59
  ['via', ''], // 60
  ['www-authenticate', ''], // 61
];
const STATIC_COUNT = STATIC_TABLE.length;
/** Static names and values by index (slot 0 unused), so a lookup is one array read. */
const STATIC_NAMES: readonly string[] = ['', ...STATIC_TABLE.map((e) => e[0])];
const STATIC_VALUES: readonly string[] = ['', ...STATIC_TABLE.map((e) => e[1])];

// ---------------------------------------------------------------------------------------------
// RFC 7541 Appendix B: the Huffman code, as (code, bit length) for symbols 0 to 256 (256 is EOS),
// eight symbols a row; the code is the low `length` bits of the number, most significant bit first.
// ---------------------------------------------------------------------------------------------
// prettier-ignore
const HUFFMAN_CODE: readonly number[] = [
  0x1ff8, 13, 0x7fffd8, 23, 0xfffffe2, 28, 0xfffffe3, 28, 0xfffffe4, 28, 0xfffffe5, 28, 0xfffffe6, 28, 0xfffffe7, 28,
  0xfffffe8, 28, 0xffffea, 24, 0x3ffffffc, 30, 0xfffffe9, 28, 0xfffffea, 28, 0x3ffffffd, 30, 0xfffffeb, 28, 0xfffffec, 28,
  0xfffffed, 28, 0xfffffee, 28, 0xfffffef, 28, 0xffffff0, 28, 0xffffff1, 28, 0xffffff2, 28, 0x3ffffffe, 30, 0xffffff3, 28,
  0xffffff4, 28, 0xffffff5, 28, 0xffffff6, 28, 0xffffff7, 28, 0xffffff8, 28, 0xffffff9, 28, 0xffffffa, 28, 0xffffffb, 28,
  0x14, 6, 0x3f8, 10, 0x3f9, 10, 0xffa, 12, 0x1ff9, 13, 0x15, 6, 0xf8, 8, 0x7fa, 11,
  0x3fa, 10, 0x3fb, 10, 0xf9, 8, 0x7fb, 11, 0xfa, 8, 0x16, 6, 0x17, 6, 0x18, 6,
  0x0, 5, 0x1, 5, 0x2, 5, 0x19, 6, 0x1a, 6, 0x1b, 6, 0x1c, 6, 0x1d, 6,
  0x1e, 6, 0x1f, 6, 0x5c, 7, 0xfb, 8, 0x7ffc, 15, 0x20, 6, 0xffb, 12, 0x3fc, 10,
  0x1ffa, 13, 0x21, 6, 0x5d, 7, 0x5e, 7, 0x5f, 7, 0x60, 7, 0x61, 7, 0x62, 7,
  0x63, 7, 0x64, 7, 0x65, 7, 0x66, 7, 0x67, 7, 0x68, 7, 0x69, 7, 0x6a, 7,
  0x6b, 7, 0x6c, 7, 0x6d, 7, 0x6e, 7, 0x6f, 7, 0x70, 7, 0x71, 7, 0x72, 7,
  0xfc, 8, 0x73, 7, 0xfd, 8, 0x1ffb, 13, 0x7fff0, 19, 0x1ffc, 13, 0x3ffc, 14, 0x22, 6,
  0x7ffd, 15, 0x3, 5, 0x23, 6, 0x4, 5, 0x24, 6, 0x5, 5, 0x25, 6, 0x26, 6,
  0x27, 6, 0x6, 5, 0x74, 7, 0x75, 7, 0x28, 6, 0x29, 6, 0x2a, 6, 0x7, 5,
  0x2b, 6, 0x76, 7, 0x2c, 6, 0x8, 5, 0x9, 5, 0x2d, 6, 0x77, 7, 0x78, 7,
  0x79, 7, 0x7a, 7, 0x7b, 7, 0x7ffe, 15, 0x7fc, 11, 0x3ffd, 14, 0x1ffd, 13, 0xffffffc, 28,
  0xfffe6, 20, 0x3fffd2, 22, 0xfffe7, 20, 0xfffe8, 20, 0x3fffd3, 22, 0x3fffd4, 22, 0x3fffd5, 22, 0x7fffd9, 23,
  0x3fffd6, 22, 0x7fffda, 23, 0x7fffdb, 23, 0x7fffdc, 23, 0x7fffdd, 23, 0x7fffde, 23, 0xffffeb, 24, 0x7fffdf, 23,
  0xffffec, 24, 0xffffed, 24, 0x3fffd7, 22, 0x7fffe0, 23, 0xffffee, 24, 0x7fffe1, 23, 0x7fffe2, 23, 0x7fffe3, 23,
  0x7fffe4, 23, 0x1fffdc, 21, 0x3fffd8, 22, 0x7fffe5, 23, 0x3fffd9, 22, 0x7fffe6, 23, 0x7fffe7, 23, 0xffffef, 24,
  0x3fffda, 22, 0x1fffdd, 21, 0xfffe9, 20, 0x3fffdb, 22, 0x3fffdc, 22, 0x7fffe8, 23, 0x7fffe9, 23, 0x1fffde, 21,
  0x7fffea, 23, 0x3fffdd, 22, 0x3fffde, 22, 0xfffff0, 24, 0x1fffdf, 21, 0x3fffdf, 22, 0x7fffeb, 23, 0x7fffec, 23,
  0x1fffe0, 21, 0x1fffe1, 21, 0x3fffe0, 22, 0x1fffe2, 21, 0x7fffed, 23, 0x3fffe1, 22, 0x7fffee, 23, 0x7fffef, 23,
  0xfffea, 20, 0x3fffe2, 22, 0x3fffe3, 22, 0x3fffe4, 22, 0x7ffff0, 23, 0x3fffe5, 22, 0x3fffe6, 22, 0x7ffff1, 23,
  0x3ffffe0, 26, 0x3ffffe1, 26, 0xfffeb, 20, 0x7fff1, 19, 0x3fffe7, 22, 0x7ffff2, 23, 0x3fffe8, 22, 0x1ffffec, 25,
  0x3ffffe2, 26, 0x3ffffe3, 26, 0x3ffffe4, 26, 0x7ffffde, 27, 0x7ffffdf, 27, 0x3ffffe5, 26, 0xfffff1, 24, 0x1ffffed, 25,
  0x7fff2, 19, 0x1fffe3, 21, 0x3ffffe6, 26, 0x7ffffe0, 27, 0x7ffffe1, 27, 0x3ffffe7, 26, 0x7ffffe2, 27, 0xfffff2, 24,
  0x1fffe4, 21, 0x1fffe5, 21, 0x3ffffe8, 26, 0x3ffffe9, 26, 0xffffffd, 28, 0x7ffffe3, 27, 0x7ffffe4, 27, 0x7ffffe5, 27,
  0xfffec, 20, 0xfffff3, 24, 0xfffed, 20, 0x1fffe6, 21, 0x3fffe9, 22, 0x1fffe7, 21, 0x1fffe8, 21, 0x7ffff3, 23,
  0x3fffea, 22, 0x3fffeb, 22, 0x1ffffee, 25, 0x1ffffef, 25, 0xfffff4, 24, 0xfffff5, 24, 0x3ffffea, 26, 0x7ffff4, 23,
  0x3ffffeb, 26, 0x7ffffe6, 27, 0x3ffffec, 26, 0x3ffffed, 26, 0x7ffffe7, 27, 0x7ffffe8, 27, 0x7ffffe9, 27, 0x7ffffea, 27,
  0x7ffffeb, 27, 0xffffffe, 28, 0x7ffffec, 27, 0x7ffffed, 27, 0x7ffffee, 27, 0x7ffffef, 27, 0x7fffff0, 27, 0x3ffffee, 26,
  0x3fffffff, 30,
];
const EOS = 256;

/*
 * Huffman decoding runs a 4-bit state machine. A state is an internal node of the code tree (256 of
 * them, the root being 0); DECODE[state * 16 + nibble] tells where the nibble's four bits lead: the
 * next state (low 8 bits), the symbol completed on the way (bits 8-15, when EMITTED is set; the
 * shortest code has 5 bits, so one nibble completes at most one), or FAILED when the bits spell EOS.
 * A string may end only at the root or on the all-ones path of at most 7 bits below it (padding is
 * the most significant bits of EOS, RFC 7541 section 5.2): PADDING_DEPTH says which states those are.
 */
const EMITTED = 1 << 16;
const FAILED = 1 << 17;
const DECODE = new Uint32Array(256 * 16);
/** For each state: its depth when it lies on the all-ones path from the root, else -1 (the root: 0). */
const PADDING_DEPTH = new Int8Array(256).fill(-1);

function buildHuffmanDecoder(): void {
  const LEAF = 0x1000;
  // kids[node * 2 + bit]: 0 while absent, an internal node id, or LEAF | symbol.
  const kids: number[] = [0, 0];
  let nodes = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    const code = HUFFMAN_CODE[sym * 2]!;
    const len = HUFFMAN_CODE[sym * 2 + 1]!;
    let node = 0;
    for (let bit = len - 1; bit > 0; bit--) {
      const slot = node * 2 + ((code >>> bit) & 1);
      if (kids[slot] === 0) {
        kids[slot] = nodes++;
        kids.push(0, 0);
      }
      node = kids[slot]!;
      if (node & LEAF) throw new Error(`HPACK Huffman table: code of symbol ${sym} is not prefix-free`);
    }
    const slot = node * 2 + (code & 1);
    if (kids[slot] !== 0) throw new Error(`HPACK Huffman table: code of symbol ${sym} is not prefix-free`);
    kids[slot] = LEAF | sym;
  }
  if (nodes !== 256 || kids.includes(0)) throw new Error(`HPACK Huffman table: ${nodes} internal nodes, expected a full tree of 256`);
  for (let state = 0; state < 256; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let entry = 0;
      for (let bit = 3; bit >= 0; bit--) {
        const kid = kids[node * 2 + ((nibble >>> bit) & 1)]!;
        if (kid & LEAF) {
          const sym = kid & 0x1ff;
          if (sym === EOS) {
            entry = FAILED;
            break;
          }
          entry = EMITTED | (sym << 8);
          node = 0;
        } else {
          node = kid;
        }
      }
      DECODE[state * 16 + nibble] = entry & FAILED ? FAILED : entry | node;
    }
  }
  PADDING_DEPTH[0] = 0;
  let node = 0;
  for (let depth = 1; depth < 30; depth++) {
    node = kids[node * 2 + 1]!;
    if (node & LEAF) break;
    PADDING_DEPTH[node] = Math.min(depth, 127);
  }
}
buildHuffmanDecoder();

function describe(block: Uint8Array, at: number): string {
  return `at octet ${at} of a ${block.length}-octet header block`;
}

const EMPTY = Buffer.alloc(0);

/** The ring size that holds every entry a `maxTableSize` table can: a power of two above maxTableSize / 32. */
function ringCapacity(maxTableSize: number): number {
  let capacity = 1;
  while (capacity <= maxTableSize / ENTRY_OVERHEAD) capacity *= 2;
  return capacity;
}

/**
 * Where Huffman decoding writes octets before they become a string, shared by all decoders (decode
 * is synchronous, so no two use it at once); grows when a string needs more.
 */
let scratch: Buffer = Buffer.allocUnsafeSlow(1024);

/** Octets start..end of `buf` as a latin1 string: a loop for short strings (cheaper than a Buffer call). */
function latin1(buf: Buffer, start: number, end: number): string {
  if (end - start > 8) return buf.toString('latin1', start, end);
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!);
  return s;
}

/**
 * One connection's HPACK decoding context (RFC 7541 section 2.2): the dynamic table the peer's
 * encoder fills. Not reentrant: decode one block at a time, in the order the blocks arrived.
 */
export class HpackDecoder {
  /** The SETTINGS_HEADER_TABLE_SIZE we advertise: the most a size update may ask for. */
  private readonly maxTableSize: number;
  /** The dynamic table's current maximum size (the last size update, else maxTableSize). */
  private limit: number;
  /** Octets the dynamic table holds (entry sizes summed). */
  private size = 0;
  // The dynamic table as a ring: `count` entries from `oldest` on, the newest (index 62) last.
  // It starts small and doubles when full, up to `maxTableSize / 32` entries (all that can fit).
  private names: string[] = [];
  private values: string[] = [];
  private mask = 0;
  private oldest = 0;
  private count = 0;
  // The block being decoded and the read position in it (fields, so helpers need not return pairs).
  private buf: Buffer = EMPTY;
  private pos = 0;

  /** maxTableSize: the SETTINGS_HEADER_TABLE_SIZE we advertise (4096 default). */
  constructor(maxTableSize = 4096) {
    if (!Number.isInteger(maxTableSize) || maxTableSize < 0 || maxTableSize > MAX_INT) {
      throw new RangeError(`HPACK maxTableSize must be an integer from 0 to ${MAX_INT}, got ${maxTableSize}`);
    }
    this.maxTableSize = maxTableSize;
    this.limit = maxTableSize;
    this.resize(Math.min(16, ringCapacity(maxTableSize)));
  }

  /** Octets the dynamic table currently holds (RFC 7541 section 4.1). */
  get tableSize(): number {
    return this.size;
  }

  /** The dynamic table's current maximum size (the last table size update, else the advertised size). */
  get tableLimit(): number {
    return this.limit;
  }

  /** The dynamic table as [name, value] pairs, newest (index 62) first: for tests and diagnostics. */
  tableEntries(): [string, string][] {
    const out: [string, string][] = [];
    for (let d = 1; d <= this.count; d++) {
      const at = (this.oldest + this.count - d) & this.mask;
      out.push([this.names[at]!, this.values[at]!]);
    }
    return out;
  }

  /**
   * Decodes one complete header block (HEADERS + CONTINUATION payloads already joined, padding and
   * priority removed) into a flat array [name0, value0, name1, value1, ...]. Names and values are
   * decoded as latin1 (byte-preserving). Throws HpackError on malformed input, on a table size
   * update above maxTableSize or not at the start of the block, and when the header list exceeds
   * budgets.maxListBytes (the dynamic table is then not kept in sync: close the connection).
   */
  decode(block: Uint8Array, budgets: HeaderBlockBudgets): string[] {
    const buf = Buffer.isBuffer(block) ? block : Buffer.from(block.buffer, block.byteOffset, block.byteLength);
    const end = buf.length;
    const maxList = budgets.maxListBytes;
    const out: string[] = [];
    let listBytes = 0;
    this.buf = buf;
    this.pos = 0;
    while (this.pos < end) {
      const first = buf[this.pos]!;
      let name: string;
      let value: string;
      if (first & 0x80) {
        // 6.1 Indexed Header Field.
        const at = this.pos;
        const index = this.readInt(0x7f);
        if (index === 0) throw new HpackError(`HPACK indexed header field with index 0 ${describe(buf, at)}`);
        if (index <= STATIC_COUNT) {
          name = STATIC_NAMES[index]!;
          value = STATIC_VALUES[index]!;
        } else {
          const slot = this.dynamicSlot(index, at);
          name = this.names[slot]!;
          value = this.values[slot]!;
        }
      } else if (first & 0x40) {
        // 6.2.1 Literal Header Field with Incremental Indexing.
        name = this.literalName(0x3f);
        value = this.readString();
        this.insert(name, value);
      } else if (first & 0x20) {
        // 6.3 Dynamic Table Size Update: only before the block's first field (RFC 7541 section 4.2).
        const at = this.pos;
        if (out.length !== 0) throw new HpackError(`HPACK dynamic table size update after a header field ${describe(buf, at)}`);
        const newLimit = this.readInt(0x1f);
        if (newLimit > this.maxTableSize) {
          throw new HpackError(
            `HPACK dynamic table size update to ${newLimit} above SETTINGS_HEADER_TABLE_SIZE ${this.maxTableSize} ${describe(buf, at)}`,
          );
        }
        this.limit = newLimit;
        while (this.size > newLimit) this.evict();
        continue;
      } else {
        // 6.2.2 Literal Header Field without Indexing (0000) and 6.2.3 Never Indexed (0001).
        name = this.literalName(0x0f);
        value = this.readString();
      }
      listBytes += name.length + value.length + ENTRY_OVERHEAD;
      if (listBytes > maxList) {
        throw new HpackError(`HPACK header list of more than ${maxList} octets (SETTINGS_MAX_HEADER_LIST_SIZE) ${describe(buf, this.pos)}`);
      }
      out.push(name, value);
    }
    this.buf = EMPTY;
    return out;
  }

  /** RFC 7541 section 5.1: an integer whose prefix is the low bits of the current octet selected by `mask`. */
  private readInt(mask: number): number {
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    let value = buf[p++]! & mask;
    if (value === mask) {
      let scale = 1;
      for (;;) {
        if (p >= buf.length) throw new HpackError(`HPACK integer truncated: the block ends inside it ${describe(buf, start)}`);
        const octet = buf[p++]!;
        value += (octet & 0x7f) * scale;
        if (value > MAX_INT) throw new HpackError(`HPACK integer overflow: above ${MAX_INT} ${describe(buf, start)}`);
        if ((octet & 0x80) === 0) break;
        scale *= 128;
        // 2^31 needs at most five continuation octets (7 bits each); more is padding with zeros.
        if (scale > 0x10000000) throw new HpackError(`HPACK integer overflow: more than 5 continuation octets ${describe(buf, start)}`);
      }
    }
    this.pos = p;
    return value;
  }

  /** The name of a literal field: indexed when the prefix integer is not 0, else a string literal. */
  private literalName(mask: number): string {
    const at = this.pos;
    const index = this.readInt(mask);
    if (index === 0) return this.readString();
    if (index <= STATIC_COUNT) return STATIC_NAMES[index]!;
    return this.names[this.dynamicSlot(index, at)]!;
  }

  /** The ring slot of dynamic-table index `index` (62 is the newest entry). */
  private dynamicSlot(index: number, at: number): number {
    const d = index - STATIC_COUNT;
    if (d > this.count) {
      throw new HpackError(`HPACK index ${index} past the table (61 static + ${this.count} dynamic entries) ${describe(this.buf, at)}`);
    }
    return (this.oldest + this.count - d) & this.mask;
  }

  /** RFC 7541 section 5.2: a string literal, Huffman-coded when the H bit is set. */
  private readString(): string {
    const buf = this.buf;
    const at = this.pos;
    if (at >= buf.length) throw new HpackError(`HPACK string literal missing: the block ends before it ${describe(buf, at)}`);
    const huffman = buf[at]! & 0x80;
    const len = this.readInt(0x7f);
    const start = this.pos;
    if (len > buf.length - start) {
      throw new HpackError(`HPACK string literal of ${len} octets runs past the end of the block (${buf.length - start} left) ${describe(buf, at)}`);
    }
    this.pos = start + len;
    if (len === 0) return '';
    return huffman ? this.decodeHuffman(start, start + len, at) : latin1(buf, start, start + len);
  }

  private decodeHuffman(start: number, end: number, at: number): string {
    const buf = this.buf;
    // The shortest code has 5 bits, so n octets hold at most 8n/5 symbols.
    const most = Math.ceil(((end - start) * 8) / 5);
    let out = scratch;
    if (out.length < most) out = scratch = Buffer.allocUnsafeSlow(Math.max(most, out.length * 2));
    let n = 0;
    let state = 0;
    for (let i = start; i < end; i++) {
      const octet = buf[i]!;
      let e = DECODE[(state << 4) | (octet >>> 4)]!;
      if (e & FAILED) throw new HpackError(`HPACK Huffman string contains the EOS symbol ${describe(buf, at)}`);
      if (e & EMITTED) out[n++] = e >>> 8;
      e = DECODE[((e & 0xff) << 4) | (octet & 0x0f)]!;
      if (e & FAILED) throw new HpackError(`HPACK Huffman string contains the EOS symbol ${describe(buf, at)}`);
      if (e & EMITTED) out[n++] = e >>> 8;
      state = e & 0xff;
    }
    const padding = PADDING_DEPTH[state]!;
    if (padding < 0) throw new HpackError(`HPACK Huffman string ends in padding that is not all 1-bits (or inside a code) ${describe(buf, at)}`);
    if (padding > 7) throw new HpackError(`HPACK Huffman string ends in ${padding} bits of padding, more than 7 ${describe(buf, at)}`);
    return latin1(out, 0, n);
  }

  /** RFC 7541 section 4.4: evict oldest entries until the new one fits; one larger than the table empties it. */
  private insert(name: string, value: string): void {
    const entrySize = name.length + value.length + ENTRY_OVERHEAD;
    if (entrySize > this.limit) {
      while (this.count > 0) this.evict();
      return;
    }
    while (this.size + entrySize > this.limit) this.evict();
    if (this.count > this.mask) this.resize(this.names.length * 2);
    const slot = (this.oldest + this.count) & this.mask;
    this.names[slot] = name;
    this.values[slot] = value;
    this.count++;
    this.size += entrySize;
  }

  /** Re-lays the ring out in `capacity` slots (a power of two), the oldest entry first. */
  private resize(capacity: number): void {
    const names = new Array<string>(capacity);
    const values = new Array<string>(capacity);
    for (let i = 0; i < capacity; i++) {
      const from = (this.oldest + i) & this.mask;
      names[i] = i < this.count ? this.names[from]! : '';
      values[i] = i < this.count ? this.values[from]! : '';
    }
    this.names = names;
    this.values = values;
    this.mask = capacity - 1;
    this.oldest = 0;
  }

  private evict(): void {
    const slot = this.oldest;
    this.size -= this.names[slot]!.length + this.values[slot]!.length + ENTRY_OVERHEAD;
    this.names[slot] = '';
    this.values[slot] = '';
    this.oldest = (slot + 1) & this.mask;
    this.count--;
  }
}

// ---------------------------------------------------------------------------------------------
// The request encoder.
// ---------------------------------------------------------------------------------------------

/** Static-table lookups for the encoder: a name's first index, and the index of each (name, value). */
const STATIC_NAME_INDEX = new Map<string, number>();
const STATIC_FIELD_INDEX = new Map<string, Map<string, number>>();
for (let i = 1; i <= STATIC_COUNT; i++) {
  const name = STATIC_NAMES[i]!;
  if (!STATIC_NAME_INDEX.has(name)) STATIC_NAME_INDEX.set(name, i);
  let byValue = STATIC_FIELD_INDEX.get(name);
  if (byValue === undefined) STATIC_FIELD_INDEX.set(name, (byValue = new Map<string, number>()));
  if (!byValue.has(STATIC_VALUES[i]!)) byValue.set(STATIC_VALUES[i]!, i);
}

/** Writes an RFC 7541 section 5.1 integer with an N-bit prefix (`mask` = 2^N - 1) ORed into `flags`. */
function writeInt(out: Buffer, p: number, value: number, mask: number, flags: number): number {
  if (value < mask) {
    out[p++] = flags | value;
    return p;
  }
  out[p++] = flags | mask;
  value -= mask;
  while (value >= 128) {
    out[p++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  out[p++] = value;
  return p;
}

/** Writes a string literal without Huffman coding; a code unit above 0xff is refused (latin1 only). */
function writeString(out: Buffer, p: number, s: string): number {
  p = writeInt(out, p, s.length, 0x7f, 0);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new TypeError(`HPACK header string has a character above U+00FF at ${i}: header strings are latin1 octets`);
    out[p++] = c;
  }
  return p;
}

/**
 * A request header block: each field as an indexed field when (name, value) is in the static
 * table, else a literal WITHOUT indexing (never a dynamic-table insert, so no table to keep),
 * with the name indexed when the name is in the static table; strings not Huffman-coded.
 * `fields` is a flat [name, value, ...] array; names must already be lowercase.
 * Strings are latin1 octets; a character above U+00FF throws a TypeError.
 */
export function encodeHeaderBlock(fields: readonly string[]): Buffer {
  if (fields.length % 2 !== 0)
    throw new TypeError(`HPACK encodeHeaderBlock: a flat [name, value, ...] array needs an even length, got ${fields.length}`);
  // Each field takes at most 1 + 5 (name index or length) + 5 (value length) octets around its strings.
  let bound = 0;
  for (let i = 0; i < fields.length; i++) bound += fields[i]!.length + 6;
  const out = Buffer.allocUnsafe(bound);
  let p = 0;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    const full = STATIC_FIELD_INDEX.get(name)?.get(value);
    if (full !== undefined) {
      p = writeInt(out, p, full, 0x7f, 0x80);
      continue;
    }
    const nameIndex = STATIC_NAME_INDEX.get(name);
    if (nameIndex !== undefined) {
      p = writeInt(out, p, nameIndex, 0x0f, 0);
    } else {
      out[p++] = 0;
      p = writeString(out, p, name);
    }
    p = writeString(out, p, value);
  }
  return out.subarray(0, p);
}
