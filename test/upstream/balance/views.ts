/** Plain EndpointView values for balancer unit tests (no sockets involved). */
import type { EndpointView } from '../../../src/upstream/balance/types.js';

export interface TestView extends EndpointView {
  up: boolean;
  load: number;
}

export function view(id: string, weight = 100, pending = 0): TestView {
  const v: TestView = {
    id,
    weight,
    up: true,
    load: pending,
    pending: () => v.load,
    available: () => v.up,
  };
  return v;
}

export function counts(ids: readonly (string | undefined)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const id of ids) out[id ?? 'none'] = (out[id ?? 'none'] ?? 0) + 1;
  return out;
}
