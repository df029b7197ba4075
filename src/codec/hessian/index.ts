/**
 * Hessian 2 with declared Java types: the type model, the writer and reader, and the JSON
 * converters. Import from here; the submodules have no side effects.
 */
export {
  createJavaTypeParser,
  hessianArrayType,
  javaTypeName,
  JavaTypeError,
  jvmDescriptor,
  parseJavaType,
  type JavaType,
  type JavaTypeOf,
  type JavaTypeParser,
  type ListClass,
  type MapClass,
  type PojoField,
  type PrimitiveKind,
} from './java-types.js';
export { HessianWriter } from './writer.js';
export {
  decodeAll,
  HessianDecodeError,
  HessianReader,
  JavaDate,
  JavaMap,
  JavaObject,
  LIST_TYPE,
  type HessianReaderOptions,
  type HessianValue,
  type JavaList,
} from './reader.js';
export { compileJsonEncoder, HessianArgumentError, type JsonEncoder, type JsonEncoderOptions } from './encode-json.js';
export { describeThrowable, toJson, type ThrowableInfo, type ToJsonOptions } from './decode-json.js';
