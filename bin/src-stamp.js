// A fingerprint of src/ (paths, sizes, mtimes): bin/ferry.js runs the compiled dist/ only when
// dist/.src-stamp equals the current one, so a stale build never runs.
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export function srcStamp(root) {
  const hash = createHash('sha1');
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const st = statSync(full);
      if (st.isDirectory()) walk(full);
      else hash.update(`${path.relative(root, full)}\0${st.size}\0${st.mtimeMs}\n`);
    }
  };
  walk(path.join(root, 'src'));
  return hash.digest('hex');
}
