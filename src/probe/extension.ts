/**
 * An optional part of a probe that holds a process-wide session of its own — OpenSSL tracking, the
 * native heap profiler — in one shape, so the probe starts, stops and reports them alike.
 */
import type { SessionEnd, SessionHandle } from '../session-lease';
import type { ProbeReport } from './report';
import type { Sample } from './sample';

export interface ProbeExtension {
  /** Takes the probe's own reference to the session, once the support check (on the threadpool) allows. */
  start(): void;
  /** Gives back the probe's own reference only: another user's session runs on. */
  stop(reason: string): void;
  /** A sample was kept in the ring. */
  sampled(sample: Sample): void;
  /** The report with this extension's part in it: its status, rows and findings. */
  decorate(report: ProbeReport, samples: Sample[]): ProbeReport;
  /** decorate() in parts, each yielding the name of what it built (the same result), where one turn would be long. */
  decorateSteps?(report: ProbeReport, samples: Sample[]): Generator<string, ProbeReport, void>;
  /** What the extension keeps in the JS heap, bytes. */
  ownMemoryBytes(): number;
}

/** When the probe's data began and, once it stopped, when and why. */
export function sessionStatus(lease: SessionHandle | null): { sinceMs: number | null; stopped: SessionEnd | null } {
  return { sinceMs: lease?.sinceMs ?? null, stopped: lease?.ended ?? null };
}

/**
 * Why an extension asked for is not available: said once on stderr (as a process warning, which a
 * service can route with process.on('warning')), and kept for the report where the figure would be.
 */
export class Unavailable {
  reason: string | null = null;

  constructor(
    private readonly what: string,
    private readonly warningCode: string,
  ) {}

  say(reason: string): void {
    if (this.reason === null) process.emitWarning(`${this.what} is off: ${reason}`, { code: this.warningCode });
    this.reason = reason;
  }
}
