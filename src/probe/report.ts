import * as os from 'node:os';
import { leakFinding, retentionFinding, rssPerConnection, socketFindings, DEFAULT_THRESHOLDS, type Finding, type FindingThresholds } from './findings';
import { leakTrends, perConnection, retentionAfterSpike, type LeakTrend, type PerConnectionEstimate, type Retention } from './correlate';
import { headroomFindings } from './headroom';
import { LAYERS } from './layers';
import { drain } from './regression';
import { RESIDENT_FREE_METHOD, type Sample } from './sample';
import type { AutoReleaseRecord } from './auto-release';
import type { NativeHeapReport } from './native-heap';
import { renderMemoryEvents } from './memory-events';
import type { MemoryEventRecord } from '../container/events';
import { SockprobeTypeError } from '../errors';
import { profileAge, renderHolderDetails, renderHolders } from './holders/render';
import { plusMinus } from '../native-heap/sampling-error';
import { kib, mib } from '../format/bytes';

export interface Versions {
  node: string;
  v8: string;
  openssl: string;
  uv: string;
  kernel: string;
  allocator: string;
}

export interface ProbeReport {
  findings: Finding[];
  perConnection: PerConnectionEstimate[];
  retention: Retention | null;
  /** The last sample: every layer now. */
  latest: Sample | null;
  /** How `latest.nativeFree` and the retention split's free part are bounded to resident memory. */
  residentFreeMethod: string;
  /** What autoRelease did in this probe's life, oldest first (empty without autoRelease). */
  releases: AutoReleaseRecord[];
  samples: number;
  windowMs: number;
  /** The versions measured under: per-connection cost drifts across Node and OpenSSL releases. */
  versions: Versions;
  /** What sampling cost the JS thread, ms per sample: the probe's own stalls. A V8 GC that
   *  happens to run inside a sample counts too (scavenges take 5–20 ms in a TLS-churning process). */
  probeCost: { meanMs: number; medianMs: number; maxMs: number };
  /** Set by a probe: whether OpenSSL tracking was asked for, why it is off if it could not be had,
   *  when the probe's tracking began (sinceMs: the session's start, the figures count from then) and,
   *  once its data stopped, when and why (stopped). */
  openssl?: { requested: boolean; unavailable: string | null; sinceMs?: number | null; stopped?: { atMs: number; reason: string } | null };
  /** Set by a probe watching its memory cgroup (containerEvents, on by default): how it watches, or why
   *  it cannot; the counters that moved (OOM kills, limit and high breaches); the watch's reads and their time on the JS thread. */
  containerEvents?: {
    method: string | null;
    unavailable: string | null;
    records: MemoryEventRecord[];
    cost: { reads: number; totalMs: number; maxMs: number } | null;
  };
  /** Set by a probe created with nativeHeapProfile: profiles taken, growth by site and category, native bytes per connection by category. */
  nativeHeap?: NativeHeapReport;
}

export function currentVersions(allocator: string): Versions {
  return { node: process.versions.node, v8: process.versions.v8, openssl: process.versions.openssl, uv: process.versions.uv, kernel: os.release(), allocator };
}

function costOf(values: number[]): ProbeReport['probeCost'] {
  if (!values.length) return { meanMs: 0, medianMs: 0, maxMs: 0 };
  // A typed array sorts numerically without a comparator call per pair (the same order for finite values).
  const sorted = Float64Array.from(values).sort();
  return { meanMs: values.reduce((a, b) => a + b, 0) / values.length, medianMs: sorted[sorted.length >> 1], maxMs: sorted[sorted.length - 1] };
}

const SEVERITY_ORDER = { critical: 0, warning: 1, info: 2 } as const;

