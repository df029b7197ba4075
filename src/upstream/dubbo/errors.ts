/**
 * The Dubbo transport raises the common TransportError (src/errors/transport.ts): a FerryError that
 * also says whether the request reached the wire. The alias keeps the transport's code readable.
 */
export { TransportError as DubboTransportError, reachedWire as wasSent } from '../../errors/transport.js';
