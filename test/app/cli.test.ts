/**
 * The `ferry` command line as a user meets it: the real CLI in a child process, its exit code and
 * its output. Expected failures (unknown command or option, a missing mapping folder, a port in
 * use) are one line on stderr with no stack trace; help and version go to stdout with exit 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const CLI = path.resolve('src/app/cli.ts');
const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function ferry(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      env: { ...process.env, FERRY_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // A serve that unexpectedly starts would run for ever: stop it, and the assertions say why
    // (generous: a tsx start on a busy two-core machine has taken over 30 s).
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** One line, no stack frame, as a user should see an expected failure. */
function assertOneLine(text: string, what: string): string {
  const lines = text.trimEnd().split('\n');
  assert.equal(lines.length, 1, `${what}: expected one line, got:\n${text}`);
  assert.doesNotMatch(text, /^\s+at /m, `${what}: a stack trace leaked`);
  return lines[0]!;
}

/** A listener held by another process (so the holder's pid is not the test's), and its port. */
async function holdPort(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      "const s = require('net').createServer().listen(0, '127.0.0.1', () => console.log(s.address().port)); process.stdin.on('end', () => process.exit(0)); process.stdin.resume();",
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (code) => reject(new Error(`port holder exited with ${code}`)));
  });
  return { child, port };
}

async function withMappings<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ferry-cli-'));
  try {
    // Nothing listens on port 1: the service is never called, Ferry only needs a valid folder.
    await writeFile(
      path.join(dir, 'm.yaml'),
      'services:\n  demo:\n    protocol: dubbo\n    interface: demo.Demo\n    endpoints: [127.0.0.1:1]\nroutes:\n  - id: ping\n    http: GET /ping\n    call: demo.ping\n',
    );
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('ferry --help and ferry help list the commands, exit 0', async () => {
  for (const args of [['--help'], ['-h'], ['help']]) {
    const r = await ferry(args);
    assert.equal(r.code, 0, args.join(' '));
    for (const cmd of ['serve', 'validate', 'routes', 'openapi'])
      assert.match(r.stdout, new RegExp(`^  ${cmd} `, 'm'), `${args.join(' ')} lists ${cmd}`);
    assert.equal(r.stderr, '');
  }
});

test('ferry <command> --help prints that command’s options, exit 0', async () => {
  const serve = await ferry(['serve', '--help']);
  assert.equal(serve.code, 0);
  assert.match(serve.stdout, /^ferry serve /);
  assert.match(serve.stdout, /--admin-port N/);
  const validate = await ferry(['validate', '--help']);
  assert.equal(validate.code, 0);
  assert.match(validate.stdout, /^ferry validate \[DIR\]/);
  assert.doesNotMatch(validate.stdout, /--admin-port/);
  assert.equal((await ferry(['help', 'routes'])).stdout.split('\n')[0], 'ferry routes [DIR]');
});

test('ferry --version prints the package version, exit 0', async () => {
  const r = await ferry(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), `ferry ${VERSION} (Node.js ${process.version})`);
});

test('no command prints the usage on stderr, exit 2', async () => {
  const r = await ferry([]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^Usage: ferry <command>/);
});

test('an unknown command ("frobnicate") is one line naming it, exit 2', async () => {
  const r = await ferry(['frobnicate']);
  assert.equal(r.code, 2);
  assert.equal(assertOneLine(r.stderr, 'unknown command'), 'ferry: unknown command "frobnicate" (ferry --help lists the commands)');
});

test('an unknown option (serve --bogus) is one line naming it and the command, exit 2', async () => {
  const r = await ferry(['serve', '--bogus']);
  assert.equal(r.code, 2);
  assert.equal(assertOneLine(r.stderr, 'unknown option'), "ferry: Unknown option '--bogus' for ferry serve (ferry serve --help lists the options)");
});

test('a port that is not a number (--port abc) is one line, exit 2', async () => {
  const r = await withMappings((dir) => ferry(['serve', '--mappings', dir, '--port', 'abc']));
  assert.equal(r.code, 2);
  assert.equal(assertOneLine(r.stderr, 'bad port'), 'ferry: --port / FERRY_PORT must be a port number (0-65535), got "abc"');
});

test('validate and serve of a folder that does not exist say so in one line, exit 1', async () => {
  const missing = path.join(tmpdir(), `ferry-no-such-folder-${process.pid}`);
  const validate = await ferry(['validate', missing]);
  assert.equal(validate.code, 1);
  assert.equal(
    assertOneLine(validate.stderr, 'validate'),
    `ferry: mapping folder "${missing}" does not exist (give another with --mappings DIR or FERRY_MAPPINGS)`,
  );
  const serve = await ferry(['serve', '--port', '0', '--admin-port', '0'], { FERRY_MAPPINGS: missing });
  assert.equal(serve.code, 1);
  assert.match(assertOneLine(serve.stderr, 'serve'), /^ferry: mapping folder ".*" does not exist/);
  assert.equal(serve.stdout, '', 'nothing logged before the failure');
});

test('a mapping "folder" that is a file (package.json) is refused in one line, exit 1', async () => {
  const r = await ferry(['validate', 'package.json']);
  assert.equal(r.code, 1);
  assert.match(assertOneLine(r.stderr, 'file'), /^ferry: mapping folder "package.json" is not a folder/);
});

test('HTTP port in use: one line with the port, the holding process and --port / FERRY_PORT, exit 1', async () => {
  const { child, port } = await holdPort();
  try {
    const r = await withMappings((dir) => ferry(['serve', '--mappings', dir, '--port', String(port), '--admin-port', '0', '--no-watch']));
    assert.equal(r.code, 1);
    const line = assertOneLine(r.stderr, 'port in use');
    assert.match(line, new RegExp(`^ferry: cannot listen on 127\\.0\\.0\\.1:${port}: port ${port} is already in use`));
    assert.match(line, new RegExp(`by pid ${child.pid} \\(`), 'names the holder');
    assert.match(line, /choose another with --port \(FERRY_PORT\)$/);
    assert.equal(r.stdout, '', 'the failed start logs nothing else');
  } finally {
    child.stdin!.end();
  }
});

test('admin port in use: the message names --admin-port / FERRY_ADMIN_PORT, exit 1', async () => {
  const { child, port } = await holdPort();
  try {
    const r = await withMappings((dir) => ferry(['serve', '--mappings', dir, '--port', '0', '--no-watch'], { FERRY_ADMIN_PORT: String(port) }));
    assert.equal(r.code, 1);
    const line = assertOneLine(r.stderr, 'admin port in use');
    assert.match(line, new RegExp(`port ${port} is already in use by pid ${child.pid} `));
    assert.match(line, /choose another with --admin-port \(FERRY_ADMIN_PORT\)$/);
  } finally {
    child.stdin!.end();
  }
});
