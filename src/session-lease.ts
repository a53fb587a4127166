/**
 * A user's reference to a process-wide session (OpenSSL tracking, native heap profiling).
 * The native session is shared by every user in the process, main thread and workers; it
 * runs while any of them holds a reference and ends with the last one. A lease's stop()
 * gives back only its own reference.
 */

/** When and why a session's data stopped for the one who held it. */
export interface SessionEnd {
  /** Date.now() when it stopped (for an end noticed rather than made: when it was first noticed). */
  atMs: number;
  reason: string;
}

export interface SessionHandle {
  /** The native session's id: users who joined the same session share it. */
  readonly session: number;
  /** Date.now() when the session (not this reference) began: the figures count from then. */
  readonly sinceMs: number;
  /** This reference still holds a running session. */
  readonly active: boolean;
  /** null while active; else when and why this reference's data stopped. */
  readonly ended: SessionEnd | null;
  /** Gives back this reference; the session ends when no user holds one. Idempotent, never throws.
   *  `reason` (default: that stop() was called) is what `ended.reason` says. */
  stop(reason?: string): void;
}

/** What a lease needs of the addon. */
export interface LeaseSeam {
  /** Gives back one of this realm's references to `session`. */
  release(session: number): void;
  /** The running session's id, 0 when none runs. */
  running(): number;
}

export class SessionLease implements SessionHandle {
  private end: SessionEnd | null = null;

  constructor(
    readonly session: number,
    readonly sinceMs: number,
    private readonly seam: LeaseSeam,
    private readonly onStop: (lease: SessionLease) => void = () => undefined,
  ) {}

  get active(): boolean {
    return this.ended === null;
  }

  get ended(): SessionEnd | null {
    if (this.end === null && this.seam.running() !== this.session) {
      // Only the last reference ends a session: an end this lease did not make came from
      // outside (the addon loaded twice, or its realm's teardown).
      this.end = {
        atMs: Date.now(),
        reason: 'the session ended without this reference being given back (another copy of the addon, or this realm tearing down)',
      };
    }
    return this.end;
  }

  stop(reason = 'stop() was called on this session'): void {
    if (this.end !== null) return;
    this.end = { atMs: Date.now(), reason };
    this.onStop(this);
    try {
      this.seam.release(this.session);
    } catch {
      // The addon's release never throws; a missing addon has nothing to release.
    }
  }
}

/**
 * The references a realm's bare start() calls took: the module-level stop() gives back these
 * and no other (never a lease another user took with session()).
 */
export class BareLeases {
  private readonly held = new Set<SessionLease>();

  add(lease: SessionLease): SessionLease {
    this.held.add(lease);
    return lease;
  }

  forget(lease: SessionLease): void {
    this.held.delete(lease);
  }

  stopAll(reason: string): void {
    for (const lease of [...this.held]) lease.stop(reason);
    this.held.clear();
  }
}
