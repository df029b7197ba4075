/**
 * The floor for the bench: a bare fastify 5 app with its default JSON body parser and serializer.
 * POST /echo parses a JSON body of about 300 bytes and answers with a JSON object of the size of
 * Ferry's get-account reply, so the difference to Ferry is Ferry's own work.
 *
 *   node --import tsx bench/bare-fastify.ts --port 9000
 */
import { parseArgs } from 'node:util';
import Fastify from 'fastify';

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } } });

const app = Fastify({ logger: false });
app.post('/echo', async (request) => {
  const body = request.body as { to?: unknown; amount?: unknown; memo?: unknown; tags?: unknown };
  // A reply the shape and size of Ferry's get-account JSON (≈ 190 B), built from the request.
  return {
    id: body.to,
    owner: body.memo,
    balance: body.amount,
    currency: 'CNY',
    openedAt: '2020-01-02T03:04:05',
    tags: body.tags,
    active: true,
  };
});
await app.listen({ host: values.host, port: Number(values.port) });
const address = app.server.address();
console.log(JSON.stringify({ msg: 'bare fastify listening', port: typeof address === 'object' && address ? address.port : 0 }));
const stop = (): void => void app.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
