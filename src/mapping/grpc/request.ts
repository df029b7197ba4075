/**
 * Pure mapping between the neutral request/response and a gRPC method's messages, following the
 * google.api.http rules: path variables set (nested) fields, `body: "*"` fills the whole message,
 * `body: "field"` fills one field, and every other field may come from the query string
 * (`a.b=1`, repeated by repeating the parameter). Built once per route.
 */
import type { Field, Type } from 'protobufjs';
import { DecodeDeadlineError, NO_DEADLINE, pastDeadline } from '../../codec/decode-deadline.js';
import { FerryError } from '../../errors/index.js';
import type { GatewayRequest } from '../../exchange/index.js';
import { NO_BODY, type Draft, type ProtoJson, type ToJsonOptions } from '../../codec/protojson/index.js';
import { jsonBodyText } from '../request-view.js';

export interface RequestMappingSpec {
  readonly input: Type;
  /** google.api.http body: "*", a top-level field name, or undefined. */
  readonly body?: string;
  /** Names of the template variables (field paths) the router extracts: `variableNames(route.template)`. */
  readonly pathFields: readonly string[];
  /** Use the compiled encoders (default); false keeps every request on the general draft path (tests compare the two). */
  readonly compiled?: boolean;
}

export interface RequestMapping {
  readonly needsBody: boolean;
  /** Builds the request message bytes; throws FERRY_BAD_JSON / FERRY_BAD_ARGUMENT naming the field. */
  build(req: GatewayRequest, params: Readonly<Record<string, string>>): Uint8Array;
}

/** Compiles the request side of a route. Throws a plain Error when `body` names no field. */
export function compileRequestMapping(json: ProtoJson, spec: RequestMappingSpec): RequestMapping {
  const { input, body } = spec;
  const bodySource = { argument: 'body', jsonPath: '$' };
  if (body !== undefined && body !== '*') {
    json.resolvePath(input, [body], bodySource); // validates the name at compile time
  }
  const pathFieldSets = spec.pathFields.map((p) => p.split('.'));
  for (const segs of pathFieldSets) json.resolvePath(input, segs, { argument: `path.${segs.join('.')}`, jsonPath: '$' });
  const pathTop = new Set(spec.pathFields);
  const bodyTop = body !== undefined && body !== '*' ? json.resolvePath(input, [body], bodySource)[0]!.name : undefined;
  // `body: "*"` goes through the compiled encoder (JSON bytes → message bytes); path variables are
  // then appended as their own fields, which a decoder merges over the body's (last value wins), as
  // the general path overwrites them. Not when that merge could differ from overwriting: a path
  // variable inside a oneof (the other member may come last in declaration order) or naming a
  // message field (a Timestamp or wrapper would merge, not replace).
  const isMessage = (f: Field): boolean => f.resolvedType !== null && 'fieldsArray' in f.resolvedType;
  const inOneof = (f: Field): boolean => f.partOf !== null && (f.options as Record<string, unknown> | undefined)?.['proto3_optional'] !== true;
  const safePath = pathFieldSets.every((segs) => {
    const fis = json.resolvePath(input, segs, bodySource);
    return !isMessage(fis[fis.length - 1]!) && !fis.some(inOneof);
  });
  // `body: "field"` naming a singular message field: the field's message through its encoder.
  const bodyField = bodyTop !== undefined ? json.resolvePath(input, [body!], bodySource)[0]! : undefined;
  const bodyFieldTag = bodyField !== undefined && isMessage(bodyField) && !bodyField.repeated && !inOneof(bodyField) ? (bodyField.id << 3) | 2 : -1;
  const compiled =
    spec.compiled === false || !safePath
      ? undefined
      : body === '*'
        ? json.bodyEncoder(input)
        : bodyFieldTag >= 0
          ? json.bodyEncoder(bodyField!.resolvedType as Type, input)
          : undefined;
  // Path variables naming top-level string fields (the common case: resource names) are written
  // straight as their tag and UTF-8 bytes; any other kind goes through the draft (its checks, its errors).
  const pathStrings = pathFieldSets.map((segs) => {
    const fis = json.resolvePath(input, segs, bodySource);
    const f = fis[0]!;
    return segs.length === 1 && f.type === 'string' && !f.repeated && !f.map && !inOneof(f) ? (f.id << 3) | 2 : -1;
  });
  const allPathStrings = spec.compiled !== false && pathStrings.every((tag) => tag >= 0);

  function setPathFields(draft: Draft, params: Readonly<Record<string, string>>): void {
    for (const segs of pathFieldSets) {
      const name = segs.join('.');
      const value = params[name];
      if (value === undefined) {
        throw new FerryError('FERRY_MISSING_ARGUMENT', `path variable ${name} is missing`, { argument: `path.${name}` });
      }
      json.setFromString(input, draft, segs, value, { argument: `path.${name}`, jsonPath: '$' }, true);
    }
  }

  /** `head` (already encoded fields, maybe none), then the path variables' fields. */
  function withPathFields(head: Uint8Array, params: Readonly<Record<string, string>>): Uint8Array {
    if (pathFieldSets.length === 0) return head;
    if (!allPathStrings) {
      const draft: Draft = {};
      setPathFields(draft, params);
      return concat(head, json.encode(input, draft));
    }
    let size = head.length;
    const values: string[] = [];
    for (let k = 0; k < pathFieldSets.length; k++) {
      const name = spec.pathFields[k]!;
      const value = params[name];
      if (value === undefined) {
        throw new FerryError('FERRY_MISSING_ARGUMENT', `path variable ${name} is missing`, { argument: `path.${name}` });
      }
      values.push(value);
      const n = Buffer.byteLength(value, 'utf8');
      size += varintSize(pathStrings[k]!) + varintSize(n) + n;
    }
    const out = Buffer.allocUnsafe(size);
    out.set(head);
    let at = head.length;
    for (let k = 0; k < values.length; k++) {
      at = writeVarint(out, at, pathStrings[k]!);
      const v = values[k]!;
      at = writeVarint(out, at, Buffer.byteLength(v, 'utf8'));
      at += out.write(v, at, 'utf8');
    }
    return out;
  }

  return {
    needsBody: body !== undefined,
    build(req, params) {
      if (body === undefined) {
        if (req.rawQuery === '' && allPathStrings) return withPathFields(EMPTY, params);
      } else if (compiled !== undefined && (body === '*' || req.rawQuery === '')) {
        const bytes = compiled(req.body);
        if (bytes === NO_BODY) return withPathFields(EMPTY, params);
        if (bytes !== undefined) return withPathFields(body === '*' ? bytes : delimited(bodyFieldTag, bytes), params);
      }
      let draft: Draft = {};
      if (body !== undefined) {
        const text = req.body === undefined ? '' : jsonBodyText(req.body);
        if (text.trim() !== '') {
          if (body === '*') {
            draft = json.fromJson(input, json.parseText(input, text, bodySource), bodySource);
          } else {
            const value = json.parseText(input, text, bodySource);
            const dv = json.fieldFromJson(input, body, value, { argument: 'body', jsonPath: '$' });
            if (dv !== undefined) draft[bodyTop!] = dv;
          }
        }
      }
      if (body !== '*' && req.rawQuery !== '') {
        const query = new URLSearchParams(req.rawQuery);
        for (const [key, value] of query) {
          if (pathTop.has(key)) continue;
          const segs = key.split('.');
          if (bodyTop !== undefined) {
            const top = json.resolvePath(input, [segs[0]!], { argument: `query.${key}`, jsonPath: '$' })[0]!;
            if (top.name === bodyTop) continue;
          }
          json.setFromString(input, draft, segs, value, { argument: `query.${key}`, jsonPath: '$' });
        }
      }
      setPathFields(draft, params);
      return json.encode(input, draft);
    },
  };
}

