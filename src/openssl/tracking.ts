import { SockprobeError } from '../errors';
import { native } from '../native';
import { runtimeLimits } from '../runtime';
import { BareLeases, SessionLease, type SessionHandle } from '../session-lease';

/** Live OpenSSL allocations, counted inside OpenSSL's own allocator entry points. */
export interface OpensslStats {
  /** Counting now (start() ran, stop() not yet). After stop() the figures stay frozen. */
  tracking: boolean;
  /** How: OpenSSL's private malloc_impl/realloc_impl/free_impl pointers (the ones
   *  CRYPTO_get_mem_functions reads), swapped for counting ones at run time. null before
   *  the first start(). */
  method: 'impl-pointers' | null;
  /** Bytes OpenSSL asked for, allocated since start() and not yet freed (exact). */
  liveBytes: number;
  /** Highest liveBytes since start(): exact to within 8 KiB per thread that allocated. */
  peakBytes: number;
  /** Blocks that became tracked since start() (malloc, and realloc of an older block). */
  allocations: number;
  /** Tracked blocks freed. Blocks allocated before start() are not counted when freed. */
  frees: number;
  /** realloc calls that resized a block. */
  reallocs: number;
  /** allocations − frees: blocks live now. */
  liveAllocations: number;
  /** Date.now() at the start() this session began with; null before the first start(). */
  sinceMs: number | null;
  /** References held to the running session, over every user in the process (main thread and
   *  workers, start() and session() alike); 0 when none runs. */
  users: number;
}

function problem(): string {
  return withRuntimeNote(native().opensslTrackingProblem());
}

/** The addon finds no OpenSSL to hook; under Bun or Deno, say which TLS library is there instead. */
function withRuntimeNote(problem: string): string {
  const note = runtimeLimits()?.opensslTracking;
  return problem && note ? `${problem}; ${note}` : problem;
}

/** true where OpenSSL tracking works in this process, else why it cannot. */
export function opensslTrackingSupport(): true | string {
  try {
    return problem() || true;
  } catch (error) {
    return (error as Error).message;
  }
}

let supportPending: Promise<true | string> | undefined;

/** opensslTrackingSupport() with the one-time symbol-table scan on the threadpool. */
export function opensslTrackingSupportAsync(): Promise<true | string> {
  supportPending ??= (async () => {
    try {
      return withRuntimeNote(await native().opensslTrackingProblemAsync()) || true;
    } catch (error) {
      return (error as Error).message;
    }
  })();
  return supportPending;
}

const seam = {
  release: (session: number) => void native().opensslStop(session),
  running: () => {
    const raw = native().opensslStats();
    return raw.tracking ? raw.session : 0;
  },
};
const bare = new BareLeases();

function unsupported(why: string): SockprobeError {
  return new SockprobeError('ERR_UNSUPPORTED', `OpenSSL allocation tracking is not available: ${why}`);
}

function lease(onStop?: (lease: SessionLease) => void): SessionLease {
  const binding = native();
  // The addon would refuse too; asking first names the runtime's own TLS library (Bun, Deno).
  const why = problem();
  if (why) throw unsupported(why);
  const session = binding.opensslStart();
  return new SessionLease(session, binding.opensslStats().sinceMs, seam, onStop);
}

function start(): SessionHandle {
  return bare.add(lease((own) => bare.forget(own)));
}

function session(): SessionHandle {
  return lease();
}

function stop(): void {
  bare.stopAll('openssl.stop() was called');
}

function stats(): OpensslStats {
  const why = problem();
  if (why) throw unsupported(why);
  const raw = native().opensslStats();
  return {
    tracking: raw.tracking,
    method: raw.started ? 'impl-pointers' : null,
    liveBytes: raw.liveBytes,
    peakBytes: raw.peakBytes,
    allocations: raw.allocations,
    frees: raw.frees,
    reallocs: raw.reallocs,
    liveAllocations: raw.allocations - raw.frees,
    sinceMs: raw.started ? raw.sinceMs : null,
    users: raw.users,
  };
}

/**
 * OpenSSL's live bytes and allocation counts, in this running process, without preloading
 * anything. One process-wide session, shared by every user (worker threads too) and
 * reference-counted: it begins (fresh counters) when the first user starts it and ends when
 * the last one gives its reference back, never under another user's feet.
 */
export const openssl = Object.freeze({
  /** true where tracking works here, else why not, found on the threadpool: the first
   *  answer costs a scan of the executable's symbol table (3–8 ms warm) that start(),
   *  stats() and capabilities() would otherwise do on the calling thread. */
  supported: opensslTrackingSupportAsync,
  /** Takes a reference to the session (starting it when none runs) and returns it as a handle
   *  whose stop() gives back that reference alone; stop() below gives back every reference this
   *  realm's start() calls took. Throws ERR_UNSUPPORTED (see capabilities().opensslTracking) or
   *  ERR_OPENSSL_SELF_CHECK. */
  start,
  /** A reference of your own (a library's, a probe's): only the handle's stop() gives it back. */
  session,
  /** Gives back the references this realm's start() calls took. When they were the last, counting
   *  stops and OpenSSL gets its own allocator functions back; otherwise the session runs on for
   *  its other users. Idempotent. */
  stop,
  /** The current (or last, frozen) session's figures. Throws ERR_UNSUPPORTED where tracking cannot work. */
  stats,
});
