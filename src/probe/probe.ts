import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { SockprobeTypeError } from '../errors';
import type { ReleaseResult } from '../memory/release';
import { AutoReleasePolicy, type AutoReleaseOptions } from './auto-release';
import { DEFAULT_THRESHOLDS, type FindingThresholds } from './findings';
import { realSources } from './real-sources';
import { buildReport, currentVersions, renderReport, type ProbeReport } from './report';
import { RingBuffer } from './ring-buffer';
import type { Sample, SocketSummary } from './sample';
import type { ProbeSources } from './sources';

export interface ProbeOptions {
  /** Sampling interval, ms. Default 1000. */
  intervalMs?: number;
  /** Socket snapshot interval, ms (a snapshot costs about 50 ms of threadpool time per 10k sockets). Default 10 000. */
  socketIntervalMs?: number;
  /** Samples kept (the ring buffer bounds the probe's memory). Default 3600. */
  capacity?: number;
  /** An established connection with no data either way for this long counts as idle. Default 60 000. */
  idleThresholdMs?: number;
  /** Count OpenSSL's live bytes while the probe runs (start() turns tracking on, stop() off);
   *  where capabilities().opensslTracking is a reason, the OpenSSL layer stays null. Default off. */
  opensslTracking?: boolean;
  /** Give memory back when a connection spike ends. Default off. */
  autoRelease?: boolean | AutoReleaseOptions;
  thresholds?: Partial<FindingThresholds>;
  /** Where layers are read (tests pass fakes). Default: this process, for real. */
  sources?: ProbeSources;
}

export interface AutoReleaseRecord {
  time: number;
  reason: string;
  result: Pick<ReleaseResult, 'allocator' | 'method' | 'durationMs' | 'jsThread' | 'rssBeforeBytes' | 'rssAfterBytes' | 'releasedBytes'> | null;
  error?: string;
}

export interface Probe {
  start(): Probe;
  stop(): void;
  /** Takes one sample now (and a socket snapshot if one is due). */
  sample(): Promise<Sample>;
  samples(): Sample[];
  report(): ProbeReport;
  /** The report as text. */
  renderReport(): string;
  /** What autoRelease did, newest last (at most 64 kept). */
  releases(): AutoReleaseRecord[];
  /** Rough bytes the probe's own buffers hold. */
  ownMemoryBytes(): number;
  readonly running: boolean;
}

/** Heap bytes per sample: 10k samples measured ~300 B each (heapUsed after GC); socket summaries are shared by the samples that carry them. */
const SAMPLE_BYTES = 320;

function positiveInteger(name: string, value: unknown, fallback: number, max = 2 ** 31 - 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) throw new SockprobeTypeError(name, `an integer from 1 to ${max}`, value);
  return value;
}

function optionalObject(name: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'object' || value === null)) throw new SockprobeTypeError(name, 'an object', value);
}

