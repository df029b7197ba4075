/**
 * The facts about a message type both directions need, computed once per protobufjs Type and
 * cached: each field's proto and JSON names, kind, cardinality, oneof and presence.
 */
import protobuf from 'protobufjs';
import type { Enum, Field, Type } from 'protobufjs';
import { protoJsonName } from './names.js';
import { WKT } from './well-known.js';

/** Scalar kinds that are 64-bit integers (JSON strings; need lossless parsing). */
export const LONG_TYPES: ReadonlySet<string> = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
export const UNSIGNED_LONG: ReadonlySet<string> = new Set(['uint64', 'fixed64']);

/** Per-message facts computed once per Type. */
export interface TypeInfo {
  /** `.pkg.Name`, cached: protobufjs' fullName getter walks the parents and joins on every read. */
  readonly fullName: string;
  readonly fields: readonly FieldInfo[];
  /** JSON name and proto name → field. */
  readonly byKey: ReadonlyMap<string, FieldInfo>;
}
export interface FieldInfo {
  readonly field: Field;
  readonly name: string;
  readonly jsonName: string;
  readonly id: number;
  /** Scalar type name, or 'message' / 'enum'. */
  readonly kind: string;
  readonly repeated: boolean;
  readonly map: boolean;
  readonly keyType: string | undefined;
  readonly messageType: Type | undefined;
  readonly enumType: Enum | undefined;
  /** Full name of the message or enum type (cached, as TypeInfo.fullName). */
  readonly refName: string | undefined;
  /** Oneof (real, not the synthetic one of proto3 `optional`) this field belongs to. */
  readonly oneof: string | undefined;
  /** True when the field tracks presence (message, oneof member, proto3 optional). */
  readonly presence: boolean;
}

export interface TypePlans {
  /** The cached facts of `type` (computed on first use). */
  info(type: Type): TypeInfo;
  /** Whether JSON for `type` needs lossless numbers: a 64-bit integer field or an Any, at any depth. */
  needsLossless(type: Type): boolean;
}

/** A cache of TypeInfo per Type (one per ProtoJson, so no global state). */
export function createTypePlans(): TypePlans {
  const infos = new Map<Type, TypeInfo>();
  const lossless = new Map<Type, boolean>();

  function info(type: Type): TypeInfo {
    let ti = infos.get(type);
    if (ti !== undefined) return ti;
    const fields: FieldInfo[] = [];
    const byKey = new Map<string, FieldInfo>();
    for (const f of type.fieldsArray) {
      f.resolve();
      const rt = f.resolvedType;
      const opts = f.options as Record<string, unknown> | undefined;
      const jsonName = typeof opts?.['json_name'] === 'string' ? opts['json_name'] : protoJsonName(f.name);
      const proto3Optional = opts?.['proto3_optional'] === true;
      const isMap = (f as { map?: boolean }).map === true;
      const messageType = rt instanceof protobuf.Type ? rt : undefined;
      const enumType = rt instanceof protobuf.Enum ? rt : undefined;
      const oneof = f.partOf !== null && f.partOf !== undefined && !proto3Optional ? f.partOf.name : undefined;
      const fi: FieldInfo = {
        field: f,
        name: f.name,
        jsonName,
        id: f.id,
        kind: messageType !== undefined ? 'message' : enumType !== undefined ? 'enum' : f.type,
        repeated: f.repeated && !isMap,
        map: isMap,
        keyType: isMap ? (f as unknown as { keyType: string }).keyType : undefined,
        messageType,
        enumType,
        refName: rt?.fullName,
        oneof,
        presence: !f.repeated && !isMap && (messageType !== undefined || oneof !== undefined || proto3Optional),
      };
      fields.push(fi);
      byKey.set(jsonName, fi);
      byKey.set(f.name, fi);
    }
    ti = { fullName: type.fullName, fields, byKey };
    infos.set(type, ti);
    return ti;
  }

  function needsLossless(type: Type, seen = new Set<Type>()): boolean {
    const cached = lossless.get(type);
    if (cached !== undefined) return cached;
    if (seen.has(type)) return false;
    seen.add(type);
    let result = info(type).fullName === WKT.any;
    for (const fi of info(type).fields) {
      if (result) break;
      if (LONG_TYPES.has(fi.kind) || (fi.keyType !== undefined && LONG_TYPES.has(fi.keyType))) result = true;
      else if (fi.messageType !== undefined && needsLossless(fi.messageType, seen)) result = true;
    }
    lossless.set(type, result);
    return result;
  }

  return { info, needsLossless: (type) => needsLossless(type) };
}
