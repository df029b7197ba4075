/**
 * Java's string bytes in Hessian: each UTF-16 code unit as a 1–3 byte sequence (modified UTF-8 /
 * CESU-8, so a non-BMP character is two 3-byte surrogate halves). Shared by the generic reader and
 * the typed decoder.
 */

/** Where the last decodeJavaUtf call stopped. Each caller owns one, so decoding allocates nothing. */
export interface JavaUtfEnd {
  /** The byte after the string, or -1 when the string could not be decoded. */
  next: number;
  /** On failure: the offset of a byte that is not Java's form, or -1 when the bytes end too early. */
  bad: number;
}

/** Decodes `units` code units from `b[start..limit)`; undefined (with `end` saying why) on bad input. */
export function decodeJavaUtf(b: Buffer, start: number, limit: number, units: number, end: JavaUtfEnd): string | undefined {
  const stop = start + units;
  if (stop <= limit) {
    // ASCII fast path: one byte per unit.
    let i = start;
    while (i < stop && (b[i] as number) < 0x80) i++;
    if (i === stop) {
      end.next = stop;
      if (units > 24) return b.toString('latin1', start, stop);
      let s = '';
      for (let j = start; j < stop; j++) s += String.fromCharCode(b[j] as number);
      return s;
    }
  }
  const codes = new Array<number>(units);
  let p = start;
  end.next = -1;
  end.bad = -1;
  for (let u = 0; u < units; u++) {
    if (p >= limit) return undefined;
    const c = b[p++] as number;
    if (c < 0x80) {
      codes[u] = c;
    } else if ((c & 0xe0) === 0xc0) {
      if (p >= limit) return undefined;
      codes[u] = ((c & 0x1f) << 6) | ((b[p++] as number) & 0x3f);
    } else if ((c & 0xf0) === 0xe0) {
      if (p + 1 >= limit) return undefined;
      codes[u] = ((c & 0x0f) << 12) | (((b[p] as number) & 0x3f) << 6) | ((b[p + 1] as number) & 0x3f);
      p += 2;
    } else {
      end.bad = p - 1;
      return undefined;
    }
  }
  end.next = p;
  let s = '';
  for (let i = 0; i < units; i += 4096) s += String.fromCharCode.apply(null, codes.slice(i, i + 4096));
  return s;
}
