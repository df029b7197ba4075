/**
 * Draft → protobuf binary. Our own encoder rather than protobufjs' generated one, which mis-encodes
 * `map<bool, …>` keys. Fields are written in declaration order; repeated scalars and enums packed.
 */
import protobuf from 'protobufjs';
import type { Type, Writer } from 'protobufjs';
import type { Draft, DraftMap, DraftValue } from './draft.js';
import type { FieldInfo, TypePlans } from './plan.js';

const PACKABLE: ReadonlySet<string> = new Set([
  'double',
  'float',
  'int32',
  'int64',
  'uint32',
  'uint64',
  'sint32',
  'sint64',
  'fixed32',
  'fixed64',
  'sfixed32',
  'sfixed64',
  'bool',
]);

/** Encodes drafts of the types `plans` describes. */
export function createDraftEncoder(plans: TypePlans): (type: Type, draft: Draft) => Uint8Array {
  const { info } = plans;

  function writeElement(w: Writer, fi: FieldInfo, id: number, v: DraftValue): void {
    if (fi.messageType !== undefined) {
      w.uint32(((id << 3) | 2) >>> 0).fork();
      writeMessage(w, fi.messageType, v as Draft);
      w.ldelim();
    } else if (fi.enumType !== undefined) {
      w.uint32((id << 3) >>> 0).int32(v as number);
    } else {
      writeScalar(w, fi.kind, id, v);
    }
  }

  function writeScalar(w: Writer, kind: string, id: number, v: DraftValue): void {
    const wire = protobuf.types.basic[kind as keyof typeof protobuf.types.basic];
    w.uint32(((id << 3) | wire) >>> 0);
    (w as unknown as Record<string, (x: unknown) => Writer>)[kind]!(v);
  }

  function writeMessage(w: Writer, type: Type, draft: Draft): void {
    for (const fi of info(type).fields) {
      const v = draft[fi.name];
      if (v === undefined) continue;
      if (fi.map) {
        for (const [k, val] of (v as unknown as DraftMap).entries) {
          w.uint32(((fi.id << 3) | 2) >>> 0).fork();
          writeScalar(w, fi.keyType!, 1, k);
          writeElement(w, fi, 2, val);
          w.ldelim();
        }
      } else if (fi.repeated) {
        const arr = v as DraftValue[];
        if (arr.length === 0) continue;
        if (fi.enumType !== undefined || PACKABLE.has(fi.kind)) {
          w.uint32(((fi.id << 3) | 2) >>> 0).fork();
          const m = (w as unknown as Record<string, (x: unknown) => Writer>)[fi.enumType !== undefined ? 'int32' : fi.kind]!;
          for (const x of arr) m.call(w, x);
          w.ldelim();
        } else {
          for (const x of arr) writeElement(w, fi, fi.id, x);
        }
      } else {
        writeElement(w, fi, fi.id, v);
      }
    }
  }

  return function encode(type: Type, draft: Draft): Uint8Array {
    const w = protobuf.Writer.create();
    writeMessage(w, type, draft);
    return w.finish();
  };
}