/** Everything the probe can say about a series of samples. Pure: feed it recorded samples. */
export function buildReport(
  samples: Sample[],
  versions: Versions,
  thresholds: FindingThresholds = DEFAULT_THRESHOLDS,
  releases: AutoReleaseRecord[] = [],
): ProbeReport {
  if (!Array.isArray(samples) || !samples.every((s) => typeof s === 'object' && s !== null && Number.isFinite(s.time) && Number.isFinite(s.rss))) {
    throw new SockprobeTypeError('samples', 'an array of probe samples', samples);
  }
  if (typeof versions !== 'object' || versions === null) throw new SockprobeTypeError('versions', 'an object', versions);
  if (typeof thresholds !== 'object' || thresholds === null) throw new SockprobeTypeError('thresholds', 'an object', thresholds);
  if (!Array.isArray(releases)) throw new SockprobeTypeError('releases', 'an array of autoRelease records', releases);
  const all = { ...DEFAULT_THRESHOLDS, ...thresholds };
  return assembleReport(
    samples,
    versions,
    all,
    releases,
    perConnection(samples),
    leakTrends(samples, all.leakGrowthBytes, all.leakWindowMs, all.exactLeakWindowMs),
  );
}

/**
 * buildReport() from its fitted parts, for a caller that fits them a layer at a time in turns of
 * their own (sockprobe/register's SIGUSR2 report: each fit of a full window costs milliseconds).
 * `thresholds` complete (DEFAULT_THRESHOLDS merged in); inputs checked by the caller.
 */
export function assembleReport(
  samples: Sample[],
  versions: Versions,
  thresholds: FindingThresholds,
  releases: AutoReleaseRecord[],
  estimates: PerConnectionEstimate[],
  trends: LeakTrend[],
): ProbeReport {
  return drain(assembleReportSteps(samples, versions, thresholds, releases, estimates, trends));
}

