/**
 * Property: whatever bytes a jar or class file holds, the readers either read it or throw one
 * SignatureSourceError; never another exception (RangeError, TypeError), never a hang. Inputs are
 * real class files and jars (javac's, the JDK jar tool's) with random bytes overwritten, cut
 * short, or spliced, plus pure noise.
 */
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { SignatureSourceError } from '../../../src/errors/index.js';
import { readClassFile } from '../../../src/codec/classfile/class-file.js';
import { parseClassTypeParameters, parseFieldType, parseMethodType } from '../../../src/codec/classfile/signature.js';
import { ZipArchive } from '../../../src/codec/classfile/zip.js';
import { signatureFromClasses } from '../../../src/codec/service-signature/from-classes.js';
import { compileJava, packJar } from '../../support/javac.js';
import { API_SOURCES } from './fixtures.js';

let classes: string;
let classBytes: Buffer;
let jarBytes: Buffer;
before(async () => {
  classes = await compileJava(API_SOURCES, ['-parameters']);
  classBytes = await readFile(path.join(classes, 'com/acme/shop/Order.class'));
  jarBytes = await readFile(await packJar(classes, path.join(path.dirname(classes), 'f.jar')));
});
after(async () => {
  if (classes) await rm(path.dirname(classes), { recursive: true, force: true });
});

/** Runs `fn`; anything thrown must be a SignatureSourceError. */
function onlySourceErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SignatureSourceError, `threw ${String(err)}`);
  }
}

const mutation = (size: () => number) =>
  fc
    .record({
      edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      cut: fc.option(fc.nat(), { nil: undefined }),
    })
    .map(({ edits, cut }) => ({ edits: edits.map(([i, b]) => [i % size(), b] as const), cut: cut === undefined ? undefined : cut % size() }));

function mutate(base: Buffer, m: { edits: readonly (readonly [number, number])[]; cut: number | undefined }): Buffer {
  const out = Buffer.from(base);
  for (const [i, b] of m.edits) out[i] = b;
  return m.cut === undefined ? out : out.subarray(0, m.cut);
}

test('a class file with random bytes overwritten or cut short: read, or one SignatureSourceError', () => {
  fc.assert(
    fc.property(
      mutation(() => classBytes.length),
      (m) => onlySourceErrors(() => readClassFile(mutate(classBytes, m), 'Order.class')),
    ),
    { numRuns: 2000 },
  );
});

test('a jar with random bytes overwritten or cut short: every entry read, or one SignatureSourceError; the import too', () => {
  fc.assert(
    fc.property(
      mutation(() => jarBytes.length),
      (m) =>
        onlySourceErrors(() => {
          const zip = new ZipArchive(mutate(jarBytes, m), 'f.jar');
          for (const name of zip.names()) zip.read(name);
          const cache = new Map<string, ReturnType<typeof readClassFile> | undefined>();
          signatureFromClasses(
            {
              where: 'f.jar',
              load(n) {
                if (n.startsWith('java.')) return undefined;
                if (!cache.has(n)) {
                  const bytes = zip.read(`${n.replaceAll('.', '/')}.class`);
                  cache.set(n, bytes === undefined ? undefined : readClassFile(bytes, n));
                }
                return cache.get(n);
              },
            },
            'com.acme.shop.OrderService',
          );
        }),
    ),
    { numRuns: 300 },
  );
});

test('noise as a jar, a class file or a signature: one SignatureSourceError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.string({ maxLength: 80 }), (bytes, text) => {
      onlySourceErrors(() => new ZipArchive(Buffer.from(bytes), 'n.jar'));
      onlySourceErrors(() => readClassFile(bytes, 'n.class'));
      onlySourceErrors(() => parseFieldType(text, 'n'));
      onlySourceErrors(() => parseMethodType(text, 'n'));
      onlySourceErrors(() => parseClassTypeParameters(text, 'n'));
    }),
    { numRuns: 3000 },
  );
});
