import type { NativeMallinfo2 } from '../binding/malloc';
import { SockprobeError } from '../errors';
import { native } from '../native';
import { allocator } from './detect';

/** glibc `struct mallinfo2`, every field, in bytes (counts where the field is a count): the addon's figures as they are. */
export type Mallinfo = NativeMallinfo2;

export function requireGlibc(call: string): void {
  const current = allocator();
  if (current.name !== 'glibc') {
    throw new SockprobeError('ERR_NOT_GLIBC', `${call} describes glibc malloc, but ${current.name} (${current.library}) serves malloc in this process`);
  }
}

/** glibc mallinfo2(). Throws ERR_NOT_GLIBC under another allocator: glibc's idle arenas would read as zeros. */
export function mallinfo(): Mallinfo {
  requireGlibc('mallinfo()');
  return native().mallinfo2();
}

/** glibc's own malloc_stats() text (what it prints to stderr), for reference. */
export function mallocStatsText(): string {
  requireGlibc('mallocStatsText()');
  return native().allocatorStatsText('glibc');
}