const EMPTY = new Uint8Array(0);

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

function writeVarint(out: Uint8Array, at: number, v: number): number {
  while (v > 127) {
    out[at++] = (v & 127) | 128;
    v >>>= 7;
  }
  out[at++] = v;
  return at;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** A length-delimited field: tag, length, bytes. */
function delimited(tag: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(varintSize(tag) + varintSize(bytes.length) + bytes.length);
  out.set(bytes, writeVarint(out, writeVarint(out, 0, tag), bytes.length));
  return out;
}

export interface ResponseMappingSpec {
  readonly output: Type;
  readonly responseBody?: string;
  readonly emitDefaults: boolean;
}

/**
 * Compiles the response side: reply bytes → JSON text (whole message or `response_body`). Past
 * `deadline` (the route's, performance.now() ms) it stops with 504 FERRY_UPSTREAM_TIMEOUT: the
 * compiled writer looks at the clock as it goes; a `response_body` route, decoded by protobufjs in
 * one call, once between decoding and converting.
 */
export function compileResponseMapping(json: ProtoJson, spec: ResponseMappingSpec): (bytes: Uint8Array, deadline?: number) => string {
  const opts: ToJsonOptions = { emitDefaults: spec.emitDefaults };
  const { output, responseBody } = spec;
  if (responseBody !== undefined) {
    json.resolvePath(output, [responseBody], { argument: 'response_body', jsonPath: '$' });
    return (bytes, deadline = NO_DEADLINE) => {
      const message = output.decode(bytes);
      if (pastDeadline(deadline)) throw new DecodeDeadlineError();
      return JSON.stringify(json.fieldToJson(output, message, responseBody, opts));
    };
  }
  return json.writer(output, opts);
}
