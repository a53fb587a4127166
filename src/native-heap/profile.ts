/**
 * PLACEHOLDER from heap-tools until heap-core's branch lands: only the contract's types
 * (briefs/heap-contract.md). On merge, heap-core's file replaces this one whole.
 */
export interface NativeHeapFrame {
  name: string | null;
  module: string | null;
  /** Absolute, hex '0x…'. */
  address: string;
  /** Within module. */
  offset?: number;
  kind: 'native' | 'javascript' | 'unknown';
}

export interface NativeHeapSite {
  /** Estimated live bytes (unbiased). */
  bytes: number;
  /** Estimated live allocations. */
  count: number;
  /** Raw sampled blocks. */
  samples: number;
  /** Innermost first, sockprobe's own hook frames removed. */
  stack: NativeHeapFrame[];
}

export type NativeHeapCategory = 'openssl' | 'v8' | 'node' | 'libuv' | 'zlib' | 'addons' | 'other';

export interface NativeHeapProfile {
  sampleBytes: number;
  totalBytes: number;
  startedAt: number;
  takenAt: number;
  sites: NativeHeapSite[];
  categories: Record<NativeHeapCategory, number>;
  dropped: number;
  source: string;
}
