import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { SockprobeTypeError } from '../errors';
import { LoopWatch } from '../memory/loop-watch';
import { AutoReleasePolicy, releaseRecord, type AutoReleaseOptions, type AutoReleaseRecord } from './auto-release';
import { MIN_CONNECTION_RANGE, leakTrendSteps, noteInUseAboveResident, perConnectionSteps, type PerConnectionEstimate } from './correlate';
import { named } from './regression';
import { LAYERS, type Layer } from './layers';
import { registerReportSteps, type ReportSteps } from './report-steps';
import { DEFAULT_THRESHOLDS, type FindingThresholds } from './findings';
import { defaultMaxHeldBytes, type NativeHeapProfileOptions } from './native-heap';
import type { ProbeExtension } from './extension';
import { NativeHeapExtension } from './native-heap-extension';
import { OpensslExtension } from './openssl-extension';
import { SockprobeError } from '../errors';
import type { NativeHeapProfile } from '../native-heap/profile';
import { realSources } from './real-sources';
import { assembleReportSteps, buildReport, currentVersions, renderReport, type ProbeReport } from './report';
import { RingBuffer } from './ring-buffer';
import { residentFree, totalConnections, type Sample, type SocketSummary } from './sample';
import type { ProbeSources } from './sources';
import type { MemoryEventRecord, MemoryEventsWatch } from '../container/events';
import { sampleBytesOption } from '../options/sample-bytes';

export type { AutoReleaseRecord } from './auto-release';
export type { NativeHeapProfileOptions, NativeHeapReport } from './native-heap';

export interface ProbeOptions {
  /** Sampling interval, ms. Default 1000. */
  intervalMs?: number;
  /** Socket snapshot interval, ms (a snapshot costs about 50 ms of threadpool time per 10k sockets). Default 10 000. */
  socketIntervalMs?: number;
  /** Samples kept (the ring buffer bounds the probe's memory). Default 3600. */
  capacity?: number;
  /** An established connection with no data either way for this long counts as idle. Default 60 000. */
  idleThresholdMs?: number;
  /** Count OpenSSL's live bytes while the probe runs: start() takes the probe's own reference to the
   *  process-wide tracking session (joining the application's if one runs), stop() gives back that
   *  reference alone. Where capabilities().opensslTracking is a reason, the OpenSSL layer stays null
   *  and report().openssl.unavailable says why. Default off. */
  opensslTracking?: boolean;
  /** Profile the native heap by call site while the probe runs (start() takes the probe's own reference
   *  to the process-wide session, joining one that runs; stop() gives back that reference alone; a
   *  session running at another rate is joined at its rate unless `sampleBytes` was given, then the
   *  report says why profiling is off): profiles every `intervalMs` (default 60 s), at most a
   *  few kept; other-native leak and retention findings then name the top growing call sites, and
   *  report().nativeHeap splits native bytes per connection by category. Where
   *  capabilities().nativeHeapProfiling is a reason, report().nativeHeap.unavailable says it. Default off. */
  nativeHeapProfile?: boolean | NativeHeapProfileOptions;
  /** Watch the memory cgroup's event counters (an OOM kill in the container, a limit or memory.high
   *  breach) and record each move with the limit and working set then: v2 by inotify on memory.events,
   *  v1 by polling memory.failcnt and memory.oom_control every `intervalMs` (default 250). Default on. */
  containerEvents?: boolean | { intervalMs?: number };
  /** Give memory back when a connection spike ends. Default off. */
  autoRelease?: boolean | AutoReleaseOptions;
  thresholds?: Partial<FindingThresholds>;
  /** Where layers are read (tests pass fakes). Default: this process, for real. */
  sources?: ProbeSources;
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
  /** The memory cgroup's event counters that moved while the probe ran, oldest first (the newest 32 kills and 32 limit or high breaches kept). */
  containerEvents(): MemoryEventRecord[];
  /** What autoRelease did, newest last (at most 64 kept). */
  releases(): AutoReleaseRecord[];
  /** Rough bytes the probe's own buffers hold. */
  ownMemoryBytes(): number;
  /** Takes a native heap profile now (with a sample, so it counts in the per-connection fit) and keeps it
   *  as the newest; returns it as kept (its largest sites within maxHeldBytes' share, the rest in
   *  `omitted`). Needs `nativeHeapProfile` and a running profiler: ERR_UNSUPPORTED saying why otherwise. */
  profileNativeHeap(): Promise<NativeHeapProfile>;
  readonly running: boolean;
}

