/**
 * Pure mapping between the neutral request/response and a gRPC method's messages, following the
 * google.api.http rules: path variables set (nested) fields, `body: "*"` fills the whole message,
 * `body: "field"` fills one field, and every other field may come from the query string
 * (`a.b=1`, repeated by repeating the parameter). Built once per route.
 */
import type { Type } from 'protobufjs';
import { DecodeDeadlineError, NO_DEADLINE, pastDeadline } from '../../codec/decode-deadline.js';
import { FerryError } from '../../errors/index.js';
import type { GatewayRequest } from '../../exchange/index.js';
import type { Draft, ProtoJson, ToJsonOptions } from '../../codec/protojson/index.js';
import { jsonBodyText } from '../request-view.js';

export interface RequestMappingSpec {
  readonly input: Type;
  /** google.api.http body: "*", a top-level field name, or undefined. */
  readonly body?: string;
  /** Names of the template variables (field paths) the router extracts: `variableNames(route.template)`. */
  readonly pathFields: readonly string[];
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

  return {
    needsBody: body !== undefined,
    build(req, params) {
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
      for (const segs of pathFieldSets) {
        const name = segs.join('.');
        const value = params[name];
        if (value === undefined) {
          throw new FerryError('FERRY_MISSING_ARGUMENT', `path variable ${name} is missing`, { argument: `path.${name}` });
        }
        json.setFromString(input, draft, segs, value, { argument: `path.${name}`, jsonPath: '$' }, true);
      }
      return json.encode(input, draft);
    },
  };
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
