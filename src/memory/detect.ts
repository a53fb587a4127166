import type { MallocOwnerInfo } from '../binding/malloc';
import { native } from '../native';

export type AllocatorName = 'glibc' | 'jemalloc' | 'tcmalloc' | 'mimalloc' | 'unknown';

export interface AllocatorIdentity {
  name: AllocatorName;
  /** The shared object `malloc` resolves into (e.g. /usr/lib/x86_64-linux-gnu/libjemalloc.so.2). */
  library: string;
  version: string | null;
}

let cached: AllocatorIdentity | undefined;

/** Names the allocator from the API its own object exports; a private copy elsewhere does not count. */
export function identify(owner: MallocOwnerInfo): AllocatorIdentity {
  if (owner.jemalloc) return { name: 'jemalloc', library: owner.path, version: owner.jemallocVersion };
  if (owner.tcmalloc) return { name: 'tcmalloc', library: owner.path, version: owner.tcmallocVersion };
  if (owner.mimalloc) {
    const v = owner.mimallocVersion;
    // mi_version() encodes 2.0.9 as 209.
    return { name: 'mimalloc', library: owner.path, version: v === null ? null : `${Math.floor(v / 100)}.${Math.floor(v / 10) % 10}.${v % 10}` };
  }
  if (owner.glibc) return { name: 'glibc', library: owner.path, version: owner.glibcVersion };
  return { name: 'unknown', library: owner.path, version: null };
}

/** Which allocator really serves malloc in this process (resolved once: it cannot change). */
export function allocator(): AllocatorIdentity {
  cached ??= identify(native().mallocOwner());
  return { ...cached };
}
