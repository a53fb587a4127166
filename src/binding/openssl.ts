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
  /** The id of the session these figures are of (running, or the last one); 0 before the first. */
  session: number;
  /** References held to the running session, over every realm; 0 when none runs. */
  users: number;
}

export interface OpensslBinding {
  /** '' where tracking can work in this process, else why not. The first call (of either
   *  form) scans the executable's .symtab: 3–8 ms warm, more when its pages are cold. */
  opensslTrackingProblem(): string;
  /** The same, with the first scan on the threadpool. */
  opensslTrackingProblemAsync(): Promise<string>;
  /** Takes one reference to the process-wide session (a new one, fresh counters, when none
   *  runs) for this realm; returns its id. Throws ERR_UNSUPPORTED or ERR_OPENSSL_SELF_CHECK;
   *  nothing changes then. */
  opensslStart(): number;
  /** Gives back one of this realm's references to `session` (the last one ends it); true where
   *  this realm held one. Never throws. */
  opensslStop(session: number): boolean;
  opensslStats(): NativeOpensslStats;
}
