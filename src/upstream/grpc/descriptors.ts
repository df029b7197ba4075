/**
 * FileDescriptorProtos (google/protobuf/descriptor.proto) as gRPC server reflection and
 * `protoc --descriptor_set_out` carry them, decoded here and turned into a protobufjs Root that the
 * JSON mapping and the google.api.http routes read exactly as they read a Root parsed from .proto
 * text: field names as written, `json_name`, map fields, proto3 `optional`, and each method's
 * `(google.api.http)` rule as `parsedOptions`.
 *
 * Why not protobufjs/ext/descriptor: its Root.fromDescriptor drops `json_name`, turns map fields
 * into repeated entry messages, and its descriptor.proto does not know the google.api.http
 * extension (72295728 on MethodOptions), so derived routes would vanish. The wire reading is
 * protobufjs' Reader; the field numbers are descriptor.proto's and google/api/http.proto's.
 */
import protobuf from 'protobufjs';
import { protoJsonName } from '../../codec/protojson/names.js';

/** Budgets of one decode: nested message depth, and the files of one set. */
const MAX_NESTING = 32;
export const DEFAULT_MAX_DESCRIPTOR_FILES = 512;

export class DescriptorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DescriptorError';
  }
}

export interface HttpRuleDesc {
  readonly [verb: string]: unknown;
}

export interface FieldDesc {
  readonly name: string;
  readonly number: number;
  /** 1 optional, 2 required, 3 repeated. */
  readonly label: number;
  /** descriptor.proto's FieldDescriptorProto.Type (1 double … 18 sint64). */
  readonly type: number;
  readonly typeName?: string;
  readonly defaultValue?: string;
  readonly oneofIndex?: number;
  readonly jsonName?: string;
  readonly proto3Optional: boolean;
  /** FieldOptions.packed when written. */
  readonly packed?: boolean;
}

export interface MessageDesc {
  readonly name: string;
  readonly fields: readonly FieldDesc[];
  readonly nested: readonly MessageDesc[];
  readonly enums: readonly EnumDesc[];
  readonly oneofs: readonly string[];
  readonly mapEntry: boolean;
}

export interface EnumDesc {
  readonly name: string;
  readonly values: ReadonlyArray<readonly [string, number]>;
  readonly allowAlias: boolean;
}

export interface MethodDesc {
  readonly name: string;
  readonly inputType: string;
  readonly outputType: string;
  readonly clientStreaming: boolean;
  readonly serverStreaming: boolean;
  /** The `(google.api.http)` rule, shaped as protobufjs' parser shapes it (snake_case keys). */
  readonly http?: HttpRuleDesc;
}

export interface ServiceDesc {
  readonly name: string;
  readonly methods: readonly MethodDesc[];
}

export interface FileDesc {
  readonly name: string;
  readonly package: string;
  readonly dependencies: readonly string[];
  /** `proto2`, `proto3` or `editions` (an empty syntax field means proto2). */
  readonly syntax: string;
  readonly messages: readonly MessageDesc[];
  readonly enums: readonly EnumDesc[];
  readonly services: readonly ServiceDesc[];
  /** The file's bytes as received (a descriptor set is written from these, unchanged). */
  readonly bytes: Uint8Array;
}

type Reader = protobuf.Reader;

/** Reads a message's fields: `on(field, wireType)` returns true when it consumed the value. */
function readFields(bytes: Uint8Array, what: string, on: (r: Reader, field: number, wire: number) => boolean): void {
  const r = protobuf.Reader.create(bytes);
  try {
    while (r.pos < r.len) {
      const tag = r.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 0) throw new DescriptorError(`${what}: field number 0`);
      if (!on(r, field, wire)) r.skipType(wire);
    }
  } catch (err) {
    if (err instanceof DescriptorError) throw err;
    throw new DescriptorError(`${what} is not a valid protobuf message (${(err as Error).message})`);
  }
}

