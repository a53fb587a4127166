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
  /** '' where tracking can work in this process, else why not. The first call (of either
   *  form) scans the executable's .symtab: 3–8 ms warm, more when its pages are cold. */
  opensslTrackingProblem(): string;
  /** The same, with the first scan on the threadpool. */
  opensslTrackingProblemAsync(): Promise<string>;
  /** Idempotent. Throws ERR_UNSUPPORTED or ERR_OPENSSL_SELF_CHECK; nothing changes then. */
  opensslStart(): void;
  /** Idempotent; never throws. */
  opensslStop(): void;
  opensslStats(): NativeOpensslStats;
}
