/**
 * JSON value → draft of a message, following the proto3 JSON mapping: JSON or proto field names,
 * null as "not set" (except for Value and NullValue), oneofs set at most once, defaults of fields
 * without presence left out, and the well-known types' own forms. Errors carry the JSON path.
 */
import type { Root, Type } from 'protobufjs';
import { DraftMap, type Draft, type DraftValue, type LongLike } from './draft.js';
import { describe, fail, isJsonObject } from './mapping-error.js';
import type { FieldInfo, TypePlans } from './plan.js';
import { enumOf, mapKeyOf, scalarOf, stringScalar } from './scalars.js';
import { durationOf, fieldMaskOf, lookupTypeUrl, SPECIAL_JSON, timestampOf, WKT, WRAPPERS, type StructCodec } from './well-known.js';

export interface JsonReader {
  /** JSON value → draft of `type`. */
  messageOf(type: Type, v: unknown, path: string): Draft;
  /** JSON value of one field → its draft value; undefined for null ("not set"). */
  fieldValueOf(fi: FieldInfo, v: unknown, path: string): DraftValue | undefined;
  /** A path or query parameter's text → the draft value of a singular or repeated field. */
  stringToValue(fi: FieldInfo, text: string, path: string): DraftValue;
}

export function createJsonReader(root: Root, plans: TypePlans, structs: StructCodec, encode: (type: Type, draft: Draft) => Uint8Array): JsonReader {
  const { info } = plans;

  /** JSON value → draft value for one (non-repeated) element of a field. */
  function elementOf(fi: FieldInfo, v: unknown, path: string): DraftValue | undefined {
    if (fi.messageType !== undefined) return messageOf(fi.messageType, v, path);
    if (fi.enumType !== undefined) {
      if (v === null && fi.refName === WKT.nullValue) return 0;
      return enumOf(fi.enumType, v, path);
    }
    return scalarOf(fi.kind, v, path);
  }

  function fieldValueOf(fi: FieldInfo, v: unknown, path: string): DraftValue | undefined {
    if (v === null) {
      // null means "not set", except where null is itself a value.
      if (fi.refName === WKT.value && !fi.repeated && !fi.map) return structs.nullValue();
      if (fi.refName === WKT.nullValue && !fi.repeated && !fi.map) return 0;
      return undefined;
    }
    if (fi.map) {
      if (!isJsonObject(v)) fail(path, `expected an object (map), got ${describe(v)}`);
      const entries: Array<[DraftValue, DraftValue]> = [];
      for (const [k, ev] of Object.entries(v)) {
        const kp = `${path}[${JSON.stringify(k)}]`;
        const key = mapKeyOf(fi.keyType!, k, kp);
        if (ev === null && fi.refName !== WKT.value) fail(kp, 'map values must not be null');
        const val = ev === null ? structs.nullValue() : elementOf(fi, ev, kp);
        entries.push([key, val ?? 0]);
      }
      return new DraftMap(entries) as unknown as DraftValue;
    }
    if (fi.repeated) {
      if (!Array.isArray(v)) fail(path, `expected an array, got ${describe(v)}`);
      return v.map((ev, i) => {
        const ep = `${path}[${i}]`;
        if (ev === null && fi.refName !== WKT.value) fail(ep, 'array elements must not be null');
        return ev === null ? structs.nullValue() : elementOf(fi, ev, ep)!;
      });
    }
    return elementOf(fi, v, path);
  }

  /** The proto3 default of a field without presence (left out of the draft, as protobuf does). */
  function isDefault(fi: FieldInfo, dv: DraftValue): boolean {
    if (fi.presence || fi.repeated || fi.map) return false;
    if (typeof dv === 'number') return dv === 0 && !Object.is(dv, -0);
    if (typeof dv === 'boolean') return dv === false;
    if (typeof dv === 'string') return dv === '';
    if (dv instanceof Uint8Array) return dv.length === 0;
    const l = dv as LongLike;
    return typeof l === 'object' && l !== null && 'low' in l && l.low === 0 && l.high === 0;
  }

  function messageOf(type: Type, v: unknown, path: string): Draft {
    switch (info(type).fullName) {
      case WKT.any:
        return anyOf(v, path);
      case WKT.timestamp:
        return timestampOf(v, path);
      case WKT.duration:
        return durationOf(v, path);
      case WKT.fieldMask:
        return fieldMaskOf(v, path);
      case WKT.struct:
        return structs.structOf(v, path);
      case WKT.value:
        return structs.valueOf(v, path);
      case WKT.listValue:
        return structs.listOf(v, path);
      default:
        break;
    }
    const ti = info(type);
    if (WRAPPERS.has(info(type).fullName)) {
      const inner = ti.fields[0]!;
      const sv = scalarOf(inner.kind, v, path);
      return isDefault(inner, sv) ? {} : { value: sv };
    }
    if (!isJsonObject(v)) return fail(path, `expected an object for ${type.name}, got ${describe(v)}`);
    const draft: Draft = {};
    // Allocated on the first oneof member only; for-in rather than Object.entries (no pair arrays):
    // JSON values are plain objects with no inherited enumerable keys.
    let oneofSet: Map<string, string> | undefined;
    for (const key in v) {
      const fv = v[key];
      const fi = ti.byKey.get(key);
      const fp = `${path}.${key}`;
      if (fi === undefined) fail(fp, `unknown field ${JSON.stringify(key)} in ${type.fullName.slice(1)}`);
      if (draft[fi.name] !== undefined || (fv === null && oneofSet?.get(fi.oneof ?? '') === fi.name)) {
        fail(fp, `field ${fi.name} is given twice`);
      }
      const dv = fieldValueOf(fi, fv, fp);
      if (dv === undefined) continue;
      if (fi.oneof !== undefined) {
        oneofSet ??= new Map<string, string>();
        const other = oneofSet.get(fi.oneof);
        if (other !== undefined) fail(fp, `oneof ${fi.oneof} has more than one field set (${other}, ${fi.name})`);
        oneofSet.set(fi.oneof, fi.name);
      }
      if (isDefault(fi, dv)) continue;
      draft[fi.name] = dv;
    }
    return draft;
  }

  /** Any: `@type` names the packed message; its fields (or, for a special-JSON type, "value") follow. */
  function anyOf(v: unknown, path: string): Draft {
    if (!isJsonObject(v)) return fail(path, `expected an object for Any, got ${describe(v)}`);
    const keys = Object.keys(v);
    if (keys.length === 0) return {};
    const url = v['@type'];
    if (typeof url !== 'string') return fail(`${path}.@type`, 'Any needs an "@type" string');
    const inner = lookupTypeUrl(root, url, `${path}.@type`);
    let draft: Draft;
    if (SPECIAL_JSON.has(inner.fullName)) {
      for (const k of keys)
        if (k !== '@type' && k !== 'value') fail(`${path}.${k}`, `unknown field ${JSON.stringify(k)} in Any of ${inner.fullName.slice(1)}`);
      if (!('value' in v)) fail(`${path}.value`, `Any of ${inner.fullName.slice(1)} needs "value"`);
      draft = messageOf(inner, v['value'], `${path}.value`);
    } else {
      const rest: Record<string, unknown> = {};
      for (const k of keys) if (k !== '@type') rest[k] = v[k];
      draft = messageOf(inner, rest, path);
    }
    return { type_url: url, value: encode(inner, draft) };
  }

  function stringToValue(fi: FieldInfo, text: string, path: string): DraftValue {
    if (fi.messageType !== undefined) {
      const full = fi.messageType.fullName;
      if (WRAPPERS.has(full)) {
        const inner = info(fi.messageType).fields[0]!;
        return { value: stringScalar(inner.kind, text, path) };
      }
      if (full === WKT.timestamp || full === WKT.duration || full === WKT.fieldMask) return messageOf(fi.messageType, text, path);
      return fail(path, `a message field (${full.slice(1)}) cannot be set from a single value`);
    }
    if (fi.enumType !== undefined) return enumOf(fi.enumType, /^-?\d+$/.test(text) ? Number(text) : text, path);
    return stringScalar(fi.kind, text, path);
  }

  return { messageOf, fieldValueOf, stringToValue };
}
