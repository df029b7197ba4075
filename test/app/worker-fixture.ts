// A cluster worker for test/app/cluster.test.ts: answers every request with its pid on the
// shared port from FERRY_TEST_PORT, and exits on SIGTERM once its server has closed.
import { createServer } from 'node:http';

const server = createServer((_req, res) => res.end(String(process.pid)));
server.keepAliveTimeout = 1;
server.listen(Number(process.env['FERRY_TEST_PORT']), '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
