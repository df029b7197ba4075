/**
 * Settings of `ferry serve` refused before anything starts: the real command line, each bad value
 * named with the flag or variable it came from, exit code 2, no stack trace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

function serve(args: readonly string[], env: NodeJS.ProcessEnv = {}): { status: number | null; output: string } {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/app/cli.ts', 'serve', '--mappings', 'mappings', '--port', '0', '--admin-port', '0', ...args],
    {
      encoding: 'utf8',
      env: { ...process.env, ...env },
      timeout: 60_000,
    },
  );
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

test("Envoy's timers: a max without the message timeout, and values that are not positive integers (input: --envoy-max-message-timeout-ms 5000 alone, --envoy-message-timeout-ms 1s, FERRY_ENVOY_MAX_MESSAGE_TIMEOUT_MS=-1)", () => {
  const alone = serve(['--envoy-max-message-timeout-ms', '5000']);
  assert.equal(alone.status, 2, alone.output);
  assert.match(alone.output, /--envoy-max-message-timeout-ms needs --envoy-message-timeout-ms/);
  const unit = serve(['--envoy-message-timeout-ms', '1s']);
  assert.equal(unit.status, 2, unit.output);
  assert.match(unit.output, /--envoy-message-timeout-ms \/ FERRY_ENVOY_MESSAGE_TIMEOUT_MS must be a positive integer, got "1s"/);
  const negative = serve(['--envoy-message-timeout-ms', '200'], { FERRY_ENVOY_MAX_MESSAGE_TIMEOUT_MS: '-1' });
  assert.equal(negative.status, 2, negative.output);
  assert.match(negative.output, /FERRY_ENVOY_MAX_MESSAGE_TIMEOUT_MS must be a positive integer, got "-1"/);
  for (const r of [alone, unit, negative]) assert.doesNotMatch(r.output, /\n\s+at /, 'no stack trace');
});

test('the admin token: too short, given twice, or an unreadable file (inputs: --admin-token short, --admin-token with FERRY_ADMIN_TOKEN_FILE, --admin-token-file /nonexistent)', () => {
  const short = serve(['--admin-token', 'short']);
  assert.equal(short.status, 2, short.output);
  assert.match(short.output, /the admin token must be at least 16 characters/);
  const twice = serve(['--admin-token', 'a-long-enough-admin-token'], { FERRY_ADMIN_TOKEN_FILE: '/etc/hostname' });
  assert.equal(twice.status, 2, twice.output);
  assert.match(twice.output, /give the admin token once/);
  const missing = serve(['--admin-token-file', '/nonexistent/ferry-token']);
  assert.equal(missing.status, 2, missing.output);
  assert.match(missing.output, /--admin-token-file \(FERRY_ADMIN_TOKEN_FILE\) \/nonexistent\/ferry-token cannot be read/);
  for (const r of [short, twice, missing]) assert.doesNotMatch(r.output, /\n\s+at /, 'no stack trace');
});
