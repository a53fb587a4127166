import { native } from '../native';
import { allocator, type AllocatorName } from './detect';

/**
 * Native heap figures normalised across allocators, in bytes; `null` where the allocator
 * keeps no such figure (capabilities() says why). `raw` keeps every native figure under
 * the allocator's own name.
 */
export interface AllocatorStats {
  allocator: AllocatorName;
  /** Bytes handed to the program and not yet freed. */
  allocatedBytes: number | null;
  /** Free bytes the allocator holds on to (free-but-retained; releaseToOS() targets this), thread caches included. */
  freeBytes: number | null;
  /** Freed bytes waiting in per-thread caches, counted in `freeBytes` (a purge returns them only once each
   *  thread flushes its cache); null where the allocator names none: glibc, and jemalloc before 5.0, whose
   *  `allocatedBytes` then still counts them. */
  threadCacheBytes: number | null;
  /** Allocator memory resident in RAM. */
  residentBytes: number | null;
  /** Allocator memory mapped from the system. */
  mappedBytes: number | null;
  /** The allocator's own bookkeeping. */
  metadataBytes: number | null;
  raw: Record<string, number>;
}

const nonNegative = (value: number) => Math.max(0, value);

/** The mallctl names of the bytes jemalloc's thread caches hold, over every arena (4096 is MALLCTL_ARENAS_ALL). */
export const JEMALLOC_TCACHE_BYTES = 'stats.arenas.4096.tcache_bytes';
export const JEMALLOC_TCACHE_STASHED_BYTES = 'stats.arenas.4096.tcache_stashed_bytes';

/**
 * Freed bytes that wait in jemalloc's thread caches (tcache_bytes, plus tcache_stashed_bytes from 5.3);
 * null when this jemalloc does not name them (before 5.0): its in-use figure then still counts them.
 */
export function jemallocThreadCached(raw: Record<string, number>): number | null {
  if (!(JEMALLOC_TCACHE_BYTES in raw)) return null;
  return raw[JEMALLOC_TCACHE_BYTES] + (raw[JEMALLOC_TCACHE_STASHED_BYTES] ?? 0);
}

/** Normalises each allocator's raw figures; exported for tests that feed recorded figures. */
export function normalize(name: AllocatorName, raw: Record<string, number>): AllocatorStats {
  const base = {
    allocator: name,
    allocatedBytes: null,
    freeBytes: null,
    threadCacheBytes: null,
    residentBytes: null,
    mappedBytes: null,
    metadataBytes: null,
    raw,
  };
  switch (name) {
    case 'glibc':
      return {
        ...base,
        // mmapped chunks (hblkhd) are in use until freed; fordblks may include pages a
        // trim already returned (glibc keeps them in its bins, not resident).
        allocatedBytes: raw.uordblks + raw.hblkhd,
        freeBytes: raw.fordblks,
        mappedBytes: raw.arena + raw.hblkhd,
      };
    case 'jemalloc': {
      const resident = raw['stats.resident'];
      const metadata = raw['stats.metadata'];
      // stats.allocated counts freed blocks that wait in thread caches; they are free to the program.
      const cached = jemallocThreadCached(raw);
      const allocated = nonNegative(raw['stats.allocated'] - (cached ?? 0));
      return {
        ...base,
        allocatedBytes: allocated,
        threadCacheBytes: cached,
        // Resident but neither allocated nor metadata: dirty pages, fragmentation and thread caches.
        freeBytes: nonNegative(resident - allocated - metadata),
        residentBytes: resident,
        mappedBytes: raw['stats.mapped'],
        metadataBytes: metadata,
      };
    }
    case 'tcmalloc': {
      const heap = raw['generic.heap_size'];
      const resident = heap - (raw['tcmalloc.pageheap_unmapped_bytes'] ?? 0);
      return {
        ...base,
        allocatedBytes: raw['generic.current_allocated_bytes'],
        freeBytes:
          (raw['tcmalloc.pageheap_free_bytes'] ?? 0) +
          (raw['tcmalloc.central_cache_free_bytes'] ?? 0) +
          (raw['tcmalloc.transfer_cache_free_bytes'] ?? 0) +
          (raw['tcmalloc.thread_cache_free_bytes'] ?? 0),
        threadCacheBytes: raw['tcmalloc.thread_cache_free_bytes'] ?? null,
        residentBytes: resident,
        mappedBytes: heap,
        metadataBytes: 'generic.total_physical_bytes' in raw ? nonNegative(raw['generic.total_physical_bytes'] - resident) : null,
      };
    }
    case 'mimalloc':
      // Release builds of mimalloc count no allocated/free bytes; mi_process_info's
      // current_commit is what mimalloc has committed from the system.
      return { ...base, mappedBytes: raw.current_commit };
    default:
      return base;
  }
}

/** Reads the serving allocator's own figures (jemalloc after an epoch refresh). */
export function readRaw(name: AllocatorName): Record<string, number> {
  const binding = native();
  if (name === 'glibc') return { ...binding.mallinfo2() };
  if (name === 'unknown') return {};
  return binding.allocatorNumbers(name);
}

/** allocatorStats(): the serving allocator's figures, normalised. */
export function allocatorStats(): AllocatorStats {
  const { name } = allocator();
  return normalize(name, readRaw(name));
}

/**
 * allocatorStats() read on the threadpool: for samplers. glibc's mallinfo2 walks and locks
 * every arena, which takes milliseconds after a spike leaves many free chunks.
 */
export async function allocatorStatsAsync(): Promise<AllocatorStats> {
  const { name } = allocator();
  if (name === 'unknown') return normalize(name, {});
  return normalize(name, await native().allocatorNumbersAsync(name));
}
