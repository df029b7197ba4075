/**
 * Finding the process that listens on a port (for the "port in use" message): parsing
 * /proc/net/tcp text, and the whole lookup against a real listener of this process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { findPortHolder, listeningInodes } from '../../src/app/port-holder.js';

// Shape of Linux's /proc/net/tcp: a header, then one socket per line (ports in hex).
const TABLE = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000000000000000 20 4 30 10 -1
   2: 00000000:2382 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5151 1 0000000000000000 100 0 0 10 0
`;

test('listeningInodes picks the LISTEN socket of the port (8080 = 1F90), not its connections', () => {
  assert.deepEqual(listeningInodes(TABLE, 8080), ['4242']);
  assert.deepEqual(listeningInodes(TABLE, 9090), ['5151']);
  assert.deepEqual(listeningInodes(TABLE, 1234), []);
});

test('listeningInodes ignores a truncated or garbled table ("garbage", header only)', () => {
  assert.deepEqual(listeningInodes('garbage', 8080), []);
  assert.deepEqual(listeningInodes(TABLE.split('\n')[0]!, 8080), []);
});

test('findPortHolder names this process for a port it listens on, and nobody for a closed one', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    const holder = findPortHolder(port);
    assert.ok(holder, `nobody found on port ${port}`);
    assert.equal(holder.pid, process.pid);
    assert.match(holder.command, /node/);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  assert.equal(findPortHolder(port), undefined);
});
