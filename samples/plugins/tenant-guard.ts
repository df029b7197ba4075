// A Ferry plugin in TypeScript: only listed tenants (header x-tenant) may call the route, and a
// tenant's calls are tagged in the reply. TypeScript plugins load when Ferry runs from source (tsx,
// as `npm start` and the tests do); for a compiled Ferry on Node 20, compile the plugin to .mjs.
import type { FerryPlugin, PolicyHooks } from '../../src/gateway/plugins.js';

interface TenantGuardOptions {
  readonly tenants: string[];
}

const plugin: FerryPlugin<TenantGuardOptions> = {
  optionsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['tenants'],
    properties: { tenants: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } } },
  },
  create(options): PolicyHooks {
    const allowed = new Set(options.tenants);
    return {
      onRequest(ctx) {
        const tenant = ctx.request.headers['x-tenant'];
        if (typeof tenant !== 'string' || !allowed.has(tenant)) return ctx.reject('FERRY_FORBIDDEN', 'this tenant may not call the route');
      },
      afterUpstream(ctx, response) {
        return { ...response, headers: { ...response.headers, 'x-served-tenant': String(ctx.request.headers['x-tenant']) } };
      },
    };
  },
};
export default plugin;
