/**
 * The class-file, signature and zip readers on class files javac (Java 17) wrote here, on the sample
 * provider's API jar as Maven packs it, and on hostile input: a corrupt jar, a cut-short or
 * unsupported-version class file, a zip bomb (honest and lying headers), nesting past the budget.
 */
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { SignatureSourceError } from '../../../src/errors/index.js';
import { readClassFile, ACC_ENUM, decodeModifiedUtf8 } from '../../../src/codec/classfile/class-file.js';
import { MAX_GENERIC_DEPTH, parseFieldType, parseMethodType } from '../../../src/codec/classfile/signature.js';
import { ZipArchive } from '../../../src/codec/classfile/zip.js';
import { ensureJavaTools, javaToolPaths } from '../../support/java-build.js';
import { compileJava, packJar } from '../../support/javac.js';
import { API_SOURCES } from './fixtures.js';

let withNames: string;
let withoutNames: string;

before(async () => {
  withNames = await compileJava(API_SOURCES, ['-parameters']);
  withoutNames = await compileJava(API_SOURCES);
});
after(async () => {
  for (const d of [withNames, withoutNames]) if (d) await rm(path.dirname(d), { recursive: true, force: true });
});

const classAt = async (dir: string, name: string) => readClassFile(await readFile(path.join(dir, `${name.replaceAll('.', '/')}.class`)), name);

function isSourceError(pattern: RegExp): (e: unknown) => boolean {
  return (e) => e instanceof SignatureSourceError && e.code === 'FERRY_SIGNATURE_SOURCE_INVALID' && pattern.test(e.message);
}

test('an interface javac wrote: methods with descriptors, generic signatures, -parameters names and throws', async () => {
  const cls = await classAt(withNames, 'com.acme.shop.OrderService');
  assert.equal(cls.major, 61);
  assert.equal(cls.name, 'com.acme.shop.OrderService');
  assert.deepEqual(cls.interfaces, ['com.acme.shop.Named']);
  const get = cls.methods.find((m) => m.name === 'get')!;
  assert.equal(get.descriptor, '(J)Lcom/acme/shop/Order;');
  assert.deepEqual(get.parameterNames, ['orderId']);
  assert.deepEqual(get.exceptions, ['com.acme.shop.OrderMissing']);
  const list = cls.methods.find((m) => m.name === 'list')!;
  assert.equal(list.signature, '(ILcom/acme/shop/Status;)Ljava/util/List<Lcom/acme/shop/Order;>;');
  assert.deepEqual(list.parameterNames, ['limit', 'status']);
  const same = parseMethodType(cls.methods.find((m) => m.name === 'same')!.signature!, 'same');
  assert.deepEqual(same.params, [{ kind: 'variable', name: 'T' }]);
  assert.deepEqual(same.typeParameters.get('T'), { kind: 'class', name: 'com.acme.shop.Order', args: [] });
  // Without -parameters there is no MethodParameters attribute.
  const bare = await classAt(withoutNames, 'com.acme.shop.OrderService');
  assert.equal(bare.methods.find((m) => m.name === 'get')!.parameterNames, undefined);
});

test('a POJO and an enum: fields with flags and signatures, superclass, enum constants flagged', async () => {
  const order = await classAt(withNames, 'com.acme.shop.Order');
  assert.equal(order.superName, 'com.acme.shop.Base');
  assert.deepEqual(
    order.fields.map((f) => [f.name, f.signature ?? f.descriptor]),
    [
      ['customer', 'Ljava/lang/String;'],
      ['lines', 'Ljava/util/List<Lcom/acme/shop/Line;>;'],
      ['totals', 'Ljava/util/Map<Ljava/lang/String;Ljava/math/BigDecimal;>;'],
      ['status', 'Lcom/acme/shop/Status;'],
      ['signature', '[B'],
      ['grid', '[[I'],
      ['numbers', 'Ljava/util/Set<+Ljava/lang/Long;>;'],
      ['placedAt', 'Ljava/time/Instant;'],
    ],
  );
  const status = await classAt(withNames, 'com.acme.shop.Status');
  assert.equal(status.superName, 'java.lang.Enum');
  assert.deepEqual(
    status.fields.filter((f) => (f.access & ACC_ENUM) !== 0).map((f) => f.name),
    ['NEW', 'PAID', 'SHIPPED'],
  );
});

test('signatures: nested generics, wildcards, arrays, inner classes of generic classes; nesting is bounded', () => {
  assert.deepEqual(parseFieldType('Ljava/util/Map<Ljava/lang/String;Ljava/util/List<[J>;>;', 'f'), {
    kind: 'class',
    name: 'java.util.Map',
    args: [
      { kind: 'class', name: 'java.lang.String', args: [] },
      { kind: 'class', name: 'java.util.List', args: [{ kind: 'array', elem: { kind: 'primitive', name: 'long' } }] },
    ],
  });
  assert.deepEqual(parseFieldType('Lcom/x/Outer<TT;>.Inner<*>;', 'f'), { kind: 'class', name: 'com.x.Outer$Inner', args: [{ kind: 'wildcard' }] });
  const deep = 'Ljava/util/List<'.repeat(MAX_GENERIC_DEPTH + 2) + 'J' + '>;'.repeat(MAX_GENERIC_DEPTH + 2);
  assert.throws(() => parseFieldType(deep, 'deep'), isSourceError(/nested deeper than 32/));
  assert.throws(() => parseFieldType('Ljava/util/List<J', 'cut'), isSourceError(/malformed signature/));
  assert.throws(() => parseMethodType('(JQ)V', 'bad'), isSourceError(/expected a type/));
});

