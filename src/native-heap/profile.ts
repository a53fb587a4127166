import type { NativeHeapRawProfile } from '../binding/heap';
import { CATEGORIES, categorize } from './categories';
import { framesOf } from './symbols';

export interface NativeHeapFrame {
  name: string | null;
  module: string | null;
  /** Absolute return address, hex '0x…'. */
  address: string;
  /** Within module (address − its base). */
  offset?: number;
  kind: 'native' | 'javascript' | 'unknown';
}

export interface NativeHeapSite {
  /** Estimated live bytes (unbiased). */
  bytes: number;
  /** Estimated live allocations. */
  count: number;
  /** Raw sampled blocks behind the estimate. */
  samples: number;
  /** Innermost first, sockprobe's own hook frames removed. */
  stack: NativeHeapFrame[];
}

export type NativeHeapCategory = 'openssl' | 'v8' | 'node' | 'libuv' | 'zlib' | 'addons' | 'other';

export interface NativeHeapProfile {
  sampleBytes: number;
  /** Sum of the sites' bytes. */
  totalBytes: number;
  /** ms since the epoch. */
  startedAt: number;
  takenAt: number;
  /** Sorted by bytes, largest first. */
  sites: NativeHeapSite[];
  /** Bytes per category of call site. */
  categories: Record<NativeHeapCategory, number>;
  /** Sampled allocations the live table had no room for: their bytes are in no site. */
  dropped: number;
  source: string;
}

export const SOURCE = 'GOT-patched malloc/free and operator new/delete sampling (Poisson by bytes, frame-pointer stacks)';

/** Merges sites with the same stack, sorts them and sums categories. */
export function buildProfile(raw: NativeHeapRawProfile): NativeHeapProfile {
  const frames = framesOf(raw);
  const merged = new Map<string, NativeHeapSite>();
  for (const site of raw.sites) {
    const key = site.stack.map((index) => frames[index].address).join(',');
    const existing = merged.get(key);
    if (existing) {
      existing.bytes += site.bytes;
      existing.count += site.count;
      existing.samples += site.samples;
    } else {
      merged.set(key, { bytes: site.bytes, count: site.count, samples: site.samples, stack: site.stack.map((index) => frames[index]) });
    }
  }
  const sites = [...merged.values()].sort((a, b) => b.bytes - a.bytes);
  const categories = Object.fromEntries(CATEGORIES.map((category) => [category, 0])) as Record<NativeHeapCategory, number>;
  let totalBytes = 0;
  for (const site of sites) {
    site.bytes = Math.round(site.bytes);
    site.count = Math.round(site.count * 100) / 100;
    totalBytes += site.bytes;
    categories[categorize(site.stack, raw.executable)] += site.bytes;
  }
  return {
    sampleBytes: raw.sampleBytes,
    totalBytes,
    startedAt: raw.startedAt,
    takenAt: raw.takenAt,
    sites,
    categories,
    dropped: raw.dropped,
    source: SOURCE,
  };
}
