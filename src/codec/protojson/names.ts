/** Field names between proto (snake_case) and JSON (lowerCamelCase), as protoc derives them. */

/** The lowerCamelCase JSON name protoc gives a field (underscore removed, next letter upper-cased). */
export function protoJsonName(name: string): string {
  let out = '';
  let upper = false;
  for (const ch of name) {
    if (ch === '_') {
      upper = true;
    } else if (upper) {
      out += ch.toUpperCase();
      upper = false;
    } else {
      out += ch;
    }
  }
  return out;
}

/** The proto field path of a FieldMask JSON path (each capital becomes `_` + lower case). */
export function snakeFromCamel(path: string): string {
  return path.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
}
