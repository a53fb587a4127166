/**
 * Medians and their intervals over repeats, the benches' too (bench/paired-stats.mjs): the
 * interval is distribution-free, so it holds on a shared machine whose noise is anything but normal.
 */

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * A ~95% confidence interval of the median: the k-th smallest and k-th largest of n values, k the
 * largest with P(Binomial(n, 1/2) < k) ≤ 2.5%. Null below 6 values (no k qualifies).
 */
export function medianInterval(values: number[]): [number, number] | null {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  let below = 0;
  let term = 0.5 ** n;
  let k = 0;
  for (let i = 1; i <= n >> 1; i++) {
    below += term;
    if (below > 0.025) break;
    k = i;
    term = (term * (n - i + 1)) / i;
  }
  return k === 0 || k > n - k + 1 ? null : [sorted[k - 1], sorted[n - k]];
}

/** A median and how far it may be off: the 95% interval from 6 repeats on, below that the range seen. */
export interface Spread {
  median: number;
  low: number;
  high: number;
  /** `95%`: a confidence interval; `range`: min … max of fewer than 6 repeats; `one`: a single run. */
  kind: '95%' | 'range' | 'one';
  n: number;
}

export function spread(values: number[]): Spread | null {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return null;
  const m = median(finite);
  const interval = medianInterval(finite);
  if (interval) return { median: m, low: interval[0], high: interval[1], kind: '95%', n: finite.length };
  return { median: m, low: Math.min(...finite), high: Math.max(...finite), kind: finite.length === 1 ? 'one' : 'range', n: finite.length };
}

/**
 * The change against a reference, paired by repeat (the two ran side by side in each round): the
 * median of the per-round ratios minus 1, as a spread. Rounds where either is missing or the
 * reference is 0 do not count.
 */
export function pairedChange(values: Array<number | null>, reference: Array<number | null>): Spread | null {
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(values.length, reference.length); i++) {
    const v = values[i];
    const r = reference[i];
    if (v === null || r === null || !Number.isFinite(v) || !Number.isFinite(r) || r === 0) continue;
    ratios.push(v / r - 1);
  }
  return spread(ratios);
}

/** The p-th percentile (0–100) by nearest rank; NaN for no values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}