/**
 * Heap bytes per sample: 10k samples measured ~300 B each (heapUsed after GC) before three number
 * fields (rssAnon, heapPhysical, allocatorFreeRaw) were added; socket summaries are shared by the
 * samples that carry them.
 */
const SAMPLE_BYTES = 350;

function positiveInteger(name: string, value: unknown, fallback: number, max = 2 ** 31 - 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max)
    throw new SockprobeTypeError(name, `an integer from 1 to ${max}`, value);
  return value;
}

function optionalObject(name: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'object' || value === null)) throw new SockprobeTypeError(name, 'an object', value);
}

function nativeHeapOptions(value: ProbeOptions['nativeHeapProfile']): (Required<NativeHeapProfileOptions> & { rateGiven: boolean }) | null {
  if (value === undefined || value === false) return null;
  if (value !== true) optionalObject('options.nativeHeapProfile', value);
  const given = value === true ? {} : value;
  const intervalMs = positiveInteger('options.nativeHeapProfile.intervalMs', given.intervalMs, 60_000);
  // A profile walks the whole sample table and symbolizes it: not more than once a second.
  if (intervalMs < 1000)
    throw new SockprobeTypeError('options.nativeHeapProfile.intervalMs', 'an integer of at least 1000 (ms)', given.intervalMs, 'ERR_INVALID_ARG_VALUE');
  const maxHeldBytes = positiveInteger('options.nativeHeapProfile.maxHeldBytes', given.maxHeldBytes, defaultMaxHeldBytes(), 2 ** 40);
  if (maxHeldBytes < 256 * 1024)
    throw new SockprobeTypeError(
      'options.nativeHeapProfile.maxHeldBytes',
      'an integer of at least 262144 (256 KiB)',
      given.maxHeldBytes,
      'ERR_INVALID_ARG_VALUE',
    );
  return {
    sampleBytes: sampleBytesOption('options.nativeHeapProfile.sampleBytes', given.sampleBytes),
    intervalMs,
    maxHeldBytes,
    rateGiven: given.sampleBytes !== undefined,
  };
}

