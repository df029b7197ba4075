/**
 * Reads the parts of a Java class file (JVMS chapter 4) that describe an API: the class and its
 * superclass, fields and methods with their descriptors and generic `Signature` attributes, enum
 * constants (fields flagged ACC_ENUM), `MethodParameters` names (javac -parameters) and `Exceptions`.
 * Bytecode and every other attribute are skipped. Hostile input is bounded: the file size, the
 * constant pool's entry count, and every index is checked before use; any inconsistency is a
 * SignatureSourceError naming the class file.
 */
import { SignatureSourceError } from '../../errors/index.js';

/** Class-file major versions read: 45 (Java 1.1) to 69 (Java 25). The format of what is read here has not changed. */
export const MIN_CLASS_VERSION = 45;
export const MAX_CLASS_VERSION = 69;

export interface ClassFileBudgets {
  readonly maxClassBytes: number;
  readonly maxConstantPoolEntries: number;
  readonly maxMembers: number;
}

export const DEFAULT_CLASS_FILE_BUDGETS: ClassFileBudgets = { maxClassBytes: 4 * 1024 * 1024, maxConstantPoolEntries: 65535, maxMembers: 10_000 };

export const ACC_PUBLIC = 0x0001;
export const ACC_STATIC = 0x0008;
export const ACC_TRANSIENT = 0x0080;
export const ACC_SYNTHETIC = 0x1000;
export const ACC_BRIDGE = 0x0040;
export const ACC_INTERFACE = 0x0200;
export const ACC_ENUM = 0x4000;

export interface MemberInfo {
  readonly access: number;
  readonly name: string;
  readonly descriptor: string;
  /** The generic `Signature` attribute, when javac wrote one. */
  readonly signature?: string;
}

export interface MethodInfo extends MemberInfo {
  /** `MethodParameters` names (javac -parameters), one per parameter; absent without it. */
  readonly parameterNames?: readonly (string | undefined)[];
  /** Declared exceptions (`throws`), binary names with dots. */
  readonly exceptions: readonly string[];
}

export interface ClassInfo {
  readonly major: number;
  readonly access: number;
  /** Binary name with dots: `com.example.bank.Account`, `com.x.Outer$Inner`. */
  readonly name: string;
  readonly superName?: string;
  readonly interfaces: readonly string[];
  readonly signature?: string;
  readonly fields: readonly MemberInfo[];
  readonly methods: readonly MethodInfo[];
}