/** assembleReport() in parts (each a pass over the samples), each yielding the name of what it built. */
export function* assembleReportSteps(
  samples: Sample[],
  versions: Versions,
  thresholds: FindingThresholds,
  releases: AutoReleaseRecord[],
  estimates: PerConnectionEstimate[],
  trends: LeakTrend[],
): Generator<string, ProbeReport, void> {
  const retention = retentionAfterSpike(samples);
  yield 'retention';
  const probeCost = costOf(samples.map((s) => s.probeMs ?? 0));
  yield 'probe cost';
  const findings: Finding[] = [
    ...trends.map((trend) => leakFinding(trend, thresholds)),
    ...(retention ? [retentionFinding(retention, thresholds)].filter((f): f is Finding => f !== null) : []),
    ...socketFindings(samples[samples.length - 1], rssPerConnection(estimates), thresholds),
    ...headroomFindings(samples, thresholds.memoryHeadroomShare),
  ].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
  return {
    findings,
    perConnection: estimates,
    retention,
    latest: samples[samples.length - 1] ?? null,
    residentFreeMethod: RESIDENT_FREE_METHOD,
    releases,
    samples: samples.length,
    windowMs: samples.length ? samples[samples.length - 1].time - samples[0].time : 0,
    versions,
    probeCost,
  };
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

/** Every layer in the newest sample, resident figures named as such. */
export function renderLatest(latest: Sample): string {
  const parts = [`RSS ${mib(latest.rss)}`, `V8 heap ${mib(latest.heapPhysical)} resident (${mib(latest.heapUsed)} used)`];
  if (latest.nativeAllocated !== null) parts.push(`native in use ${mib(latest.nativeAllocated)} (allocator count; includes allocated pages never touched)`);
  if (latest.nativeFree !== null) parts.push(`free native ${mib(latest.nativeFree)} resident`);
  if (latest.allocatorFreeRaw !== null && latest.allocatorFreeRaw !== latest.nativeFree)
    parts.push(`allocator's raw free count ${mib(latest.allocatorFreeRaw)} (not all resident)`);
  if (latest.opensslLive !== null) parts.push(`OpenSSL ${mib(latest.opensslLive)} live`);
  if (latest.sockets) parts.push(`kernel sockets ${mib(latest.sockets.kernelBytes)}`);
  return parts.join('; ');
}

/** One autoRelease as a line: when, why, bytes back, and the time each step held the JS thread. */
export function renderRelease(record: AutoReleaseRecord): string {
  const when = Number.isFinite(record.time) ? new Date(record.time).toISOString() : 'at an unknown time';
  if (!record.result) return `${when} ${record.reason} → failed: ${record.error}`;
  const r = record.result;
  const gc = r.gc ? `heap-shrinking GC ${ms(r.gc.durationMs)} on the JS thread (gave back ${mib(r.gc.releasedBytes)})` : 'no GC';
  return (
    `${when} ${record.reason} → ${mib(r.releasedBytes)} back (${mib(r.trimReleasedBytes)} ` +
    `by ${r.method} in ${ms(r.trimMs)} ` +
    `on ${r.onThreadpool ? 'the threadpool' : 'the JS thread'}; ${gc}); JS thread ` +
    `held ${ms(r.jsThreadMs)} in ` +
    `all${typeof r.jsThread?.longestStallMs === 'number' ? `, longest event-loop stall ${ms(r.jsThread.longestStallMs)}` : ''}` +
    loopDelayText(r.jsThread?.loopDelay)
  );
}

/** The p99 a release added, with the two p99s it is the difference of (records from older versions have none). */
function loopDelayText(loopDelay: { addedP99Ms: number; p99Ms: number; baselineP99Ms: number } | undefined): string {
  if (typeof loopDelay?.addedP99Ms !== 'number') return '';
  return `, loop p99 delay +${ms(loopDelay.addedP99Ms)} (${ms(loopDelay.p99Ms)} against ${ms(loopDelay.baselineP99Ms)} before)`;
}

/** Per-connection rows a person reads: estimates and declines, notes when in-use exceeds resident. */
export function renderPerConnection(estimates: ProbeReport['perConnection'], indent = '  '): string[] {
  const lines: string[] = [];
  for (const e of estimates) {
    const label = `${LAYERS[e.layer].label}, ${e.kind}`.padEnd(34);
    lines.push(
      e.bytesPerConnection === null
        ? `${indent}${label} — (${e.declined})`
        : `${indent}${label} ${kib(e.bytesPerConnection).padStart(10)}  ` + `(R² ${e.quality!.toFixed(2)}, ${e.samples} samples)`,
    );
    if (e.note) lines.push(`${indent}    note: ${e.note}`);
  }
  return lines;
}

/** Native bytes per connection by category and what grew, from the sampled native heap profiles. */
export function renderNativeHeap(heap: NativeHeapReport, indent = '  ', now?: Sample | null): string[] {
  if (heap.unavailable || !heap.latest) return [];
  const lines = ['', `Native heap by category (sampled every ${heap.sampleBytes} B, ${heap.profiles} profiles; estimates):`];
  for (const e of heap.perConnection) {
    const label = `${e.category}, ${e.kind}`.padEnd(34);
    const error = e.relativeError == null ? '' : `, ${plusMinus(e.relativeError)} from ${e.sampledAllocations} sampled allocations`;
    lines.push(
      e.bytesPerConnection === null
        ? `${indent}${label} — (${e.declined})`
        : `${indent}${label} ${kib(e.bytesPerConnection).padStart(10)}  ` + `(R² ${e.quality!.toFixed(2)}, ${e.samples} profiles${error})`,
    );
  }
  if (heap.growth) {
    const g = heap.growth;
    const when = (takenAt: number, rss: number | null | undefined) => profileAge(takenAt, now?.time ?? null, rss ?? null, now?.rss ?? null);
    lines.push(
      `${indent}grew ${kib(g.growthBytes)} between the first profile and the newest ` +
        `(${when(g.fromTakenAt, g.fromRss)}; ${when(g.toTakenAt, g.toRss)}); most:`,
    );
    for (const site of heap.growth.topSites)
      lines.push(`${indent}  ${kib(site.growthBytes).padStart(10)} ${plusMinus(site.relativeError ?? null).padStart(5)} [${site.category}] ${site.site}`);
  }
  return lines;
}

function clock(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** When the probe's session began and, if its data stopped, when and why. */
function sessionSpan(status: { sinceMs?: number | null; stopped?: { atMs: number; reason: string } | null }): string {
  if (status.sinceMs == null) return 'not started yet';
  const since = `counted since ${clock(status.sinceMs)}`;
  return status.stopped ? `${since}, stopped at ${clock(status.stopped.atMs)}: ${status.stopped.reason}` : since;
}

/** The report as text a person reads at a terminal or in a log. */
export function renderReport(report: ProbeReport): string {
  if (
    typeof report !== 'object' ||
    report === null ||
    !Array.isArray(report.findings) ||
    !Array.isArray(report.perConnection) ||
    typeof report.versions !== 'object' ||
    report.versions === null
  ) {
    throw new SockprobeTypeError('report', 'a report from probe.report() or buildReport()', report);
  }
  const lines: string[] = [];
  const v = report.versions;
  lines.push(
    `sockprobe report — ${report.samples} samples over ${(report.windowMs / 1000).toFixed(0)} s; ` +
      `Node ${v.node}, OpenSSL ${v.openssl}, V8 ${v.v8}, kernel ${v.kernel}, allocator ${v.allocator}`,
  );
  lines.push(
    `Sampling cost the JS thread ${report.probeCost.medianMs.toFixed(2)} ms per sample ` +
      `(median), ${report.probeCost.maxMs.toFixed(2)} ms at most (GC pauses that land in a sample ` +
      `included).`,
  );
  if (report.latest) lines.push(`Now: ${renderLatest(report.latest)}.`);
  if (report.openssl?.unavailable) lines.push(`OpenSSL live bytes: not tracked — ${report.openssl.unavailable}`);
  else if (report.openssl?.requested) lines.push(`OpenSSL live bytes: ${sessionSpan(report.openssl)}.`);
  if (report.nativeHeap?.unavailable) lines.push(`Native heap profile: off — ${report.nativeHeap.unavailable}`);
  else if (report.nativeHeap?.requested)
    lines.push(`Native heap profile: ${sessionSpan(report.nativeHeap)}${report.nativeHeap.joined ? ` (${report.nativeHeap.joined})` : ''}.`);
  lines.push('');
  // Holders first: what holds the memory, per connection, and what to change; the detail comes last.
  const holders = Array.isArray(report.nativeHeap?.holders) ? report.nativeHeap!.holders : [];
  const now = report.latest?.time ?? null;
  if (holders.length) lines.push(...renderHolders(holders), '');
  const findings = report.findings.filter((f) => f.kind !== 'holder');
  const releases = Array.isArray(report.releases) ? report.releases.filter((r) => typeof r === 'object' && r !== null) : [];
  const quiet = releases.length
    ? 'Findings: none now — autoRelease gave memory back (below); nothing leaking or piling up in ' + 'this window.'
    : 'Findings: none — nothing leaking, retained or piling up in this window.';
  lines.push(findings.length ? 'Findings:' : quiet);
  for (const f of findings) {
    lines.push(`  [${f.severity}] ${f.kind} (${f.layer}): ${f.summary}`);
    lines.push(`      → ${f.advice}`);
  }
  if (report.containerEvents?.records.length) lines.push('', ...renderMemoryEvents(report.containerEvents.records));
  if (releases.length) {
    lines.push('');
    lines.push(`autoRelease (${releases.length}, ${mib(releases.reduce((sum, r) => sum + (r.result?.releasedBytes ?? 0), 0))} back in all):`);
    for (const r of releases) lines.push(`  ${renderRelease(r)}`);
  }
  lines.push('');
  lines.push('Per connection:');
  lines.push(...renderPerConnection(report.perConnection));
  if (report.nativeHeap) lines.push(...renderNativeHeap(report.nativeHeap, '  ', report.latest));
  lines.push(...renderHolderDetails(holders, now));
  if (report.latest?.nativeFree != null) lines.push(`\nFree native memory is resident memory: ${report.residentFreeMethod ?? RESIDENT_FREE_METHOD}.`);
  return lines.join('\n');
}
