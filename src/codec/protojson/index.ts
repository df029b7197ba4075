/**
 * Canonical proto3 JSON mapping, both directions, written against protobufjs reflection.
 *
 * Request bodies first go through an encoder compiled per type (json-wire.ts: JSON bytes → protobuf
 * bytes in one pass), which leaves to the general path whatever it does not take, errors included.
 * The general path: JSON → message builds a draft (draft.ts: plain object keyed by proto field name; 64-bit integers
 * as Long, maps as DraftMap) in from-json.ts and encodes it with our own encoder (encode.ts),
 * because protobufjs' generated encoder mis-encodes `map<bool, …>` keys and its fromObject does
 * not follow the JSON mapping (int64 strings, Any, wrappers, Timestamp/Duration/FieldMask,
 * NaN/Infinity, json_name). Message → JSON has two paths: replies go through a writer compiled
 * per type that reads the wire bytes once and writes JSON text (wire-json.ts); the general path
 * decodes with protobufjs' generated decoder and walks the result (to-json.ts), for response_body,
 * status details and as the reference the writer is tested against. Per-type facts are computed once (plan.ts);
 * scalars and the well-known types have their own modules. Rules followed are those of the
 * protobuf JSON mapping spec, checked against Python's `google.protobuf.json_format` by
 * test/e2e/grpc-json-conformance.test.ts.
 */
import { parseExactJson } from '../exact-json.js';
import type { Field, Root, Type } from 'protobufjs';
import { FerryError } from '../../errors/index.js';
import type { Draft, DraftValue } from './draft.js';
import { createDraftEncoder } from './encode.js';
import { createJsonReader } from './from-json.js';
import { fail, rethrowAsBadArgument, type JsonSource } from './mapping-error.js';
import { createTypePlans, type FieldInfo } from './plan.js';
import { createJsonWriter, type ToJsonOptions } from './to-json.js';
import { createStructCodec } from './well-known.js';
import { createWireJson, type WireJsonWriter } from './wire-json.js';
import { createJsonWire, type JsonWireEncoder } from './json-wire.js';

export type { Draft, DraftValue } from './draft.js';
export type { JsonSource } from './mapping-error.js';
export { protoJsonName } from './names.js';
export type { ToJsonOptions } from './to-json.js';
export type { WireJsonWriter } from './wire-json.js';
export { NO_BODY, type JsonWireEncoder } from './json-wire.js';

/** Encoder/decoder between proto3 JSON and protobuf binary for the types of one protobufjs Root. */
export interface ProtoJson {
  /**
   * Parses request JSON text. Numbers are kept as exact text (parseExactJson: lossless-json's values) when `type` has any
   * 64-bit integer field (or an Any, which may hold one), otherwise JSON.parse is used.
   */
  parseText(type: Type, text: string, source: JsonSource): unknown;
  /** JSON value (from parseText or JSON.parse) → draft of `type`. Throws FERRY_BAD_ARGUMENT naming the field. */
  fromJson(type: Type, value: unknown, source: JsonSource): Draft;
  /** JSON value for one field (used for a named `body` field). */
  fieldFromJson(type: Type, fieldName: string, value: unknown, source: JsonSource): DraftValue | undefined;
  /**
   * Sets a field reached by a dotted path of proto or JSON names from a string (path and query
   * parameters). Repeated fields append. Throws FERRY_BAD_ARGUMENT on unknown fields and bad values.
   */
  setFromString(type: Type, draft: Draft, path: readonly string[], text: string, source: JsonSource, overwrite?: boolean): void;
  /** Resolves a dotted field path to fields (throws FERRY_BAD_ARGUMENT when one does not exist). */
  resolvePath(type: Type, path: readonly string[], source: JsonSource): readonly Field[];
  /**
   * The compiled request encoder of `type` (json-wire.ts): a JSON body's bytes → protobuf binary in
   * one pass, or undefined when the general path (jsonBodyText, parseText, fromJson, encode) must
   * run on that body: it then gives the message or the error. Undefined for a well-known type.
   * `parsedAs`: the type whose general path parses the body (the request type, for `body: "field"`).
   */
  bodyEncoder(type: Type, parsedAs?: Type): JsonWireEncoder | undefined;
  /** Draft → protobuf binary. */
  encode(type: Type, draft: Draft): Uint8Array;
  /** Binary → JSON value (plain JS: int64 as strings, bytes base64). */
  toJson(type: Type, bytes: Uint8Array, opts?: ToJsonOptions): unknown;
  /**
   * The compiled reply writer of `type`: protobuf binary → JSON text in one pass (wire-json.ts), the
   * same text as JSON.stringify(toJson(type, bytes, opts)). Throws FERRY_UPSTREAM_PROTOCOL_ERROR.
   */
  writer(type: Type, opts?: ToJsonOptions): WireJsonWriter;
  /** One field of a decoded message → JSON (response_body); default value when unset. */
  fieldToJson(type: Type, message: unknown, fieldName: string, opts?: ToJsonOptions): unknown;
}

