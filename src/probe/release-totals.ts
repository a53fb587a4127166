import type { AutoReleaseRecord } from './auto-release';

export interface ReleaseTotals {
  /** RSS autoRelease gave back, bytes. */
  released: number;
  /** Releases performed (failed ones included). */
  count: number;
  /** Time they held the JS thread, ms. */
  jsThreadMs: number;
}

/**
 * Cumulative autoRelease figures for exporters' counters. The probe keeps only its last 64
 * release records; what falls out of that window stays counted here, so totals never go down.
 */
export function releaseTotals(records: () => AutoReleaseRecord[]): () => Readonly<ReleaseTotals> {
  const totals: ReleaseTotals = { released: 0, count: 0, jsThreadMs: 0 };
  const seen = new WeakSet<AutoReleaseRecord>();
  return () => {
    for (const r of records()) {
      if (seen.has(r)) continue;
      seen.add(r);
      totals.count++;
      totals.released += Math.max(0, r.result?.releasedBytes ?? 0);
      totals.jsThreadMs += r.result?.jsThreadMs ?? 0;
    }
    return totals;
  };
}
