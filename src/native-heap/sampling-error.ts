/**
 * The Poisson error of figures read from a sampled native heap profile: a figure made of n sampled
 * allocations is off by about √n of them, so its relative standard error is 1/√n; a growth between
 * two profiles counts both profiles' samples.
 */
import { CATEGORIES } from './categories';
import { siteCategory } from './pprof';
import type { NativeHeapCategory, NativeHeapProfile } from './profile';

/** 1/√samples: the relative standard error of a level made of that many sampled allocations. */
export const relativeError = (samples: number): number => (samples > 0 ? 1 / Math.sqrt(samples) : Infinity);

/** The Poisson relative error of a growth between two sampled figures: √(after + before) ÷ (after − before), in samples. */
export const growthRelativeError = (samplesAfter: number, samplesBefore: number): number =>
  samplesAfter > samplesBefore ? Math.sqrt(samplesAfter + samplesBefore) / (samplesAfter - samplesBefore) : Infinity;

/** "±8%": a relative error as a person reads it; "±?" where it is unbounded, "" where there were no counts to give one. */
export const plusMinus = (relativeError: number | null): string =>
  relativeError === null ? '' : Number.isFinite(relativeError) ? `±${Math.max(1, Math.round(relativeError * 100))}%` : '±?';

/**
 * Sampled allocations per category: the profile's own counts (decode.ts keeps every site's, the
 * omitted ones included), else summed over its kept sites (a profile made elsewhere; sites left out
 * are then missing, which can only overstate the error); null when its sites carry no counts.
 */
export function categorySamples(profile: NativeHeapProfile): Record<NativeHeapCategory, number> | null {
  const own = profile.categorySamples;
  if (own && CATEGORIES.every((c) => Number.isFinite(own[c]))) return own;
  if (!profile.sites.some((s) => Number.isFinite(s.samples) && s.samples > 0)) return null;
  const out = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<NativeHeapCategory, number>;
  for (const site of profile.sites) if (Number.isFinite(site.samples)) out[siteCategory(site.stack)] += site.samples;
  return out;
}
