/**
 * What JSON → message builds before encoding: a "draft", a plain object keyed by proto field name,
 * with 64-bit integers as protobufjs Longs and maps as DraftMap (entries of [key, value]).
 */
import protobuf from 'protobufjs';

/** A protobufjs Long as far as this codec needs it. */
export interface LongLike {
  low: number;
  high: number;
  unsigned: boolean;
  toString(radix?: number): string;
}
interface LongStatic {
  fromBits(low: number, high: number, unsigned?: boolean): LongLike;
}
const LongImpl = protobuf.util.Long as unknown as LongStatic;

/** A message being built from JSON: proto field name → value (see the module doc for the shapes). */
export type Draft = { [field: string]: DraftValue };
export type DraftValue = number | boolean | string | Uint8Array | LongLike | Draft | DraftValue[] | Array<[DraftValue, DraftValue]>;

/** Marks a draft map so it is not mistaken for a repeated field. */
export class DraftMap {
  constructor(readonly entries: Array<[DraftValue, DraftValue]> = []) {}
}

/** The Long of a 64-bit integer (two's complement for negative values). */
export function longFromBigInt(n: bigint, unsigned: boolean): LongLike {
  const u = BigInt.asUintN(64, n);
  return LongImpl.fromBits(Number(u & 0xffffffffn) | 0, Number(u >> 32n) | 0, unsigned);
}

/** Decimal text of a decoded 64-bit integer (a Long, or a number/string protobufjs may give). */
export function longText(v: unknown, unsigned: boolean): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return v;
  const l = v as LongLike;
  if (l.unsigned !== unsigned) return LongImpl.fromBits(l.low, l.high, unsigned).toString();
  return l.toString();
}
