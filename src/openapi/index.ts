/** OpenAPI 3.1 generation from a loaded mapping config (served at /openapi.json and by `ferry openapi`). */
export * from './generate.js';
