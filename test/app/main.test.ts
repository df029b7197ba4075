/**
 * startFerry refuses a config whose services cannot be set up (here: a sticky cookie and no signing
 * key) with a ConfigError placed at the service's `sticky:` key, before it listens anywhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../src/config/errors.js';
import { startFerry } from '../../src/app/main.js';

test('a sticky cookie without signing keys is a config problem at "sticky:"', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ferry-main-'));
  try {
    await writeFile(
      path.join(dir, 'm.yaml'),
      'services:\n  a:\n    protocol: dubbo\n    interface: com.x.A\n    endpoints: [127.0.0.1:1]\n    sticky: { cookie: FERRY_A }\n',
    );
    await assert.rejects(startFerry({ mappingsDir: dir, port: 0, stickyKeys: [] }), (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.deepEqual(
        e.problems.map((p) => `${path.basename(p.file)}:${p.line}:${p.col}`),
        ['m.yaml:6:13'],
      );
      assert.match(e.problems[0]!.message, /service "a" uses a sticky cookie but no signing key is set/);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