/** The value of a length-delimited field, refusing another wire type. */
function lenField(r: Reader, wire: number, what: string): Uint8Array {
  if (wire !== 2) throw new DescriptorError(`${what}: expected a length-delimited field, got wire type ${wire}`);
  return r.bytes();
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
function text(r: Reader, wire: number, what: string): string {
  const bytes = lenField(r, wire, what);
  try {
    return utf8.decode(bytes);
  } catch {
    throw new DescriptorError(`${what}: a string that is not UTF-8`);
  }
}

function varint(r: Reader, wire: number, what: string): number {
  if (wire !== 0) throw new DescriptorError(`${what}: expected a varint, got wire type ${wire}`);
  return r.int32();
}

/** One FileDescriptorProto. */
export function decodeFileDescriptor(bytes: Uint8Array): FileDesc {
  let name = '';
  let pkg = '';
  let syntax = '';
  const dependencies: string[] = [];
  const messages: MessageDesc[] = [];
  const enums: EnumDesc[] = [];
  const services: ServiceDesc[] = [];
  readFields(bytes, 'a FileDescriptorProto', (r, f, w) => {
    switch (f) {
      case 1:
        name = text(r, w, 'FileDescriptorProto.name');
        return true;
      case 2:
        pkg = text(r, w, 'FileDescriptorProto.package');
        return true;
      case 3:
        dependencies.push(text(r, w, 'FileDescriptorProto.dependency'));
        return true;
      case 4:
        messages.push(decodeMessage(lenField(r, w, 'message_type'), 0));
        return true;
      case 5:
        enums.push(decodeEnum(lenField(r, w, 'enum_type')));
        return true;
      case 6:
        services.push(decodeService(lenField(r, w, 'service')));
        return true;
      case 12:
        syntax = text(r, w, 'FileDescriptorProto.syntax');
        return true;
      default:
        return false;
    }
  });
  if (name === '') throw new DescriptorError('a FileDescriptorProto without a name');
  const where = `descriptor of ${name}`;
  if (syntax !== '' && syntax !== 'proto2' && syntax !== 'proto3') {
    throw new DescriptorError(`${where}: syntax "${syntax}" (protobuf editions) is not supported; proto2 and proto3 are`);
  }
  return { name, package: pkg, dependencies, syntax: syntax === '' ? 'proto2' : syntax, messages, enums, services, bytes };
}

function decodeMessage(bytes: Uint8Array, depth: number): MessageDesc {
  if (depth > MAX_NESTING) throw new DescriptorError(`message types nested deeper than ${MAX_NESTING}`);
  let name = '';
  const fields: FieldDesc[] = [];
  const nested: MessageDesc[] = [];
  const enums: EnumDesc[] = [];
  const oneofs: string[] = [];
  let mapEntry = false;
  readFields(bytes, 'a DescriptorProto', (r, f, w) => {
    switch (f) {
      case 1:
        name = text(r, w, 'DescriptorProto.name');
        return true;
      case 2:
        fields.push(decodeField(lenField(r, w, 'field')));
        return true;
      case 3:
        nested.push(decodeMessage(lenField(r, w, 'nested_type'), depth + 1));
        return true;
      case 4:
        enums.push(decodeEnum(lenField(r, w, 'enum_type')));
        return true;
      case 7:
        readFields(lenField(r, w, 'MessageOptions'), 'MessageOptions', (o, of, ow) => {
          if (of !== 7) return false;
          mapEntry = varint(o, ow, 'MessageOptions.map_entry') !== 0;
          return true;
        });
        return true;
      case 8: {
        let oneof = '';
        readFields(lenField(r, w, 'oneof_decl'), 'OneofDescriptorProto', (o, of, ow) => {
          if (of !== 1) return false;
          oneof = text(o, ow, 'OneofDescriptorProto.name');
          return true;
        });
        oneofs.push(oneof);
        return true;
      }
      default:
        return false;
    }
  });
  if (name === '') throw new DescriptorError('a message type without a name');
  return { name, fields, nested, enums, oneofs, mapEntry };
}

function decodeField(bytes: Uint8Array): FieldDesc {
  const d: { -readonly [K in keyof FieldDesc]?: FieldDesc[K] } = { proto3Optional: false };
  readFields(bytes, 'a FieldDescriptorProto', (r, f, w) => {
    switch (f) {
      case 1:
        d.name = text(r, w, 'FieldDescriptorProto.name');
        return true;
      case 3:
        d.number = varint(r, w, 'FieldDescriptorProto.number');
        return true;
      case 4:
        d.label = varint(r, w, 'FieldDescriptorProto.label');
        return true;
      case 5:
        d.type = varint(r, w, 'FieldDescriptorProto.type');
        return true;
      case 6:
        d.typeName = text(r, w, 'FieldDescriptorProto.type_name');
        return true;
      case 7:
        d.defaultValue = text(r, w, 'FieldDescriptorProto.default_value');
        return true;
      case 8:
        readFields(lenField(r, w, 'FieldOptions'), 'FieldOptions', (o, of, ow) => {
          if (of !== 2) return false;
          d.packed = varint(o, ow, 'FieldOptions.packed') !== 0;
          return true;
        });
        return true;
      case 9:
        d.oneofIndex = varint(r, w, 'FieldDescriptorProto.oneof_index');
        return true;
      case 10:
        d.jsonName = text(r, w, 'FieldDescriptorProto.json_name');
        return true;
      case 17:
        d.proto3Optional = varint(r, w, 'FieldDescriptorProto.proto3_optional') !== 0;
        return true;
      default:
        return false;
    }
  });
  if (d.name === undefined || d.name === '') throw new DescriptorError('a field without a name');
  if (d.number === undefined || d.number < 1 || d.number > 536_870_911)
    throw new DescriptorError(`field ${d.name}: number ${d.number} is not 1..2^29-1`);
  if (d.type === undefined && d.typeName === undefined) throw new DescriptorError(`field ${d.name}: no type`);
  return { label: 1, type: 0, ...d } as FieldDesc;
}

function decodeEnum(bytes: Uint8Array): EnumDesc {
  let name = '';
  const values: Array<readonly [string, number]> = [];
  let allowAlias = false;
  readFields(bytes, 'an EnumDescriptorProto', (r, f, w) => {
    switch (f) {
      case 1:
        name = text(r, w, 'EnumDescriptorProto.name');
        return true;
      case 2: {
        let vName = '';
        let vNumber = 0;
        readFields(lenField(r, w, 'value'), 'EnumValueDescriptorProto', (o, of, ow) => {
          if (of === 1) vName = text(o, ow, 'EnumValueDescriptorProto.name');
          else if (of === 2) vNumber = varint(o, ow, 'EnumValueDescriptorProto.number');
          else return false;
          return true;
        });
        if (vName === '') throw new DescriptorError(`enum ${name}: a value without a name`);
        values.push([vName, vNumber]);
        return true;
      }
      case 3:
        readFields(lenField(r, w, 'EnumOptions'), 'EnumOptions', (o, of, ow) => {
          if (of !== 2) return false;
          allowAlias = varint(o, ow, 'EnumOptions.allow_alias') !== 0;
          return true;
        });
        return true;
      default:
        return false;
    }
  });
  if (name === '') throw new DescriptorError('an enum without a name');
  return { name, values, allowAlias };
}

function decodeService(bytes: Uint8Array): ServiceDesc {
  let name = '';
  const methods: MethodDesc[] = [];
  readFields(bytes, 'a ServiceDescriptorProto', (r, f, w) => {
    if (f === 1) name = text(r, w, 'ServiceDescriptorProto.name');
    else if (f === 2) methods.push(decodeMethod(lenField(r, w, 'method')));
    else return false;
    return true;
  });
  if (name === '') throw new DescriptorError('a service without a name');
  return { name, methods };
}

/** MethodOptions' extension field `(google.api.http)` (google/api/annotations.proto). */
const HTTP_RULE_EXTENSION = 72_295_728;

function decodeMethod(bytes: Uint8Array): MethodDesc {
  let name = '';
  let inputType = '';
  let outputType = '';
  let clientStreaming = false;
  let serverStreaming = false;
  let http: HttpRuleDesc | undefined;
  readFields(bytes, 'a MethodDescriptorProto', (r, f, w) => {
    switch (f) {
      case 1:
        name = text(r, w, 'MethodDescriptorProto.name');
        return true;
      case 2:
        inputType = text(r, w, 'MethodDescriptorProto.input_type');
        return true;
      case 3:
        outputType = text(r, w, 'MethodDescriptorProto.output_type');
        return true;
      case 4:
        readFields(lenField(r, w, 'MethodOptions'), 'MethodOptions', (o, of, ow) => {
          if (of !== HTTP_RULE_EXTENSION) return false;
          http = decodeHttpRule(lenField(o, ow, '(google.api.http)'), 0);
          return true;
        });
        return true;
      case 5:
        clientStreaming = varint(r, w, 'client_streaming') !== 0;
        return true;
      case 6:
        serverStreaming = varint(r, w, 'server_streaming') !== 0;
        return true;
      default:
        return false;
    }
  });
  if (name === '' || inputType === '' || outputType === '') throw new DescriptorError(`method ${name || '(no name)'}: no name, input or output type`);
  return { name, inputType, outputType, clientStreaming, serverStreaming, ...(http !== undefined ? { http } : {}) };
}

/** google.api.HttpRule: selector 1, get 2, put 3, post 4, delete 5, patch 6, body 7, custom 8, additional_bindings 11, response_body 12. */
function decodeHttpRule(bytes: Uint8Array, depth: number): HttpRuleDesc {
  const rule: Record<string, unknown> = {};
  const extra: HttpRuleDesc[] = [];
  const VERB: Record<number, string> = { 2: 'get', 3: 'put', 4: 'post', 5: 'delete', 6: 'patch', 7: 'body', 12: 'response_body' };
  readFields(bytes, 'a google.api.HttpRule', (r, f, w) => {
    const key = VERB[f];
    if (key !== undefined) rule[key] = text(r, w, `HttpRule.${key}`);
    else if (f === 8) {
      const custom: Record<string, string> = {};
      readFields(lenField(r, w, 'HttpRule.custom'), 'CustomHttpPattern', (o, of, ow) => {
        if (of === 1) custom['kind'] = text(o, ow, 'CustomHttpPattern.kind');
        else if (of === 2) custom['path'] = text(o, ow, 'CustomHttpPattern.path');
        else return false;
        return true;
      });
      rule['custom'] = custom;
    } else if (f === 11 && depth === 0) extra.push(decodeHttpRule(lenField(r, w, 'additional_bindings'), 1));
    else return false;
    return true;
  });
  // As protobufjs' parser shapes it: one additional binding as an object, several as an array.
  if (extra.length > 0) rule['additional_bindings'] = extra.length === 1 ? extra[0] : extra;
  return rule;
}

/** A FileDescriptorSet (field 1: repeated FileDescriptorProto), within a file-count budget. */
export function decodeDescriptorSet(bytes: Uint8Array, maxFiles = DEFAULT_MAX_DESCRIPTOR_FILES): FileDesc[] {
  const files: FileDesc[] = [];
  readFields(bytes, 'a FileDescriptorSet', (r, f, w) => {
    if (f !== 1) return false;
    if (files.length >= maxFiles) throw new DescriptorError(`the descriptor set holds more than ${maxFiles} files`);
    files.push(decodeFileDescriptor(lenField(r, w, 'FileDescriptorSet.file')));
    return true;
  });
  return files;
}

/** A FileDescriptorSet holding `files` byte for byte as they were received. */
export function encodeDescriptorSet(files: readonly FileDesc[]): Buffer {
  const w = protobuf.Writer.create();
  for (const f of files) w.uint32((1 << 3) | 2).bytes(f.bytes);
  return Buffer.from(w.finish());
}

/** The files in dependency order (each after what it imports); throws for an import no file provides. */
export function orderedFiles(files: readonly FileDesc[]): FileDesc[] {
  const byName = new Map(files.map((f) => [f.name, f]));
  const out: FileDesc[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (f: FileDesc, from: string | undefined): void => {
    const s = state.get(f.name);
    if (s === 'done') return;
    if (s === 'visiting') throw new DescriptorError(`${f.name} imports itself through ${from}`);
    state.set(f.name, 'visiting');
    for (const dep of f.dependencies) {
      const d = byName.get(dep);
      if (d === undefined) throw new DescriptorError(`${f.name} imports ${dep}, which the descriptors do not include`);
      visit(d, f.name);
    }
    state.set(f.name, 'done');
    out.push(f);
  };
  for (const f of files) visit(f, undefined);
  return out;
}

const SCALAR: Readonly<Record<number, string>> = {
  1: 'double',
  2: 'float',
  3: 'int64',
  4: 'uint64',
  5: 'int32',
  6: 'fixed64',
  7: 'fixed32',
  8: 'bool',
  9: 'string',
  12: 'bytes',
  13: 'uint32',
  15: 'sfixed32',
  16: 'sfixed64',
  17: 'sint32',
  18: 'sint64',
};

type Json = Record<string, unknown>;

/**
 * The protobufjs JSON (Root.fromJSON's input) of `files`: packages as nested namespaces, type
 * references fully qualified (`.pkg.Type`). Throws DescriptorError for what Ferry cannot map
 * (proto2 groups, a map entry it cannot read, two files defining one name).
 */
export function descriptorsToJson(files: readonly FileDesc[]): Json {
  const root: Json = { nested: {} };
  for (const file of files) {
    let ns = root;
    for (const part of file.package === '' ? [] : file.package.split('.')) {
      const nested = (ns['nested'] ??= {}) as Json;
      ns = (nested[part] ??= { nested: {} }) as Json;
      if (ns['nested'] === undefined) throw new DescriptorError(`${file.name}: package ${file.package} collides with a type of that name`);
    }
    const nested = (ns['nested'] ??= {}) as Json;
    const edition = file.syntax === 'proto2' ? { edition: 'proto2' } : {};
    const add = (name: string, value: Json): void => {
      if (name in nested) throw new DescriptorError(`${file.name}: ${file.package ? `${file.package}.` : ''}${name} is defined twice`);
      nested[name] = { ...value, ...edition };
    };
    for (const m of file.messages) add(m.name, messageJson(m, file));
    for (const e of file.enums) add(e.name, enumJson(e));
    for (const s of file.services) {
      const methods: Json = {};
      for (const m of s.methods) {
        methods[m.name] = {
          requestType: m.inputType,
          responseType: m.outputType,
          ...(m.clientStreaming ? { requestStream: true } : {}),
          ...(m.serverStreaming ? { responseStream: true } : {}),
          ...(m.http !== undefined ? { parsedOptions: [{ '(google.api.http)': m.http }] } : {}),
        };
      }
      add(s.name, { methods });
    }
  }
  return root;
}

function enumJson(e: EnumDesc): Json {
  return { values: Object.fromEntries(e.values), ...(e.allowAlias ? { options: { allow_alias: true } } : {}) };
}

function messageJson(m: MessageDesc, file: FileDesc): Json {
  const entries = new Map(m.nested.filter((n) => n.mapEntry).map((n) => [n.name, n]));
  const fields: Json = {};
  const oneofs: Record<string, string[]> = {};
  for (const f of m.fields) {
    if (f.type === 10) throw new DescriptorError(`${file.name}: field ${m.name}.${f.name} is a proto2 group, which Ferry does not map`);
    const options: Json = {};
    if (f.jsonName !== undefined && f.jsonName !== protoJsonName(f.name)) options['json_name'] = f.jsonName;
    if (f.proto3Optional) options['proto3_optional'] = true;
    if (f.packed !== undefined) options['packed'] = f.packed;
    if (f.defaultValue !== undefined) options['default'] = defaultOf(f);
    const entryName = f.typeName?.slice(f.typeName.lastIndexOf('.') + 1);
    const entry = f.label === 3 && entryName !== undefined ? entries.get(entryName) : undefined;
    let json: Json;
    if (entry !== undefined) {
      const key = entry.fields.find((x) => x.number === 1);
      const value = entry.fields.find((x) => x.number === 2);
      const keyType = key !== undefined ? SCALAR[key.type] : undefined;
      if (keyType === undefined || value === undefined)
        throw new DescriptorError(`${file.name}: map field ${m.name}.${f.name} has no scalar key or no value`);
      json = { keyType, type: typeOf(value, file, m), id: f.number };
    } else {
      json = { type: typeOf(f, file, m), id: f.number, ...(f.label === 3 ? { rule: 'repeated' } : f.label === 2 ? { rule: 'required' } : {}) };
    }
    if (Object.keys(options).length > 0) json['options'] = options;
    fields[f.name] = json;
    if (f.oneofIndex !== undefined) {
      const name = m.oneofs[f.oneofIndex];
      if (name === undefined) throw new DescriptorError(`${file.name}: field ${m.name}.${f.name} names oneof ${f.oneofIndex}, which is not declared`);
      (oneofs[name] ??= []).push(f.name);
    }
  }
  const nested: Json = {};
  for (const n of m.nested) if (!n.mapEntry) nested[n.name] = messageJson(n, file);
  for (const e of m.enums) nested[e.name] = enumJson(e);
  return {
    fields,
    ...(Object.keys(oneofs).length > 0 ? { oneofs: Object.fromEntries(Object.entries(oneofs).map(([k, v]) => [k, { oneof: v }])) } : {}),
    ...(Object.keys(nested).length > 0 ? { nested } : {}),
  };
}

function typeOf(f: FieldDesc, file: FileDesc, m: MessageDesc): string {
  if (f.typeName !== undefined && f.typeName !== '') {
    // protoc writes references fully qualified; a relative one is resolved by protobufjs from the message.
    if (!/^\.?[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*$/.test(f.typeName))
      throw new DescriptorError(`${file.name}: field ${m.name}.${f.name} has type "${f.typeName}"`);
    return f.typeName;
  }
  const scalar = SCALAR[f.type];
  if (scalar === undefined) throw new DescriptorError(`${file.name}: field ${m.name}.${f.name} has type number ${f.type}`);
  return scalar;
}

function defaultOf(f: FieldDesc): unknown {
  const v = f.defaultValue!;
  if (f.type === 8) return v === 'true';
  if (f.type === 9 || f.type === 12 || f.typeName !== undefined) return v;
  const n = Number(v);
  return Number.isFinite(n) && Number.isSafeInteger(n) ? n : v;
}