/** createProbe(): samples every layer over time and says what is wrong. Call start() to sample on a timer. */
export function createProbe(options: ProbeOptions = {}): Probe {
  if (typeof options !== 'object' || options === null) throw new SockprobeTypeError('options', 'an object', options);
  const intervalMs = positiveInteger('options.intervalMs', options.intervalMs, 1000);
  const socketIntervalMs = positiveInteger('options.socketIntervalMs', options.socketIntervalMs, 10_000);
  const idleThresholdMs = positiveInteger('options.idleThresholdMs', options.idleThresholdMs, 60_000);
  // 100k samples is about 32 MB: the most a probe may hold.
  const ring = new RingBuffer<Sample>(positiveInteger('options.capacity', options.capacity, 3600, 100_000));
  optionalObject('options.thresholds', options.thresholds);
  optionalObject('options.sources', options.sources);
  if (options.autoRelease !== undefined && typeof options.autoRelease !== 'boolean') optionalObject('options.autoRelease', options.autoRelease);
  if (options.opensslTracking !== undefined && typeof options.opensslTracking !== 'boolean') throw new SockprobeTypeError('options.opensslTracking', 'a boolean', options.opensslTracking);
  const thresholds = { ...DEFAULT_THRESHOLDS, ...options.thresholds };
  const sources = options.sources ?? realSources();
  const policy = options.autoRelease ? new AutoReleasePolicy(options.autoRelease === true ? {} : options.autoRelease) : null;
  const releases = new RingBuffer<AutoReleaseRecord>(64);
  let timer: NodeJS.Timeout | undefined;
  let histogram: IntervalHistogram | undefined;
  let lastSockets: SocketSummary | null = null;
  let lastSocketsAt = -Infinity;
  let releasing = false;
  let sampling: Promise<Sample> | undefined;
  let trackingOpenssl = false;

  async function socketsIfDue(now: number): Promise<SocketSummary | null> {
    if (now - lastSocketsAt < socketIntervalMs) return lastSockets;
    lastSocketsAt = now;
    const pending = sources.sockets(idleThresholdMs);
    if (pending) lastSockets = await pending.catch(() => lastSockets);
    return lastSockets;
  }

  async function takeSample(): Promise<Sample> {
    const time = Date.now();
    const before = lastSockets;
    const [sockets, native] = await Promise.all([socketsIfDue(time), sources.allocator()]);
    const started = performance.now();
    const memory = sources.memory();
    const delay = histogram ? histogram.max / 1e6 : 0;
    histogram?.reset();
    const sample: Sample = {
      time,
      ...memory,
      nativeAllocated: native.allocated,
      nativeFree: native.free,
      opensslLive: sources.opensslLive(),
      connections: sources.connections(),
      sockets,
      eventLoopDelayMaxMs: Number.isFinite(delay) ? delay : 0,
      probeMs: 0,
    };
    sample.probeMs = performance.now() - started + (sockets && sockets !== before ? sockets.mainThreadMs : 0);
    const previous = ring.last();
    ring.push(sample);
    if (policy && !releasing) considerRelease(sample, previous);
    return sample;
  }

  function considerRelease(sample: Sample, previous: Sample | undefined): void {
    const decision = policy!.consider(sample, previous);
    if (!decision.release) return;
    releasing = true;
    sources.release().then(
      (result) => {
        policy!.released(sample, result.rssAfterBytes);
        const { allocator, method, durationMs, jsThread, rssBeforeBytes, rssAfterBytes, releasedBytes } = result;
        releases.push({ time: Date.now(), reason: decision.reason, result: { allocator, method, durationMs, jsThread, rssBeforeBytes, rssAfterBytes, releasedBytes } });
      },
      (error: Error) => {
        policy!.released(sample, sample.rss);
        releases.push({ time: Date.now(), reason: decision.reason, result: null, error: error.message });
      },
    ).finally(() => (releasing = false));
  }

  const probe: Probe = {
    start() {
      if (timer) return probe;
      if (options.opensslTracking) trackingOpenssl = sources.trackOpenssl?.(true) ?? false;
      histogram = monitorEventLoopDelay({ resolution: 10 });
      histogram.enable();
      timer = setInterval(() => void probe.sample().catch(() => undefined), intervalMs);
      timer.unref();
      return probe;
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (trackingOpenssl) sources.trackOpenssl?.(false);
      trackingOpenssl = false;
      histogram?.disable();
      histogram = undefined;
    },
    sample() {
      // One sample at a time: a slow snapshot must not let samples pile up.
      sampling ??= takeSample().finally(() => (sampling = undefined));
      return sampling;
    },
    samples: () => ring.toArray(),
    report: () => buildReport(ring.toArray(), currentVersions(sources.allocatorName()), thresholds),
    renderReport: () => renderReport(probe.report()),
    releases: () => releases.toArray(),
    ownMemoryBytes: () => ring.size * SAMPLE_BYTES + releases.size * 200,
    get running() {
      return timer !== undefined;
    },
  };
  return probe;
}
