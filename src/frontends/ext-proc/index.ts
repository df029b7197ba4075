/** Envoy ext_proc front end: public surface for the composition root. */
export { startExtProcServer, type ExtProcListenOptions, type ExtProcServer } from './server.js';
export { createExtProcSession, type ExtProcSession, type SessionState } from './session.js';
export { loadExtProcService, PROCESS_PATH } from './protocol.js';
