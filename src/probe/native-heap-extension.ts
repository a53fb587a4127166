/** The probe's native heap profile: its own reference to the profiler's session, the profiles it
 *  takes on the sampling cadence, and the nativeHeap part of the report. */
import { SockprobeError } from '../errors';
import type { NativeHeapSession } from '../native-heap';
import type { NativeHeapProfile } from '../native-heap/profile';
import { sessionStatus, Unavailable, type ProbeExtension } from './extension';
import { NativeHeapProfiles } from './native-heap';
import { drain } from './regression';
import type { ProbeReport } from './report';
import type { Sample } from './sample';
import type { NativeHeapSource } from './sources';

export interface NativeHeapExtensionOptions {
  sampleBytes: number;
  intervalMs: number;
  maxHeldBytes: number;
  /** sampleBytes was given explicitly: never join a session running at another rate. */
  rateGiven: boolean;
}

export class NativeHeapExtension implements ProbeExtension {
  private readonly profiles: NativeHeapProfiles;
  private lease: NativeHeapSession | null = null;
  private joined: string | null = null;
  private readonly unavailable = new Unavailable('Native heap profiling', 'SOCKPROBE_NATIVE_HEAP_UNAVAILABLE');
  private starting: Promise<void> | undefined;

  constructor(
    private readonly source: NativeHeapSource | undefined,
    private readonly options: NativeHeapExtensionOptions,
    private readonly probeRunning: () => boolean,
  ) {
    this.profiles = new NativeHeapProfiles(options.intervalMs, options.maxHeldBytes);
  }

  start(): void {
    this.starting = this.takeSession();
  }

  private async takeSession(): Promise<void> {
    const source = this.source;
    if (!source) return this.unavailable.say('this build of sockprobe has no native heap profiler');
    const support = await source.support().catch((error: Error) => error.message);
    if (!this.probeRunning() || this.lease?.active) return; // stopped (or started again) meanwhile
    if (support !== true) return this.unavailable.say(support);
    try {
      this.lease = source.session({ sampleBytes: this.options.sampleBytes });
      this.joined = null;
    } catch (error) {
      // Another user's session samples at another rate: joined at its rate (and said so) unless
      // this probe was given its own rate, which it cannot have while that session runs.
      const running = (error as { code?: string }).code === 'ERR_SESSION_CONFLICT' && !this.options.rateGiven ? source.runningSampleBytes() : null;
      if (running === null) return this.unavailable.say((error as Error).message);
      try {
        this.lease = source.session({ sampleBytes: running });
        this.joined = `joined a session already running at ${running} bytes between samples (asked: ${this.options.sampleBytes})`;
      } catch (again) {
        this.unavailable.say((again as Error).message);
      }
    }
  }

  stop(reason: string): void {
    this.lease?.stop(reason);
  }

  private running(): boolean {
    return this.lease?.active === true;
  }

  sampled(sample: Sample): void {
    if (this.running() && this.profiles.due(sample.time)) this.requestProfile(sample).catch(() => undefined);
  }

  /** Asks for a profile now; kept tied to `sample` when it arrives (the symbolization runs on the threadpool). */
  private requestProfile(sample: Sample): Promise<NativeHeapProfile> {
    this.profiles.asked(Date.now());
    // At most the sites the kept profiles' budget holds: the rest never become objects.
    return this.source!.profile({ maxSites: this.profiles.maxSites() }).then(
      (profile) => this.profiles.record(profile, sample),
      (error: Error) => {
        this.profiles.failed();
        throw error;
      },
    );
  }

  /** probe.profileNativeHeap(): a profile now, tied to a sample taken for it. */
  async profileNow(takeSample: () => Promise<Sample>): Promise<NativeHeapProfile> {
    await this.starting; // the support check runs on the threadpool
    if (!this.running())
      throw new SockprobeError(
        'ERR_UNSUPPORTED',
        this.unavailable.reason ? `native heap profiling is off: ${this.unavailable.reason}` : 'native heap profiling is not running (start() the probe first)',
      );
    return this.requestProfile(await takeSample());
  }

  decorate(report: ProbeReport, samples: Sample[]): ProbeReport {
    return drain(this.decorateSteps(report, samples));
  }

  /** decorate() a part at a time: the diff, each category's and each holder's fit an iteration a turn, then the findings. */
  *decorateSteps(report: ProbeReport, samples: Sample[]): Generator<string, ProbeReport, void> {
    const nativeHeap = {
      ...(yield* this.profiles.reportSteps(true, this.unavailable.reason, this.lease?.sampleBytes ?? null, samples)),
      ...sessionStatus(this.lease),
      joined: this.joined,
    };
    yield 'native heap holders';
    return { ...report, findings: this.profiles.findings(report.findings, nativeHeap, report.retention, samples), nativeHeap };
  }

  ownMemoryBytes(): number {
    return this.profiles.ownMemoryBytes();
  }
}