test('modified UTF-8: NUL as C0 80 and supplementary characters as two 3-byte surrogates', () => {
  assert.equal(decodeModifiedUtf8(Buffer.from([0x61, 0xc0, 0x80, 0x62])), 'a\u0000b');
  assert.equal(decodeModifiedUtf8(Buffer.from([0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80])), '\u{1F600}');
  assert.throws(() => decodeModifiedUtf8(Buffer.from([0x00])), /malformed/);
});

test('hostile class files: unsupported version, cut short, not a class, constant pool over budget', async () => {
  const bytes = await readFile(path.join(withNames, 'com/acme/shop/Line.class'));
  const future = Buffer.from(bytes);
  future.writeUInt16BE(70, 6); // Java 26
  assert.throws(
    () => readClassFile(future, 'Line.class'),
    isSourceError(/^Line\.class: class file version 70 is not supported \(Ferry reads 45 to 69/),
  );
  assert.throws(() => readClassFile(bytes.subarray(0, bytes.length - 7), 'Line.class'), isSourceError(/cut short/));
  assert.throws(() => readClassFile(Buffer.from('PK\u0003\u0004 not a class'), 'x.class'), isSourceError(/no CAFEBABE/));
  assert.throws(
    () => readClassFile(bytes, 'Line.class', { maxConstantPoolEntries: 5 }),
    isSourceError(/constant pool has \d+ entries, over the budget of 5/),
  );
  assert.throws(() => readClassFile(bytes, 'Line.class', { maxClassBytes: 100 }), isSourceError(/over the budget of 100/));
  // A constant pool entry with an unknown tag (byte 10 is the first entry's tag).
  const badTag = Buffer.from(bytes);
  badTag[10] = 99;
  assert.throws(() => readClassFile(badTag, 'Line.class'), isSourceError(/unknown tag 99/));
});

test('a jar the JDK tool packed reads back byte for byte; the sample API jar Maven built holds the bank classes', async () => {
  const jar = await packJar(withNames, path.join(path.dirname(withNames), 'api.jar'));
  const zip = new ZipArchive(await readFile(jar), jar);
  const direct = await readFile(path.join(withNames, 'com/acme/shop/Order.class'));
  assert.deepEqual(zip.read('com/acme/shop/Order.class'), direct);
  assert.equal(zip.read('com/acme/shop/Nope.class'), undefined);

  await ensureJavaTools();
  const api = new ZipArchive(await readFile(javaToolPaths().providerApiJar), 'api jar');
  const names = [...api.names()].filter((n) => n.endsWith('.class')).sort();
  assert.ok(names.includes('com/example/bank/AccountService.class'), names.join(', '));
  assert.ok(!names.some((n) => n.startsWith('com/example/sample/')), 'the API jar holds no implementation classes');
  const svc = readClassFile(api.read('com/example/bank/AccountService.class')!, 'AccountService.class');
  assert.deepEqual(svc.methods.find((m) => m.name === 'transfer')!.parameterNames, ['fromId', 'transfer', 'requestId']);
});

test('hostile jars: cut short, corrupt data, a zip bomb with an honest header and one with a lying header, too many entries', async () => {
  const dir = path.dirname(withNames);
  const jar = await readFile(await packJar(withNames, path.join(dir, 'h.jar')));
  assert.throws(
    () => new ZipArchive(jar.subarray(0, jar.length - 30), 'cut.jar'),
    isSourceError(/^cut\.jar is not a usable jar: no end of central directory/),
  );
  assert.throws(() => new ZipArchive(jar, 'h.jar', { maxEntries: 3 }), isSourceError(/entries, over the budget of 3/));

  // Corrupt one byte inside an entry's compressed data: CRC or inflate fails, naming the entry.
  const zip = new ZipArchive(jar, 'h.jar');
  const entry = 'com/acme/shop/Order.class';
  const at = jar.indexOf(Buffer.from(entry)) + entry.length + 8; // into the local entry's data
  const corrupt = Buffer.from(jar);
  corrupt[at] = corrupt[at]! ^ 0xff;
  assert.ok(zip.read(entry));
  assert.throws(
    () => new ZipArchive(corrupt, 'bad.jar').read(entry),
    isSourceError(/^bad\.jar: entry com\/acme\/shop\/Order\.class (fails its CRC check|cannot be inflated|inflates to)/),
  );

  // A zip bomb: 64 MiB of zeros as one entry (a few tens of KiB packed).
  const bombDir = path.join(dir, 'bomb');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(path.join(bombDir, 'com/x'), { recursive: true });
  await writeFile(path.join(bombDir, 'com/x/Bomb.class'), Buffer.alloc(64 * 1024 * 1024));
  const bombJar = await readFile(await packJar(bombDir, path.join(dir, 'bomb.jar')));
  assert.ok(bombJar.length < 1024 * 1024, `packed ${bombJar.length} bytes`);
  assert.throws(
    () => new ZipArchive(bombJar, 'bomb.jar').read('com/x/Bomb.class'),
    isSourceError(/declares 67108864 bytes, over the budget of 4194304/),
  );
  // The same with the central directory lying (it claims 100 bytes): inflation stops at the budget.
  const liar = Buffer.from(bombJar);
  const name = Buffer.from('com/x/Bomb.class');
  const eocd = liar.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const dirStart = liar.readUInt32LE(eocd + 16);
  const central = liar.indexOf(name, dirStart) - 46;
  liar.writeUInt32LE(100, central + 24);
  assert.throws(
    () => new ZipArchive(liar, 'liar.jar').read('com/x/Bomb.class'),
    isSourceError(/inflates past the budget of 4194304 bytes \(a zip bomb\?\)/),
  );
});
