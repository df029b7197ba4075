/**
 * The protobuf scalar kinds as small integers, shared by the compiled codecs of both directions
 * (wire-json.ts: bytes → JSON text, json-wire.ts: JSON text → bytes): a switch on a number, not a
 * string, and one table of which wire type each kind travels as.
 */
export const enum K {
  Double,
  Float,
  Int32,
  Uint32,
  Sint32,
  Fixed32,
  Sfixed32,
  Int64,
  Uint64,
  Sint64,
  Fixed64,
  Sfixed64,
  Bool,
  String,
  Bytes,
  Enum,
  Message,
}
export const KIND: Record<string, K> = {
  double: K.Double,
  float: K.Float,
  int32: K.Int32,
  uint32: K.Uint32,
  sint32: K.Sint32,
  fixed32: K.Fixed32,
  sfixed32: K.Sfixed32,
  int64: K.Int64,
  uint64: K.Uint64,
  sint64: K.Sint64,
  fixed64: K.Fixed64,
  sfixed64: K.Sfixed64,
  bool: K.Bool,
  string: K.String,
  bytes: K.Bytes,
};
/** The wire type each kind is sent with when not packed. */
export function wireOf(k: K): number {
  switch (k) {
    case K.Double:
    case K.Fixed64:
    case K.Sfixed64:
      return 1;
    case K.Float:
    case K.Fixed32:
    case K.Sfixed32:
      return 5;
    case K.String:
    case K.Bytes:
    case K.Message:
      return 2;
    default:
      return 0;
  }
}
