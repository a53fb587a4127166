/** The probe's OpenSSL tracking: its own reference to the session, and the openssl part of the report. */
import type { SessionHandle } from '../session-lease';
import type { PerConnectionEstimate } from './correlate';
import { sessionStatus, Unavailable, type ProbeExtension } from './extension';
import type { ProbeReport } from './report';
import type { ProbeSources } from './sources';

export class OpensslExtension implements ProbeExtension {
  private lease: SessionHandle | null = null;
  private readonly unavailable = new Unavailable('OpenSSL tracking', 'SOCKPROBE_OPENSSL_UNAVAILABLE');

  /** `requested`: options.opensslTracking; unrequested, it only says so in the report. */
  constructor(
    private readonly sources: ProbeSources,
    private readonly requested: boolean,
    private readonly probeRunning: () => boolean,
  ) {}

  start(): void {
    if (this.requested) void this.takeSession();
  }

  private async takeSession(): Promise<void> {
    const support = (await this.sources.opensslSupport?.()) ?? true;
    if (!this.probeRunning() || this.lease?.active) return; // stopped (or started again) meanwhile
    if (support !== true) return this.unavailable.say(support);
    if (!this.sources.opensslSession) return this.unavailable.say('these sources have no OpenSSL tracking');
    try {
      this.lease = this.sources.opensslSession();
    } catch (error) {
      this.unavailable.say((error as Error).message);
    }
  }

  stop(reason: string): void {
    this.lease?.stop(reason);
  }

  sampled(): void {}

  decorate(report: ProbeReport): ProbeReport {
    const reason = this.unavailable.reason;
    const openssl = { requested: this.requested, unavailable: reason, ...sessionStatus(this.lease) };
    if (reason === null) return { ...report, openssl };
    // The OpenSSL row, with the reason, wherever the service's kinds have rows.
    const declined = `not tracked: ${reason}`;
    const kinds = [...new Set(report.perConnection.map((e) => e.kind))];
    const rows: PerConnectionEstimate[] = kinds.map((kind) => ({
      layer: 'openssl',
      kind,
      bytesPerConnection: null,
      quality: null,
      samples: 0,
      method: 'regression',
      declined,
    }));
    const perConnection = [...report.perConnection.filter((e) => e.layer !== 'openssl'), ...rows];
    return { ...report, perConnection, openssl };
  }

  ownMemoryBytes(): number {
    return 0;
  }
}