/** Builds the JSON mapping for the types of `root` (caches per-type facts; no global state). */
export function createProtoJson(root: Root): ProtoJson {
  const plans = createTypePlans();
  const { info, needsLossless } = plans;
  const structs = createStructCodec(root);
  const encode = createDraftEncoder(plans);
  const reader = createJsonReader(root, plans, structs, encode);
  const writer = createJsonWriter(root, plans, structs);
  const wire = createWireJson(root, plans);
  const jsonWire = createJsonWire(plans, reader, encode);

  function resolvePathInfos(type: Type, path: readonly string[], source: JsonSource): FieldInfo[] {
    const out: FieldInfo[] = [];
    let t: Type | undefined = type;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      const fi: FieldInfo | undefined = t === undefined ? undefined : info(t).byKey.get(seg);
      if (fi === undefined || (i < path.length - 1 && (fi.messageType === undefined || fi.repeated || fi.map))) {
        throw new FerryError('FERRY_BAD_ARGUMENT', `${source.argument}: no field ${path.slice(0, i + 1).join('.')} in ${type.fullName.slice(1)}`, {
          argument: source.argument,
          jsonPath: source.jsonPath,
        });
      }
      out.push(fi);
      t = fi.messageType;
    }
    return out;
  }

  return {
    parseText(type, text, source) {
      try {
        if (needsLossless(type)) return parseExactJson(text);
        return JSON.parse(text) as unknown;
      } catch (err) {
        throw new FerryError('FERRY_BAD_JSON', `${source.argument}: ${(err as Error).message}`, {
          argument: source.argument,
          cause: err,
        });
      }
    },

    fromJson(type, value, source) {
      try {
        return reader.messageOf(type, value, '');
      } catch (err) {
        return rethrowAsBadArgument(err, source);
      }
    },

    fieldFromJson(type, fieldName, value, source) {
      const fi = resolvePathInfos(type, [fieldName], source)[0]!;
      try {
        return reader.fieldValueOf(fi, value, '');
      } catch (err) {
        return rethrowAsBadArgument(err, source);
      }
    },

    setFromString(type, draft, path, text, source, overwrite = false) {
      const fis = resolvePathInfos(type, path, source);
      let d = draft;
      for (let i = 0; i < fis.length - 1; i++) {
        const name = fis[i]!.name;
        let next = d[name];
        if (next === undefined) {
          next = {};
          d[name] = next;
        }
        d = next as Draft;
      }
      const last = fis[fis.length - 1]!;
      try {
        if (last.map) fail('', `map field ${last.name} cannot be set from a parameter`);
        const v = reader.stringToValue(last, text, '');
        if (last.repeated) {
          const arr = (d[last.name] as DraftValue[] | undefined) ?? [];
          arr.push(v);
          d[last.name] = arr;
        } else {
          if (d[last.name] !== undefined && !overwrite) fail('', `field ${path.join('.')} is given more than once`);
          d[last.name] = v;
        }
      } catch (err) {
        rethrowAsBadArgument(err, source);
      }
    },

    resolvePath(type, path, source) {
      return resolvePathInfos(type, path, source).map((fi) => fi.field);
    },

    bodyEncoder: (type, parsedAs) => jsonWire.encoder(type, parsedAs),

    encode,

    toJson(type, bytes, opts = {}) {
      let message: unknown;
      try {
        message = type.decode(bytes);
      } catch (err) {
        // protobufjs refuses messages nested past Reader.recursionLimit (100) and malformed bytes with a bare Error.
        const reason = err instanceof Error ? err.message : String(err);
        throw new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', `the reply is not a valid ${type.fullName.slice(1)}: ${reason}`, { cause: err });
      }
      return writer.messageJson(type, message, opts);
    },

    writer: (type, opts) => wire.writer(type, opts),

    fieldToJson(type, message, fieldName, opts = {}) {
      const fi = info(type).byKey.get(fieldName);
      if (fi === undefined) throw new FerryError('FERRY_CONFIG_INVALID', `response_body names no field ${fieldName} of ${type.fullName.slice(1)}`);
      const msg = message as Record<string, unknown>;
      if (writer.hasValue(fi, msg)) return writer.fieldJson(fi, msg[fi.name], opts);
      if (fi.messageType !== undefined) return writer.messageJson(fi.messageType, fi.messageType.create({}), opts);
      return writer.defaultJson(fi);
    },
  };
}
