/**
 * Tag routing, the request side: which tag one request asks for. The first `tagFrom` source present
 * names it; a request naming none gets one from the `split` (a draw from `splitOn`'s value, so one
 * user stays on one side, or a random one). The upstream client then applies Dubbo's TagRouter rule
 * to the endpoints (upstream/balance/subset.ts), and the Dubbo call carries the tag as its
 * `dubbo.tag` attachment (Triple: `dubbo.tag` metadata), as a Dubbo consumer sends it.
 */
import type { CanaryConfig, RouteConfig, ServiceConfig } from '../config/types.js';
import { FerryError } from '../errors/index.js';
import { drawOf, pickShare } from '../upstream/balance/subset.js';
import type { SubsetRequest } from '../upstream/balance/types.js';
import { compileExtractor, type Extractor, type RequestView } from '../mapping/request-view.js';

/** Dubbo's attachment keys (`CommonConstants.TAG_KEY`, `Constants.FORCE_USE_TAG`). */
export const TAG_ATTACHMENT = 'dubbo.tag';
export const FORCE_TAG_ATTACHMENT = 'dubbo.force.tag';

/** A tag is at most this long, printable ASCII without spaces (it travels as an attachment and as a header value). */
export const MAX_TAG_LENGTH = 128;
const TAG_TEXT = /^[\x21-\x7e]+$/;

export interface CanaryPlan {
  /** The subset this request asks for (always one: a request naming no tag asks for the untagged endpoints). */
  select(view: RequestView): SubsetRequest;
}

/** The canary of a route: its own, else its service's; undefined when off. */
export function canaryOf(route: RouteConfig, service: ServiceConfig): CanaryConfig | undefined {
  if (route.canary === false) return undefined;
  return route.canary ?? service.canary;
}

/** Compiles a route's tag routing; undefined when neither the route nor its service has any. */
export function compileCanary(config: CanaryConfig | undefined, random: () => number = Math.random): CanaryPlan | undefined {
  if (config === undefined) return undefined;
  const { label, force } = config;
  const sources: Array<{ readonly from: string; readonly read: Extractor }> = config.tagFrom.map((from) => ({
    from,
    read: compileExtractor(from, false),
  }));
  const split = config.split;
  const splitOn = config.splitOn !== undefined ? compileExtractor(config.splitOn, false) : undefined;
  // Subset requests are shared: the few outcomes are built once.
  const untagged: SubsetRequest = Object.freeze({ label, tag: undefined, force });
  const splitTargets = new Map((split ?? []).map((e) => [e, e.tag === undefined ? untagged : Object.freeze({ label, tag: e.tag, force })]));

  const fromSplit = (view: RequestView): SubsetRequest => {
    if (split === undefined) return untagged;
    const key = splitOn?.(view);
    const draw = typeof key === 'string' && key !== '' ? drawOf(key) : random();
    const entry = pickShare(split, draw);
    return entry === undefined ? untagged : splitTargets.get(entry)!;
  };

  return {
    select(view) {
      for (const s of sources) {
        const v = s.read(view);
        if (typeof v !== 'string' || v === '') continue;
        if (v.length > MAX_TAG_LENGTH || !TAG_TEXT.test(v)) {
          throw new FerryError(
            'FERRY_BAD_ARGUMENT',
            `the tag in ${s.from} must be 1 to ${MAX_TAG_LENGTH} printable ASCII characters without spaces (it has ${v.length})`,
            { argument: s.from },
          );
        }
        return { label, tag: v, force };
      }
      return fromSplit(view);
    },
  };
}

/** Adds the Dubbo tag attachments a consumer sends for `subset` (nothing for a request without a tag). */
export function addTagAttachments(attachments: Record<string, string>, subset: SubsetRequest): void {
  if (subset.tag === undefined || subset.tag === '') return;
  attachments[TAG_ATTACHMENT] = subset.tag;
  if (subset.force) attachments[FORCE_TAG_ATTACHMENT] = 'true';
}
