/**
 * Which holder each call site of a native heap profile belongs to, by the frame names of its stack
 * (signatures.ts), and each holder's sampled bytes in a profile. Pure: no native calls.
 */
import { siteTitle } from '../../native-heap/diff';
import { scriptOf } from '../../native-heap/js-names';
import type { NativeHeapFrame, NativeHeapProfile, NativeHeapSite } from '../../native-heap/profile';
import { TurnSlicer } from '../../native-heap/slicer';
import { HOLDER_SIGNATURES, type HolderId } from './signatures';

/** One holder's share of one profile. */
export interface HolderTally {
  /** Estimated live bytes in its sites (the profile's unbiased estimates, summed). */
  bytes: number;
  /** Sampled allocations behind that estimate: its Poisson relative error is 1/√samples. */
  samples: number;
  /** Estimated live allocations. */
  count: number;
}

export type HolderTotals = Partial<Record<HolderId, HolderTally>>;

/** A site as a holder finding names it. */
export interface HolderSite {
  site: string;
  bytes: number;
  samples: number;
  /** The JavaScript function the stack passes through, innermost first and outside Node's own
   *  `node:` modules where one is (named from V8's perf map: js-names.ts). Absent where the stack
   *  has no JavaScript frame; null where it has some but none is named (no perf map). */
  jsFunction?: string | null;
}

type Verdict = { decisive: HolderId | null; fallback: HolderId | null };
// A profile's frames are shared objects between its sites: each is tested against the table once.
const verdicts = new WeakMap<NativeHeapFrame, Verdict>();

function verdictOf(frame: NativeHeapFrame): Verdict {
  let verdict = verdicts.get(frame);
  if (!verdict) {
    const name = frame.name ?? '';
    verdict = { decisive: null, fallback: null };
    if (name && frame.kind !== 'javascript') {
      verdict.decisive = HOLDER_SIGNATURES.find((s) => s.decisive.test(name))?.id ?? null;
      verdict.fallback = HOLDER_SIGNATURES.find((s) => s.fallback?.test(name))?.id ?? null;
    }
    verdicts.set(frame, verdict);
  }
  return verdict;
}

/**
 * The holder of a site: the innermost frame decisive for a holder decides (SSL_CTX_new under an
 * SNICallback under SSL_read is a context, not the connection's state); else the innermost frame
 * a holder's fallback matches; else none.
 */
export function holderOf(stack: readonly NativeHeapFrame[]): HolderId | null {
  let fallback: HolderId | null = null;
  for (const frame of stack) {
    const verdict = verdictOf(frame);
    if (verdict.decisive) return verdict.decisive;
    fallback ??= verdict.fallback;
  }
  return fallback;
}

function add(totals: HolderTotals, id: HolderId, site: NativeHeapSite): void {
  const tally = (totals[id] ??= { bytes: 0, samples: 0, count: 0 });
  tally.bytes += site.bytes;
  tally.samples += Number.isFinite(site.samples) ? site.samples : 0;
  tally.count += site.count;
}

/** Each holder's bytes, samples and allocations in a profile (synchronous: small profiles and tests). */
export function holderTotals(profile: NativeHeapProfile): HolderTotals {
  const totals: HolderTotals = {};
  for (const site of profile.sites) {
    const id = holderOf(site.stack);
    if (id) add(totals, id, site);
  }
  return totals;
}

/**
 * holderTotals() in slices of the event loop's turns (a profile of many thousand sites is never one
 * long block of the JS thread), with each holder's largest sites collected on the way.
 */
export async function holderTotalsSliced(
  profile: NativeHeapProfile,
  slicer = new TurnSlicer(),
  top = 3,
): Promise<{ totals: HolderTotals; sites: Partial<Record<HolderId, HolderSite[]>> }> {
  const totals: HolderTotals = {};
  const largest: Partial<Record<HolderId, HolderSite[]>> = {};
  const sites = profile.sites;
  for (let i = 0; i < sites.length; i++) {
    if ((i & 63) === 0 && slicer.due()) await slicer.next();
    const id = holderOf(sites[i].stack);
    if (!id) continue;
    add(totals, id, sites[i]);
    // Sites come sorted by bytes, largest first: the first few seen are the largest.
    const kept = (largest[id] ??= []);
    if (kept.length < top) kept.push(siteOf(sites[i]));
  }
  return { totals, sites: largest };
}

function siteOf(site: NativeHeapSite): HolderSite {
  const out: HolderSite = { site: siteTitle(site.stack, 4), bytes: Math.round(site.bytes), samples: site.samples };
  const js = site.stack.filter((f) => f.kind === 'javascript');
  if (js.length) {
    const named = js.filter((f) => f.name);
    out.jsFunction = (named.find((f) => !scriptOf(f.name!)?.startsWith('node:')) ?? named[0])?.name ?? null;
  }
  return out;
}

/** The largest sites of one holder in a profile (sites come sorted by bytes, largest first). */
export function holderSites(profile: NativeHeapProfile, id: HolderId, top = 3): HolderSite[] {
  const out: HolderSite[] = [];
  for (const site of profile.sites) {
    if (out.length >= top) break;
    if (holderOf(site.stack) === id) out.push(siteOf(site));
  }
  return out;
}
