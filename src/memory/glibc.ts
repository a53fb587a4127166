import { SockprobeError } from '../errors';
import { native } from '../native';
import { allocator } from './detect';

/** glibc `struct mallinfo2`, every field, in bytes (counts where the field is a count). */
export interface Mallinfo {
  /** Bytes obtained from the system for the arenas (sbrk and arena mmaps). */
  arena: number;
  /** Free chunks. */
  ordblks: number;
  /** Free fastbin blocks. */
  smblks: number;
  /** Separately mmapped regions. */
  hblks: number;
  /** Bytes in separately mmapped regions. */
  hblkhd: number;
  usmblks: number;
  /** Bytes in free fastbin blocks. */
  fsmblks: number;
  /** Bytes in use by the application (tcache blocks count as in use). */
  uordblks: number;
  /** Free bytes held in the arenas. */
  fordblks: number;
  /** Releasable top of the main arena. */
  keepcost: number;
}

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
