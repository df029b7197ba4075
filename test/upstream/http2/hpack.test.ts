/**
 * HPACK (RFC 7541) unit tests: the request encoder round-tripped through the decoder and checked
 * byte for byte, the decoder on RFC 7541 Appendix C (C.2 to C.6, the RFC's own hex dumps), and
 * hostile blocks, each of which must be an HpackError (a COMPRESSION_ERROR) with a message that
 * says what was wrong. hpack-oracle.test.ts checks both halves against Python's hpack package.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { HpackDecoder, HpackError, encodeHeaderBlock, type HeaderBlockBudgets } from '../../../src/upstream/http2/hpack.js';

const BIG: HeaderBlockBudgets = { maxListBytes: 1 << 30 };

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

/** A flat [name, value, ...] array from pairs, as the decoder returns them. */
function flat(pairs: readonly (readonly [string, string])[]): string[] {
  return pairs.flatMap(([n, v]) => [n, v]);
}

/** Decodes `block` on a fresh decoder (or `decoder`) and asserts an HpackError whose message matches `pattern`. */
function rejects(block: Buffer, pattern: RegExp, decoder = new HpackDecoder(), budgets: HeaderBlockBudgets = BIG): void {
  assert.throws(
    () => decoder.decode(block, budgets),
    (err: unknown) => {
      assert.ok(err instanceof HpackError, `expected an HpackError for ${block.toString('hex')}, got ${String(err)}`);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

describe('encodeHeaderBlock', () => {
  test('a gRPC request: static (name, value) pairs indexed, static names indexed, the rest literal without indexing', () => {
    const fields = [
      ':method',
      'POST',
      ':scheme',
      'http',
      ':path',
      '/pkg.Svc/Get',
      ':authority',
      'localhost:50051',
      'content-type',
      'application/grpc',
      'te',
      'trailers',
      'grpc-timeout',
      '5000m',
    ];
    const block = encodeHeaderBlock(fields);
    const expected = Buffer.concat([
      hex('83 86'), // indexed :method POST (3), :scheme http (6)
      hex('04 0c'),
      Buffer.from('/pkg.Svc/Get'), // :path (name index 4), literal without indexing
      hex('01 0f'),
      Buffer.from('localhost:50051'), // :authority (1)
      hex('0f 10 10'),
      Buffer.from('application/grpc'), // content-type is index 31: 15 + 16 in a 4-bit prefix
      hex('00 02'),
      Buffer.from('te'),
      hex('08'),
      Buffer.from('trailers'), // new name: 0000 0000, then name and value literals
      hex('00 0c'),
      Buffer.from('grpc-timeout'),
      hex('05'),
      Buffer.from('5000m'),
    ]);
    assert.equal(block.toString('hex'), expected.toString('hex'));
    assert.deepEqual(new HpackDecoder().decode(block, BIG), fields);
  });

  test('RFC 7541 C.2.2 and C.2.4: the two representations the encoder uses give the RFC bytes', () => {
    assert.equal(encodeHeaderBlock([':path', '/sample/path']).toString('hex'), hex('040c 2f73 616d 706c 652f 7061 7468').toString('hex'));
    assert.equal(encodeHeaderBlock([':method', 'GET']).toString('hex'), '82');
  });

  test('never inserts into the peer table: decoding leaves the dynamic table empty', () => {
    const decoder = new HpackDecoder();
    decoder.decode(encodeHeaderBlock(['x-a', '1', ':path', '/', 'content-type', 'application/grpc']), BIG);
    assert.equal(decoder.tableSize, 0);
    assert.deepEqual(decoder.tableEntries(), []);
  });

  test('long strings take multi-octet length integers (127, 128, 300, 70000 octets)', () => {
    for (const len of [126, 127, 128, 300, 70000]) {
      const value = 'v'.repeat(len);
      const fields = ['x-long', value, 'user-agent', value];
      assert.deepEqual(new HpackDecoder().decode(encodeHeaderBlock(fields), BIG), fields, `length ${len}`);
    }
  });

  test('every octet 0x00-0xff survives in names and values (latin1), and the empty block and empty strings', () => {
    const all = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');
    const fields = [all, all, '', '', 'x', '', ':authority', ''];
    assert.deepEqual(new HpackDecoder().decode(encodeHeaderBlock(fields), BIG), fields);
    assert.equal(encodeHeaderBlock([]).length, 0);
    assert.deepEqual(new HpackDecoder().decode(Buffer.alloc(0), BIG), []);
  });

  test('refuses characters above U+00FF and odd-length field arrays', () => {
    assert.throws(() => encodeHeaderBlock(['x-name', 'caf\u00e9\u20ac']), /above U\+00FF/);
    assert.throws(() => encodeHeaderBlock(['x-name']), /even length/);
  });

  test('property: any latin1 header list round-trips through the decoder', () => {
    const str = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 200 });
    const name = fc.oneof(str, fc.constantFrom(':path', ':status', 'content-type', 'grpc-status', 'te', ':method', 'accept-encoding'));
    const value = fc.oneof(str, fc.constantFrom('', 'POST', 'GET', '200', 'gzip, deflate', '/'));
    fc.assert(
      fc.property(fc.array(fc.tuple(name, value), { maxLength: 20 }), (pairs) => {
        const fields = flat(pairs);
        const decoder = new HpackDecoder();
        assert.deepEqual(decoder.decode(encodeHeaderBlock(fields), BIG), fields);
        assert.equal(decoder.tableSize, 0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('HpackDecoder: RFC 7541 Appendix C', () => {
  // The hex dumps and tables of RFC 7541 Appendix C.2 to C.6 (the RFC's text; the same vectors are in
  // hpack-oracle.test.ts's peer, Python hpack, whose encoder reproduces C.3 to C.6 byte for byte).
  const DATE_1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
  const DATE_2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
  const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
  const REQ_1: [string, string][] = [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
  ];
  const REQ_2: [string, string][] = [...REQ_1, ['cache-control', 'no-cache']];
  const REQ_3: [string, string][] = [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':path', '/index.html'],
    [':authority', 'www.example.com'],
    ['custom-key', 'custom-value'],
  ];
  const REQ_TABLES: [string, string][][] = [
    [[':authority', 'www.example.com']],
    [
      ['cache-control', 'no-cache'],
      [':authority', 'www.example.com'],
    ],
    [
      ['custom-key', 'custom-value'],
      ['cache-control', 'no-cache'],
      [':authority', 'www.example.com'],
    ],
  ];
  const REQ_SIZES = [57, 110, 164];
  const RES_1: [string, string][] = [
    [':status', '302'],
    ['cache-control', 'private'],
    ['date', DATE_1],
    ['location', 'https://www.example.com'],
  ];
  const RES_2: [string, string][] = [[':status', '307'], ...RES_1.slice(1)];
  const RES_3: [string, string][] = [
    [':status', '200'],
    ['cache-control', 'private'],
    ['date', DATE_2],
    ['location', 'https://www.example.com'],
    ['content-encoding', 'gzip'],
    ['set-cookie', COOKIE],
  ];
  const RES_TABLES: [string, string][][] = [
    [
      ['location', 'https://www.example.com'],
      ['date', DATE_1],
      ['cache-control', 'private'],
      [':status', '302'],
    ],
    [
      [':status', '307'],
      ['location', 'https://www.example.com'],
      ['date', DATE_1],
      ['cache-control', 'private'],
    ],
    [
      ['set-cookie', COOKIE],
      ['content-encoding', 'gzip'],
      ['date', DATE_2],
    ],
  ];
  const RES_SIZES = [222, 222, 215];

  const CHAINS: Record<string, { tableSize: number; blocks: string[]; lists: [string, string][][]; tables: [string, string][][]; sizes: number[] }> =
    {
      'C.3 requests without Huffman': {
        tableSize: 4096,
        blocks: [
          '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
          '8286 84be 5808 6e6f 2d63 6163 6865',
          '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
        ],
        lists: [REQ_1, REQ_2, REQ_3],
        tables: REQ_TABLES,
        sizes: REQ_SIZES,
      },
      'C.4 requests with Huffman': {
        tableSize: 4096,
        blocks: [
          '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
          '8286 84be 5886 a8eb 1064 9cbf',
          '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
        ],
        lists: [REQ_1, REQ_2, REQ_3],
        tables: REQ_TABLES,
        sizes: REQ_SIZES,
      },
      'C.5 responses without Huffman, 256-octet table (evictions)': {
        tableSize: 256,
        blocks: [
          '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
          '4803 3330 37c1 c0bf',
          '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
        ],
        lists: [RES_1, RES_2, RES_3],
        tables: RES_TABLES,
        sizes: RES_SIZES,
      },
      'C.6 responses with Huffman, 256-octet table (evictions)': {
        tableSize: 256,
        blocks: [
          '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
          '4883 640e ffc1 c0bf',
          '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
        ],
        lists: [RES_1, RES_2, RES_3],
        tables: RES_TABLES,
        sizes: RES_SIZES,
      },
    };

  for (const [label, chain] of Object.entries(CHAINS)) {
    test(`${label}: each block's list, then the dynamic table and its size`, () => {
      const decoder = new HpackDecoder(chain.tableSize);
      chain.blocks.forEach((block, i) => {
        assert.deepEqual(decoder.decode(hex(block), BIG), flat(chain.lists[i]!), `block ${i + 1}`);
        assert.deepEqual(decoder.tableEntries(), chain.tables[i], `table after block ${i + 1}`);
        assert.equal(decoder.tableSize, chain.sizes[i], `table size after block ${i + 1}`);
      });
    });
  }

  test('C.2.1 literal with incremental indexing inserts (custom-key: custom-header, size 55)', () => {
    const decoder = new HpackDecoder();
    assert.deepEqual(decoder.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'), BIG), ['custom-key', 'custom-header']);
    assert.deepEqual(decoder.tableEntries(), [['custom-key', 'custom-header']]);
    assert.equal(decoder.tableSize, 55);
  });

  test('C.2.2 literal without indexing and C.2.3 never indexed leave the table empty; C.2.4 indexed', () => {
    const decoder = new HpackDecoder();
    assert.deepEqual(decoder.decode(hex('040c 2f73 616d 706c 652f 7061 7468'), BIG), [':path', '/sample/path']);
    assert.deepEqual(decoder.decode(hex('1008 7061 7373 776f 7264 0673 6563 7265 74'), BIG), ['password', 'secret']);
    assert.deepEqual(decoder.decode(hex('82'), BIG), [':method', 'GET']);
    assert.equal(decoder.tableSize, 0);
  });
});

describe('HpackDecoder: the dynamic table', () => {
  test('a typical gRPC reply: literals the first time, indexed references from the table afterwards', () => {
    const decoder = new HpackDecoder();
    // :status 200 (indexed 8); content-type (name 31) application/grpc, incremental.
    const headers1 = Buffer.concat([hex('88 5f 10'), Buffer.from('application/grpc')]);
    const trailers1 = Buffer.concat([
      hex('40 0b'),
      Buffer.from('grpc-status'),
      hex('01'),
      Buffer.from('0'),
      hex('40 0c'),
      Buffer.from('grpc-message'),
      hex('00'),
    ]);
    assert.deepEqual(decoder.decode(headers1, BIG), [':status', '200', 'content-type', 'application/grpc']);
    assert.deepEqual(decoder.decode(trailers1, BIG), ['grpc-status', '0', 'grpc-message', '']);
    // Now 62 grpc-message '', 63 grpc-status 0, 64 content-type application/grpc.
    assert.deepEqual(decoder.decode(hex('88 c0'), BIG), [':status', '200', 'content-type', 'application/grpc']);
    assert.deepEqual(decoder.decode(hex('bf be'), BIG), ['grpc-status', '0', 'grpc-message', '']);
    // A literal whose name is a dynamic entry's name (index 63, grpc-status), without indexing.
    assert.deepEqual(decoder.decode(Buffer.concat([hex('0f 30 01'), Buffer.from('5')]), BIG), ['grpc-status', '5']);
    assert.equal(decoder.tableSize, 32 + 28 + 32 + 12 + 32 + 12);
  });

  test('insertion evicts the oldest entries until the new one fits', () => {
    const decoder = new HpackDecoder(100);
    const lit = (n: string, v: string) => Buffer.concat([Buffer.from([0x40, n.length]), Buffer.from(n), Buffer.from([v.length]), Buffer.from(v)]);
    decoder.decode(lit('a', 'x'.repeat(20)), BIG); // 53
    decoder.decode(lit('b', 'y'.repeat(10)), BIG); // 43: 96 in all
    assert.equal(decoder.tableSize, 96);
    decoder.decode(lit('c', ''), BIG); // 33: a goes, 76
    assert.deepEqual(decoder.tableEntries(), [
      ['c', ''],
      ['b', 'y'.repeat(10)],
    ]);
    assert.equal(decoder.tableSize, 76);
  });

  test('an entry larger than the whole table empties it and is not inserted (still returned)', () => {
    const decoder = new HpackDecoder(100);
    decoder.decode(Buffer.concat([hex('40 01'), Buffer.from('a'), hex('01'), Buffer.from('b')]), BIG);
    assert.equal(decoder.tableSize, 34);
    const big = 'z'.repeat(68); // 1 + 68 + 32 = 101: one octet more than the table
    assert.deepEqual(decoder.decode(Buffer.concat([hex('40 01'), Buffer.from('n'), hex('44'), Buffer.from(big)]), BIG), ['n', big]);
    assert.equal(decoder.tableSize, 0);
    assert.deepEqual(decoder.tableEntries(), []);
    rejects(hex('be'), /index 62 past the table \(61 static \+ 0 dynamic/, decoder);
  });

  test('many small entries: the ring grows past its first 16 slots and wraps while evicting, indices stay right', () => {
    const decoder = new HpackDecoder(4096);
    const model: [string, string][] = []; // newest first, as RFC 7541 indexes them
    let size = 0;
    for (let i = 0; i < 400; i++) {
      const name = `k${i}`;
      const value = 'v'.repeat(i % 50);
      decoder.decode(Buffer.concat([Buffer.from([0x40, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]), BIG);
      model.unshift([name, value]);
      size += name.length + value.length + 32;
      while (size > 4096) {
        const [n, v] = model.pop()!;
        size -= n.length + v.length + 32;
      }
      if (i % 37 === 0 || i > 390) {
        assert.deepEqual(decoder.tableEntries(), model, `table after ${i + 1} inserts`);
        assert.equal(decoder.tableSize, size, `size after ${i + 1} inserts`);
        // The oldest entry by index: 61 + count.
        const last = 61 + model.length;
        const block = last < 127 ? Buffer.from([0x80 | last]) : Buffer.from([0xff, last - 127]);
        assert.deepEqual(decoder.decode(block, BIG), model[model.length - 1], `index ${last}`);
      }
    }
    assert.ok(model.length > 16, `expected more than 16 entries at the end, got ${model.length}`);
  });

  test('an entry exactly as large as the table fits (it evicts everything else)', () => {
    const decoder = new HpackDecoder(100);
    decoder.decode(Buffer.concat([hex('40 01'), Buffer.from('a'), hex('01'), Buffer.from('b')]), BIG);
    const exact = 'z'.repeat(67); // 1 + 67 + 32 = 100
    decoder.decode(Buffer.concat([hex('40 01'), Buffer.from('n'), hex('43'), Buffer.from(exact)]), BIG);
    assert.deepEqual(decoder.tableEntries(), [['n', exact]]);
    assert.equal(decoder.tableSize, 100);
  });

  test('size updates at the start of a block (two in a row) evict, and the new limit holds for insertions', () => {
    const decoder = new HpackDecoder();
    decoder.decode(hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'), BIG); // :authority www.example.com, 57
    decoder.decode(hex('8286 84be 5808 6e6f 2d63 6163 6865'), BIG); // + cache-control no-cache, 110
    assert.equal(decoder.tableSize, 110);
    // 0x20: size 0 (empties), then 0x3f 0x1a: 31 + 26 = 57, then an indexed field.
    assert.deepEqual(decoder.decode(hex('20 3f1a 82'), BIG), [':method', 'GET']);
    assert.equal(decoder.tableSize, 0);
    assert.equal(decoder.tableLimit, 57);
    decoder.decode(hex('41 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'), BIG); // 57: fits exactly
    assert.equal(decoder.tableSize, 57);
    decoder.decode(hex('41 01 78'), BIG); // :authority x, 43: evicts the first
    assert.deepEqual(decoder.tableEntries(), [[':authority', 'x']]);
    // A size update to exactly SETTINGS_HEADER_TABLE_SIZE is fine: 0x3f e1 1f = 31 + 97 + 31 * 128 = 4096.
    assert.deepEqual(decoder.decode(hex('3fe11f'), BIG), []);
    assert.equal(decoder.tableLimit, 4096);
    // A size update that shrinks below the current size evicts down to it.
    decoder.decode(hex('40 01 61 01 62'), BIG); // a: b, 34; table now 77
    decoder.decode(hex('3f 03'), BIG); // 34
    assert.deepEqual(decoder.tableEntries(), [['a', 'b']]);
  });

  test('an empty name is HPACK-valid (RFC 9113 name checks are the caller’s): literal and indexed', () => {
    const decoder = new HpackDecoder();
    assert.deepEqual(decoder.decode(hex('00 00 00  40 00 01 76  be'), BIG), ['', '', '', 'v', '', 'v']);
  });

  test('a Uint8Array that is a view into a larger buffer decodes from its own offset', () => {
    const backing = new Uint8Array([0xff, 0xff, 0x82, 0x88, 0xff]);
    assert.deepEqual(new HpackDecoder().decode(backing.subarray(2, 4), BIG), [':method', 'GET', ':status', '200']);
  });

  test('the list budget counts name + value + 32 per field (RFC 9113 SETTINGS_MAX_HEADER_LIST_SIZE): 42 fits 42', () => {
    assert.deepEqual(new HpackDecoder().decode(hex('82'), { maxListBytes: 42 }), [':method', 'GET']);
    assert.deepEqual(new HpackDecoder().decode(hex('82 82'), { maxListBytes: 84 }), [':method', 'GET', ':method', 'GET']);
  });

  test('the constructor refuses a table size that is not an integer in 0..2^31-1', () => {
    assert.throws(() => new HpackDecoder(-1), RangeError);
    assert.throws(() => new HpackDecoder(1.5), RangeError);
    assert.equal(new HpackDecoder(0).tableLimit, 0);
  });
});

describe('HpackDecoder: hostile blocks are HpackErrors', () => {
  test('truncated integer: indexed field 0xff with no continuation octet, and 0xff 0x80 ending mid-integer', () => {
    rejects(hex('ff'), /integer truncated/);
    rejects(hex('ff 80'), /integer truncated/);
    rejects(hex('0f'), /integer truncated/); // a literal's 4-bit name index
    rejects(hex('00 7f'), /integer truncated/); // a string length
  });

  test('integer overflow: 0xff ff ff ff ff 0f is above 2^31-1; six continuation octets of zeros are refused too', () => {
    rejects(hex('ff ff ff ff ff 0f'), /integer overflow: above 2147483647/);
    rejects(hex('ff 80 80 80 80 80 00'), /integer overflow: more than 5 continuation octets/);
    // 2^31-1 itself is a valid integer: as an index it is past the table, not an overflow.
    rejects(hex('ff 80 ff ff ff 07'), /index 2147483647 past the table/);
  });

  test('string length past the end: name of 5 octets with 2 left, value of 3 with 1 left, a missing value', () => {
    rejects(hex('00 05 61 62'), /string literal of 5 octets runs past the end of the block \(2 left\)/);
    rejects(hex('00 01 61 03 62'), /string literal of 3 octets runs past the end of the block \(1 left\)/);
    rejects(hex('00 01 61'), /string literal missing/);
    rejects(hex('44'), /string literal missing/); // :path (4), incremental, no value
    rejects(hex('00 ff 80 80 80 40'), /string literal of 134217855 octets runs past the end/);
  });

  test('Huffman EOS: 32 1-bits (the 30-bit EOS code plus padding) as a name', () => {
    rejects(hex('00 84 ffffffff 00'), /Huffman string contains the EOS symbol/);
    // EOS after a real symbol ('a' = 00011), spread over octets: 00011111 11111111 11111111 11111111 1...
    rejects(hex('00 85 1fffffffff 00'), /EOS/);
  });

  test('Huffman padding longer than 7 bits: 0xff alone (8 bits), and "a" + 11 1-bits', () => {
    rejects(hex('00 81 ff 00'), /8 bits of padding, more than 7/);
    rejects(hex('00 82 1f ff 00'), /11 bits of padding, more than 7/);
    // "a" + 3 1-bits is the correct encoding and decodes.
    assert.deepEqual(new HpackDecoder().decode(hex('00 81 1f 00'), BIG), ['a', '']);
  });

  test('Huffman padding that is not all 1-bits: "a" + 000, "a" + 101, and a code cut short', () => {
    rejects(hex('00 81 18 00'), /padding that is not all 1-bits/);
    rejects(hex('00 81 1d 00'), /padding that is not all 1-bits/);
    // 0xfe: the first 7 bits of a longer code, ended by a 0 bit (not padding).
    rejects(hex('00 81 fe 00'), /padding that is not all 1-bits/);
  });

  test('indexed field with index 0 (0x80)', () => {
    rejects(hex('80'), /indexed header field with index 0/);
  });

  test('index past the table: 62 with an empty table, 63 with one entry, a literal name index past it', () => {
    rejects(hex('be'), /index 62 past the table \(61 static \+ 0 dynamic entries\)/);
    const decoder = new HpackDecoder();
    decoder.decode(hex('40 01 61 01 62'), BIG);
    rejects(hex('bf'), /index 63 past the table \(61 static \+ 1 dynamic entries\)/, decoder);
    rejects(hex('7f 01 00'), /index 64 past the table/); // incremental, name index 63 + 1
  });

  test('size update above SETTINGS_HEADER_TABLE_SIZE: 4097 against 4096, and 1 against 0', () => {
    rejects(hex('3fe21f'), /size update to 4097 above SETTINGS_HEADER_TABLE_SIZE 4096/);
    rejects(hex('21'), /size update to 1 above SETTINGS_HEADER_TABLE_SIZE 0/, new HpackDecoder(0));
  });

  test('size update after a header field: 0x82 then 0x20', () => {
    rejects(hex('82 20'), /size update after a header field/);
    rejects(hex('20 82 3f 00'), /size update after a header field at octet 2/);
  });

  test('header list over the budget: :method GET is 42 against 41, and a large literal', () => {
    rejects(hex('82'), /header list of more than 41 octets/, new HpackDecoder(), { maxListBytes: 41 });
    rejects(encodeHeaderBlock(['x', 'v'.repeat(2000)]), /header list of more than 1024 octets/, new HpackDecoder(), { maxListBytes: 1024 });
  });

  test('property: random bytes, and every prefix of valid blocks, decode or throw HpackError (never another error)', () => {
    const valid = [
      hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'),
      hex('4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3'),
      encodeHeaderBlock(['x-long', 'v'.repeat(300), ':path', '/a']),
    ];
    const decodeOrHpackError = (block: Uint8Array): void => {
      try {
        new HpackDecoder().decode(block, { maxListBytes: 4096 });
      } catch (err) {
        assert.ok(err instanceof HpackError, `expected HpackError for ${Buffer.from(block).toString('hex')}, got ${String(err)}`);
      }
    };
    for (const block of valid) for (let n = 0; n < block.length; n++) decodeOrHpackError(block.subarray(0, n));
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), decodeOrHpackError), { numRuns: 2000 });
  });
});
