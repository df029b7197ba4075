// A Ferry plugin in plain JavaScript: gives every request an id (the client's x-request-id when it
// sent a sane one), and returns it as a response header so a client can quote it.
import { randomUUID } from 'node:crypto';

export default {
  optionsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: { header: { type: 'string', pattern: '^[a-z0-9-]+$' } },
  },
  create(options) {
    const header = options.header ?? 'x-request-id';
    return {
      onRequest(ctx) {
        const given = ctx.request.headers[header];
        const id = typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID();
        ctx.responseHeaders[header] = id;
      },
    };
  },
};