function containerEventsOptions(value: ProbeOptions['containerEvents']): { intervalMs: number } | null {
  if (value === false) return null;
  if (value !== undefined && value !== true) optionalObject('options.containerEvents', value);
  const given = value === undefined || value === true ? {} : value;
  return { intervalMs: positiveInteger('options.containerEvents.intervalMs', given.intervalMs, 250, 60_000) };
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
  if (options.opensslTracking !== undefined && typeof options.opensslTracking !== 'boolean')
    throw new SockprobeTypeError('options.opensslTracking', 'a boolean', options.opensslTracking);
  const heapOptions = nativeHeapOptions(options.nativeHeapProfile);
  const eventsOptions = containerEventsOptions(options.containerEvents);
  const thresholds = { ...DEFAULT_THRESHOLDS, ...options.thresholds };
  const share = thresholds.memoryHeadroomShare;
  if (typeof share !== 'number' || !(share > 0 && share <= 1))
    throw new SockprobeTypeError('options.thresholds.memoryHeadroomShare', 'a share of the limit above 0 and at most 1', share, 'ERR_INVALID_ARG_VALUE');
  const sources = options.sources ?? realSources();
  const policy = options.autoRelease ? new AutoReleasePolicy(options.autoRelease === true ? {} : options.autoRelease) : null;
  const releases = new RingBuffer<AutoReleaseRecord>(64);
  // The loop's recent 1 ms gaps, kept only while the working set nears autoRelease.memoryLimit (see nearMemoryLimit).
  const loopWatch = policy?.watchesMemoryLimit ? new LoopWatch() : null;
  // Kills apart from breaches: a group throttled above memory.high for minutes must not push its
  // OOM kills out of a shared buffer.
  const memoryKills = new RingBuffer<MemoryEventRecord>(32);
  const memoryBreaches = new RingBuffer<MemoryEventRecord>(32);
  const memoryEvents = {
    push: (record: MemoryEventRecord) =>
      (record.counter === 'oomKill' || record.counter === 'oomGroupKill' || record.counter === 'oom' ? memoryKills : memoryBreaches).push(record),
    toArray: () => [...memoryKills.toArray(), ...memoryBreaches.toArray()].sort((a, b) => a.time - b.time),
    get size() {
      return memoryKills.size + memoryBreaches.size;
    },
  };
  let eventsWatch: MemoryEventsWatch | null = null;
  let timer: NodeJS.Timeout | undefined;
  let histogram: IntervalHistogram | undefined;
  let lastSockets: SocketSummary | null = null;
  let lastSocketsAt = -Infinity;
  let releasing = false;
  let sampling: Promise<Sample> | undefined;
  // The optional parts holding sessions of their own, in the order they add to the report. Each
  // keeps the probe's own reference: only its stop() gives it back, so the application's stop()
  // never ends the probe's data, nor the probe's stop() the application's.
  const probeRunning = () => timer !== undefined;
  const heapExtension = heapOptions ? new NativeHeapExtension(sources.nativeHeap, heapOptions, probeRunning) : null;
  const extensions: ProbeExtension[] = [new OpensslExtension(sources, options.opensslTracking === true, probeRunning)];
  if (heapExtension) extensions.push(heapExtension);

  /** The watch's last count of OOM kills, carried on the sample (the exporters' counter). */
  function withOomKills(container: Sample['container']): Sample['container'] {
    const counters = eventsWatch?.counters();
    return container && counters ? { ...container, oomKills: counters.oomKill } : container;
  }

  function withContainerEvents(report: ProbeReport): ProbeReport {
    if (!eventsOptions) return report;
    const watch = eventsWatch;
    const unavailable = watch ? watch.unavailable : sources.watchContainerEvents ? 'the probe has not started' : 'these sources do not watch the memory cgroup';
    return { ...report, containerEvents: { method: watch?.method ?? null, unavailable, records: memoryEvents.toArray(), cost: watch?.cost() ?? null } };
  }

  let connectionsAtSnapshot = 0;
  /** A snapshot every socketIntervalMs, and sooner when the connection count has moved since the
   *  last one: kernel memory per connection needs readings taken while counts vary, not only the few
   *  a slow cadence happens to catch. Sooner is never more often than once a second (nor than a fifth
   *  of the interval, nor four samples): each snapshot costs the JS thread its summary. */
  const soonestSnapshotMs = Math.max(1000, socketIntervalMs / 5, 4 * intervalMs);
  function socketsDue(now: number, connections: number): boolean {
    const since = now - lastSocketsAt;
    if (since >= socketIntervalMs) return true;
    const moved = Math.abs(connections - connectionsAtSnapshot);
    return since >= soonestSnapshotMs && moved >= Math.max(MIN_CONNECTION_RANGE, 0.1 * connectionsAtSnapshot);
  }

  async function socketsIfDue(now: number, connections: number): Promise<SocketSummary | null> {
    if (!socketsDue(now, connections)) return lastSockets;
    lastSocketsAt = now;
    connectionsAtSnapshot = connections;
    const pending = sources.sockets(idleThresholdMs);
    if (pending !== null) lastSockets = await pending.catch(() => lastSockets);
    return lastSockets;
  }

  async function takeSample(): Promise<Sample> {
    const time = Date.now();
    const before = lastSockets;
    const connectionsNow = sources.connections();
    const [sockets, native, anon, container] = await Promise.all([
      socketsIfDue(time, totalConnections(connectionsNow)),
      sources.allocator(),
      sources.rssAnon?.().catch(() => undefined),
      sources.container?.().catch(() => null),
    ]);
    const started = performance.now();
    const memory = sources.memory();
    const delay = histogram ? histogram.max / 1e6 : 0;
    histogram?.reset();
    const rssAnon = Number.isFinite(anon) ? anon! : Number.isFinite(memory.rssAnon) ? memory.rssAnon! : memory.rss;
    const heapPhysical = Number.isFinite(memory.heapPhysical) ? memory.heapPhysical! : memory.heapTotal;
    const sample: Sample = {
      time,
      ...memory,
      rssAnon,
      heapPhysical,
      nativeAllocated: native.allocated,
      nativeFree: residentFree(native.releasable === undefined ? native.free : native.releasable, {
        rssAnon,
        heapPhysical,
        external: memory.external,
        nativeAllocated: native.allocated,
        unreleasable: native.unreleasable,
      }),
      allocatorFreeRaw: native.free,
      opensslLive: sources.opensslLive(),
      connections: connectionsNow,
      sockets,
      ...(container === undefined ? {} : { container: withOomKills(container) }),
      eventLoopDelayMaxMs: Number.isFinite(delay) ? delay : 0,
      probeMs: 0,
    };
    sample.probeMs = performance.now() - started + (sockets && sockets !== before ? sockets.mainThreadMs : 0) + (container?.readMs ?? 0);
    const previous = ring.last();
    ring.push(sample);
    for (const extension of extensions) extension.sampled(sample);
    if (loopWatch) {
      if (policy!.nearMemoryLimit(sample)) loopWatch.start();
      else if (!releasing) loopWatch.stop();
    }
    if (policy && !releasing) considerRelease(sample, previous);
    return sample;
  }

  function considerRelease(sample: Sample, previous: Sample | undefined): void {
    const decision = policy!.consider(sample, previous);
    if (!decision.release) return;
    releasing = true;
    const started = Date.now();
    // Near the limit the release starts at once: its loop-delay baseline is what the watch saw (all of the
    // last 200 ms when it ran that long; less, and the release's note says so, when memory rose faster).
    let recent: LoopWatch | undefined;
    if (decision.trigger === 'memory-limit' && loopWatch) {
      loopWatch.start();
      recent = loopWatch;
    }
    sources
      .release(policy!.releaseOptions, recent)
      .then(
        (result) => {
          policy!.released(sample, result.rssAfterBytes);
          releases.push(releaseRecord(started, decision, result));
        },
        (error: Error) => {
          policy!.released(sample, sample.rss);
          releases.push({
            time: started,
            reason: decision.reason,
            trigger: decision.trigger,
            ...(decision.memoryLimit ? { memoryLimit: decision.memoryLimit } : {}),
            expectedBytes: decision.expectedBytes,
            result: null,
            error: error.message,
          });
        },
      )
      .finally(() => (releasing = false));
  }

  // probe.report() a part at a time (src/probe/report-steps.ts): the same figures, each fit in a turn of its own.
  function* reportSteps(): ReportSteps {
    const samples = ring.toArray();
    const estimates: PerConnectionEstimate[] = [];
    for (const layer of Object.keys(LAYERS) as Layer[]) {
      estimates.push(...(yield* named(`per-connection fit (${layer})`, perConnectionSteps(samples, [layer]))));
    }
    const trends = yield* leakTrendSteps(samples, thresholds.leakGrowthBytes, thresholds.leakWindowMs, thresholds.exactLeakWindowMs);
    let report = yield* assembleReportSteps(
      samples,
      currentVersions(sources.allocatorName()),
      thresholds,
      releases.toArray(),
      noteInUseAboveResident(estimates),
      trends,
    );
    yield 'findings';
    for (const extension of extensions) {
      if (extension.decorateSteps) report = yield* extension.decorateSteps(report, samples);
      else report = extension.decorate(report, samples);
      yield extension === heapExtension ? 'native heap findings' : 'OpenSSL part';
    }
    return withContainerEvents(report);
  }

  const probe: Probe = {
    start() {
      if (timer) return probe;
      for (const extension of extensions) extension.start();
      if (eventsOptions && sources.watchContainerEvents) eventsWatch = sources.watchContainerEvents((record) => memoryEvents.push(record), eventsOptions);
      histogram = monitorEventLoopDelay({ resolution: 10 });
      histogram.enable();
      // Until the first sample says how near the limit the working set is (a probe started near it releases at its first sample).
      loopWatch?.start();
      timer = setInterval(() => void probe.sample().catch(() => undefined), intervalMs);
      timer.unref();
      return probe;
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      // Only the probe's own references: another user's session runs on.
      for (const extension of extensions) extension.stop('probe.stop() was called');
      histogram?.disable();
      histogram = undefined;
      loopWatch?.stop();
      eventsWatch?.stop();
    },
    sample() {
      // One sample at a time: a slow snapshot must not let samples pile up.
      sampling ??= takeSample().finally(() => (sampling = undefined));
      return sampling;
    },
    samples: () => ring.toArray(),
    report: () => {
      const samples = ring.toArray();
      const report = buildReport(samples, currentVersions(sources.allocatorName()), thresholds, releases.toArray());
      return withContainerEvents(extensions.reduce((decorated, extension) => extension.decorate(decorated, samples), report));
    },
    renderReport: () => renderReport(probe.report()),
    releases: () => releases.toArray(),
    containerEvents: () => memoryEvents.toArray(),
    // A release record measured ~400 B (10k records, heapUsed after GC).
    ownMemoryBytes: () =>
      ring.size * SAMPLE_BYTES + releases.size * 400 + memoryEvents.size * 300 + extensions.reduce((sum, extension) => sum + extension.ownMemoryBytes(), 0),
    async profileNativeHeap() {
      if (!heapExtension) throw new SockprobeError('ERR_UNSUPPORTED', 'this probe was created without nativeHeapProfile');
      return heapExtension.profileNow(() => probe.sample());
    },
    get running() {
      return timer !== undefined;
    },
  };
  registerReportSteps(probe, reportSteps);
  return probe;
}
