import type { KindCounts } from '../net/tracking';

/** Open connections by kind and side, as connection tracking sees them. */
export type ConnectionCounts = KindCounts;

/** What a socket snapshot contributes to a sample (slow cadence: the last one is carried). */
export interface SocketSummary {
  /** TCP sockets of this process by state name (ESTABLISHED, CLOSE_WAIT, …). */
  byState: Record<string, number>;
  /** CLOSE_WAIT sockets per local port. */
  closeWaitByPort: Record<string, number>;
  /** Kernel memory of this process's TCP sockets (skmem rmem_alloc + wmem_queued + fwd_alloc + optmem). */
  kernelBytes: number;
  /** Established sockets idle (no data either way) longer than the probe's idle threshold. */
  idle: { count: number; kernelBytes: number; thresholdMs: number };
  fds: { open: number; limit: number };
  takenAt: number;
  durationMs: number;
  /** Of that, the time spent on the JS thread (queueing, counting, summarising): a stall the probe caused. */
  mainThreadMs: number;
}

/** One sample of every layer. Bytes unless named otherwise; null where a layer cannot be read here. */
export interface Sample {
  /** ms since the epoch. */
  time: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  nativeAllocated: number | null;
  nativeFree: number | null;
  opensslLive: number | null;
  connections: ConnectionCounts | null;
  sockets: SocketSummary | null;
  /** Longest event-loop delay seen since the previous sample, ms. */
  eventLoopDelayMaxMs: number;
  /** Time this sample itself held the JS thread, ms (the probe's own cost, snapshot included). */
  probeMs: number;
}

export const totalConnections = (c: ConnectionCounts | null, kind?: 'tls' | 'tcp'): number => {
  if (!c) return 0;
  const of = (k: 'tls' | 'tcp') => c[k].server + c[k].client;
  return kind ? of(kind) : of('tls') + of('tcp');
};

/** Native bytes in use that are neither ArrayBuffers/external nor OpenSSL's. */
export const otherNative = (s: Sample): number | null =>
  s.nativeAllocated === null ? null : s.nativeAllocated - s.external - (s.opensslLive ?? 0);
