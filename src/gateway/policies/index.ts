/** The built-in policies, each a plugin on the same hook API as a user's. */
import type { FerryPlugin, PluginCatalog } from '../plugins.js';
import { apiKeyPlugin } from './api-key.js';
import { corsPlugin } from './cors.js';
import { jwtPlugin } from './jwt.js';
import { rateLimitPlugin } from './rate-limit.js';

/** A fresh set of built-ins (per config build: a reload starts with new key caches). */
export function builtinPlugins(): PluginCatalog {
  return new Map<string, FerryPlugin>([
    ['jwt', jwtPlugin()],
    ['api-key', apiKeyPlugin],
    ['rate-limit', rateLimitPlugin()],
    ['cors', corsPlugin],
  ]);
}
