import type { ReleaseResult } from '../memory/release';
import type { ConnectionCounts, SocketSummary } from './sample';

/** Where a probe reads each layer. The real sources wrap sockprobe's own calls; tests may pass fakes. */
export interface ProbeSources {
  memory(): { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
  /** Allocator in-use and free bytes; nulls where the allocator keeps no such figure. */
  allocator(): Promise<{ allocated: number | null; free: number | null }>;
  /** OpenSSL live bytes while tracking is on; null otherwise. */
  opensslLive(): number | null;
  connections(): ConnectionCounts | null;
  /** A whole-process socket snapshot summarised; null where snapshots are unsupported. */
  sockets(idleThresholdMs: number): Promise<SocketSummary> | null;
  release(): Promise<ReleaseResult>;
  /** Whether OpenSSL tracking can work here (true), else why not; asked before trackOpenssl(true). */
  opensslSupport?(): Promise<true | string>;
  /** Turn OpenSSL tracking on or off; true when this call changed it (false: unsupported, or already so). */
  trackOpenssl?(on: boolean): boolean;
  allocatorName(): string;
}
