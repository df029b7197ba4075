/**
 * Decoded message → JSON value, following the proto3 JSON mapping: JSON names, fields without
 * presence left out at their default (unless emitDefaults), 64-bit integers as strings, bytes as
 * base64, enums by name, and the well-known types' own forms. The message comes from protobufjs'
 * generated decoder (fast, exact with Long); this walks it.
 */
import protobuf from 'protobufjs';
import type { Root, Type } from 'protobufjs';
import { FerryError } from '../../errors/index.js';
import { longText, type LongLike } from './draft.js';
import { LONG_TYPES, UNSIGNED_LONG, type FieldInfo, type TypePlans } from './plan.js';
import { scalarJson } from './scalars.js';
import { durationJson, fieldMaskJson, lookupTypeUrl, SPECIAL_JSON, timestampJson, WKT, WRAPPERS, type StructCodec } from './well-known.js';

export interface ToJsonOptions {
  /** Emit fields without presence that hold their default value (0, "", false, [], {}). */
  readonly emitDefaults?: boolean;
}

export interface JsonWriter {
  messageJson(type: Type, message: unknown, opts: ToJsonOptions): unknown;
  /** JSON of a field that holds a value (see hasValue). */
  fieldJson(fi: FieldInfo, v: unknown, opts: ToJsonOptions): unknown;
  /** Whether the field is set: present, or for fields without presence, not at its default. */
  hasValue(fi: FieldInfo, msg: Record<string, unknown>): boolean;
  /** JSON of the field's default value. */
  defaultJson(fi: FieldInfo): unknown;
}

export function createJsonWriter(root: Root, plans: TypePlans, structs: StructCodec): JsonWriter {
  const { info } = plans;

  function elementJson(fi: FieldInfo, v: unknown, opts: ToJsonOptions): unknown {
    if (fi.messageType !== undefined) return messageJson(fi.messageType, v, opts);
    if (fi.enumType !== undefined) {
      if (fi.refName === WKT.nullValue) return null;
      return fi.enumType.valuesById[v as number] ?? v;
    }
    return scalarJson(fi.kind, v);
  }

  /** protobufjs keys 64-bit map keys by an 8-character hash; everything else by its decimal/text form. */
  function mapKeyJson(kind: string, k: string): string {
    if (LONG_TYPES.has(kind) && k.length === 8) {
      return longText(protobuf.util.longFromHash(k, UNSIGNED_LONG.has(kind)), UNSIGNED_LONG.has(kind));
    }
    return k;
  }

  function defaultJson(fi: FieldInfo): unknown {
    if (fi.map) return {};
    if (fi.repeated) return [];
    if (fi.enumType !== undefined) return fi.refName === WKT.nullValue ? null : (fi.enumType.valuesById[0] ?? 0);
    switch (fi.kind) {
      case 'int64':
      case 'sint64':
      case 'sfixed64':
      case 'uint64':
      case 'fixed64':
        return '0';
      case 'bool':
        return false;
      case 'string':
      case 'bytes':
        return '';
      default:
        return 0;
    }
  }

  function hasValue(fi: FieldInfo, msg: Record<string, unknown>): boolean {
    const v = msg[fi.name];
    if (fi.presence) return Object.prototype.hasOwnProperty.call(msg, fi.name) && v !== null && v !== undefined;
    if (v === undefined || v === null) return false;
    if (fi.map) return Object.keys(v).length > 0;
    if (fi.repeated) return (v as unknown[]).length > 0;
    if (typeof v === 'number') return v !== 0 || Object.is(v, -0);
    if (typeof v === 'boolean') return v;
    if (typeof v === 'string') return v !== '';
    if (v instanceof Uint8Array || Array.isArray(v)) return v.length > 0;
    const l = v as LongLike;
    return l.low !== 0 || l.high !== 0;
  }

  function fieldJson(fi: FieldInfo, v: unknown, opts: ToJsonOptions): unknown {
    if (fi.map) {
      return structs.nested(() => {
        const out: Record<string, unknown> = {};
        for (const [k, ev] of Object.entries(v as Record<string, unknown>)) out[mapKeyJson(fi.keyType!, k)] = elementJson(fi, ev, opts);
        return out;
      });
    }
    if (fi.repeated) return structs.nested(() => (v as unknown[]).map((ev) => elementJson(fi, ev, opts)));
    return elementJson(fi, v, opts);
  }

  function messageJson(type: Type, message: unknown, opts: ToJsonOptions): unknown {
    const msg = message as Record<string, unknown>;
    switch (info(type).fullName) {
      case WKT.any:
        return anyJson(msg, opts);
      case WKT.timestamp:
        return timestampJson(msg);
      case WKT.duration:
        return durationJson(msg);
      case WKT.fieldMask:
        return fieldMaskJson(msg);
      case WKT.struct:
        return structs.structJson(msg);
      case WKT.value:
        return structs.valueJson(msg);
      case WKT.listValue:
        return structs.listJson(msg);
      default:
        break;
    }
    const ti = info(type);
    if (WRAPPERS.has(info(type).fullName)) {
      const inner = ti.fields[0]!;
      return scalarJson(inner.kind, msg['value'] ?? defaultJson(inner));
    }
    return structs.nested(() => {
      const out: Record<string, unknown> = {};
      for (const fi of ti.fields) {
        if (hasValue(fi, msg)) out[fi.jsonName] = fieldJson(fi, msg[fi.name], opts);
        else if (opts.emitDefaults === true && !fi.presence) out[fi.jsonName] = defaultJson(fi);
      }
      return out;
    });
  }

  function anyJson(msg: Record<string, unknown>, opts: ToJsonOptions): unknown {
    const url = (msg['type_url'] as string | undefined) ?? '';
    const value = (msg['value'] as Uint8Array | undefined) ?? new Uint8Array(0);
    if (url === '') return {};
    let inner: Type;
    try {
      inner = lookupTypeUrl(root, url, '');
    } catch {
      throw new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', `Any holds type ${url}, which no loaded proto declares`);
    }
    const decoded = inner.decode(value);
    const json = messageJson(inner, decoded, opts);
    if (SPECIAL_JSON.has(inner.fullName)) return { '@type': url, value: json };
    return { '@type': url, ...(json as Record<string, unknown>) };
  }

  return { messageJson, fieldJson, hasValue, defaultJson };
}