/** Decodes the "modified UTF-8" of class-file strings (JVMS 4.4.7) into a JS string. */
export function decodeModifiedUtf8(b: Uint8Array): string {
  let out = '';
  for (let i = 0; i < b.length;) {
    const x = b[i]!;
    let code: number;
    if (x < 0x80 && x !== 0) {
      code = x;
      i += 1;
    } else if ((x & 0xe0) === 0xc0 && i + 1 < b.length && (b[i + 1]! & 0xc0) === 0x80) {
      code = ((x & 0x1f) << 6) | (b[i + 1]! & 0x3f);
      i += 2;
    } else if ((x & 0xf0) === 0xe0 && i + 2 < b.length && (b[i + 1]! & 0xc0) === 0x80 && (b[i + 2]! & 0xc0) === 0x80) {
      code = ((x & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6) | (b[i + 2]! & 0x3f);
      i += 3;
    } else {
      throw new Error(`malformed modified UTF-8 at byte ${i}`);
    }
    out += String.fromCharCode(code); // surrogates arrive as separate 3-byte units
  }
  return out;
}

type PoolEntry = { tag: 1; text: string } | { tag: 7; nameIndex: number } | { tag: number };

export function readClassFile(data: Uint8Array, where: string, budgets: Partial<ClassFileBudgets> = {}): ClassInfo {
  const b: ClassFileBudgets = { ...DEFAULT_CLASS_FILE_BUDGETS, ...budgets };
  const fail = (why: string): never => {
    throw new SignatureSourceError(`${where}: ${why}`);
  };
  if (data.length > b.maxClassBytes) fail(`the class file is ${data.length} bytes, over the budget of ${b.maxClassBytes}`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let p = 0;
  const need = (n: number): void => {
    if (p + n > data.length) fail('the class file is cut short (corrupt)');
  };
  const u1 = (): number => {
    need(1);
    return view.getUint8(p++);
  };
  const u2 = (): number => {
    need(2);
    const v = view.getUint16(p);
    p += 2;
    return v;
  };
  const u4 = (): number => {
    need(4);
    const v = view.getUint32(p);
    p += 4;
    return v;
  };
  if (data.length < 10 || u4() !== 0xcafebabe) fail('not a class file (no CAFEBABE magic)');
  u2(); // minor
  const major = u2();
  if (major < MIN_CLASS_VERSION || major > MAX_CLASS_VERSION) {
    fail(
      `class file version ${major} is not supported (Ferry reads ${MIN_CLASS_VERSION} to ${MAX_CLASS_VERSION}: Java 1.1 to ${MAX_CLASS_VERSION - 44})`,
    );
  }
  const count = u2();
  if (count - 1 > b.maxConstantPoolEntries) fail(`the constant pool has ${count - 1} entries, over the budget of ${b.maxConstantPoolEntries}`);
  const pool: (PoolEntry | undefined)[] = new Array<PoolEntry | undefined>(count);
  for (let i = 1; i < count; i++) {
    const tag = u1();
    switch (tag) {
      case 1: {
        const len = u2();
        need(len);
        try {
          pool[i] = { tag: 1, text: decodeModifiedUtf8(data.subarray(p, p + len)) };
        } catch (err) {
          fail(`constant ${i}: ${(err as Error).message}`);
        }
        p += len;
        break;
      }
      case 7:
        pool[i] = { tag: 7, nameIndex: u2() };
        break;
      case 8:
      case 16:
      case 19:
      case 20:
        u2();
        pool[i] = { tag };
        break;
      case 15:
        need(3);
        p += 3;
        pool[i] = { tag };
        break;
      case 3:
      case 4:
      case 9:
      case 10:
      case 11:
      case 12:
      case 17:
      case 18:
        need(4);
        p += 4;
        pool[i] = { tag };
        break;
      case 5:
      case 6:
        need(8);
        p += 8;
        pool[i] = { tag };
        i++; // longs and doubles take two slots
        break;
      default:
        fail(`constant ${i} has unknown tag ${tag} (corrupt)`);
    }
  }
  const utf8 = (index: number): string => {
    const e = pool[index];
    if (e === undefined || e.tag !== 1) return fail(`constant ${index} is not a UTF-8 string (corrupt)`);
    return (e as { text: string }).text;
  };
  const className = (index: number): string => {
    const e = pool[index];
    if (e === undefined || e.tag !== 7) return fail(`constant ${index} is not a class (corrupt)`);
    return utf8((e as { nameIndex: number }).nameIndex).replaceAll('/', '.');
  };

  const access = u2();
  const name = className(u2());
  const superIndex = u2();
  const superName = superIndex === 0 ? undefined : className(superIndex);
  const interfaces: string[] = [];
  for (let n = u2(), i = 0; i < n; i++) interfaces.push(className(u2()));

  interface Attrs {
    signature?: string;
    parameterNames?: (string | undefined)[];
    exceptions: string[];
  }
  const attributes = (): Attrs => {
    const out: Attrs = { exceptions: [] };
    for (let n = u2(), i = 0; i < n; i++) {
      const attrName = utf8(u2());
      const len = u4();
      need(len);
      const end = p + len;
      if (attrName === 'Signature' && len === 2) out.signature = utf8(u2());
      else if (attrName === 'MethodParameters' && len >= 1) {
        const k = u1();
        if (len !== 1 + 4 * k) fail('a MethodParameters attribute has the wrong length (corrupt)');
        out.parameterNames = [];
        for (let j = 0; j < k; j++) {
          const ni = u2();
          u2(); // access flags
          out.parameterNames.push(ni === 0 ? undefined : utf8(ni));
        }
      } else if (attrName === 'Exceptions' && len >= 2) {
        const k = u2();
        if (len !== 2 + 2 * k) fail('an Exceptions attribute has the wrong length (corrupt)');
        for (let j = 0; j < k; j++) out.exceptions.push(className(u2()));
      }
      p = end;
    }
    return out;
  };
  const members = (what: string): (MemberInfo & Attrs)[] => {
    const n = u2();
    if (n > b.maxMembers) fail(`${n} ${what}, over the budget of ${b.maxMembers}`);
    const out: (MemberInfo & Attrs)[] = [];
    for (let i = 0; i < n; i++) {
      const acc = u2();
      const memberName = utf8(u2());
      const descriptor = utf8(u2());
      out.push({ access: acc, name: memberName, descriptor, ...attributes() });
    }
    return out;
  };
  const fields = members('fields').map(({ exceptions: _e, parameterNames: _n, ...f }) => f);
  const methods = members('methods');
  const cls = attributes();
  return {
    major,
    access,
    name,
    ...(superName !== undefined ? { superName } : {}),
    interfaces,
    ...(cls.signature !== undefined ? { signature: cls.signature } : {}),
    fields,
    methods,
  };
}
