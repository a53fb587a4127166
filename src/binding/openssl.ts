/** The OpenSSL tracking concern of the addon (native/openssl/), exactly as it behaves. */
export interface NativeOpensslStats {
  tracking: boolean;
  /** A session exists (running, or stopped and frozen). */
  started: boolean;
  liveBytes: number;
  peakBytes: number;
  allocations: number;
  frees: number;
  reallocs: number;
  /** Wall clock (ms since the epoch) when the session started; 0 before the first. */
  sinceMs: number;
}

export interface OpensslBinding {
  /** '' where tracking can work in this process, else why not. First call scans .symtab (~1 ms). */
  opensslTrackingProblem(): string;
  /** Idempotent. Throws ERR_UNSUPPORTED or ERR_OPENSSL_SELF_CHECK; nothing changes then. */
  opensslStart(): void;
  /** Idempotent; never throws. */
  opensslStop(): void;
  opensslStats(): NativeOpensslStats;
}
