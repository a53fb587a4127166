/** The public shape of a native heap profile (built from the addon's tables by decode.ts). */
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

/** Who owns a site's memory (docs/native-heap-categories.md): `node:tls-buffers` and `node:buffers` are parts of Node's own memory kept apart from `node`. */
export type NativeHeapCategory = 'openssl' | 'v8' | 'node' | 'node:tls-buffers' | 'node:buffers' | 'libuv' | 'zlib' | 'addons' | 'other';

export interface NativeHeapProfile {
  sampleBytes: number;
  /** Sum of every site's bytes, the omitted ones included. */
  totalBytes: number;
  /** Present when profile({ maxSites }) left sites out: how many, and their bytes and count
   *  (they count in totalBytes and categories, not in sites). */
  omitted?: { sites: number; bytes: number; count: number };
  /** ms since the epoch. */
  startedAt: number;
  takenAt: number;
  /** Sorted by bytes, largest first. */
  sites: NativeHeapSite[];
  /** Bytes per category of call site. */
  categories: Record<NativeHeapCategory, number>;
  /** Raw sampled blocks per category, the omitted sites' included: a category's Poisson error is
   *  1/√ of it. Set by profile(); a profile made elsewhere may lack it (its sites' samples are summed then). */
  categorySamples?: Record<NativeHeapCategory, number>;
  /** Sampled allocations the live table had no room for: their bytes are in no site. */
  dropped: number;
  source: string;
}

export const SOURCE = 'GOT-patched malloc/free and operator new/delete sampling (Poisson by bytes, frame-pointer stacks)';
