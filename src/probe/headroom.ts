/**
 * The memory-headroom finding: the container's working set near the limit the kernel kills on,
 * which layer grew to get there, and how many more connections fit at the cost each one has had.
 */
import { estimateFromReadings, kindsPresent } from './correlate';
import type { Finding } from './findings';
import { otherNative, totalConnections, type Sample } from './sample';
import { kib, mib } from '../format/bytes';

type GrowthLayer = 'jsHeap' | 'external' | 'otherNative' | 'openssl' | 'kernelSockets' | 'outsideProcess';

export interface MemoryHeadroomEvidence {
  workingSetBytes: number;
  limitBytes: number;
  /** The file the limit was read from. */
  limitSource: string;
  /** workingSet / limit now, and the share that raises the finding. */
  share: number;
  threshold: number;
  /** Bytes each layer grew between the window's first cgroup reading and now (null: not read here).
   *  OpenSSL and other native growth are resident growth: at most what RssAnon grew beyond the V8 heap and Buffers. */
  growth: Record<GrowthLayer | 'workingSet', number | null>;
  windowMs: number;
  /** The layer that grew most (a key of `growth`). */
  grewMost: GrowthLayer | 'none';
  /** From the working set's per-connection regression: more connections of `kind` that fit below the limit. */
  forecast: { kind: 'tls' | 'tcp'; bytesPerConnection: number; quality: number; connectionsNow: number; connectionsThatFit: number } | { declined: string };
  /** The working set's average growth over the window, and the time to the limit at that rate (null: not growing). */
  bytesPerHour: number | null;
  timeToLimitMs: number | null;
}

const LABELS: Record<GrowthLayer, string> = {
  jsHeap: 'the V8 heap',
  external: 'Buffers and ArrayBuffers (external)',
  otherNative: 'native memory outside Buffers and OpenSSL',
  openssl: 'OpenSSL',
  kernelSockets: "this process's kernel socket buffers",
  outsideProcess: 'memory outside this process (page cache, kernel, other processes in the container)',
};

const ADVICE: Record<GrowthLayer | 'none', string> = {
  jsHeap:
    'take two heap snapshots minutes apart and compare retained sizes, and keep --max-old-space-size below the limit so V8 collects before the kernel kills',
  external: 'cap what each connection buffers (stream highWaterMark, per-session Buffers, caches keyed by connection)',
  otherNative:
    'free native memory the allocator keeps returns with releaseToOS() or autoRelease; what is in ' +
    'use, createProbe({ nativeHeapProfile: true }) names by call site',
  openssl: 'TLS state per connection: close idle connections, reuse SecureContexts, and check openssl.stats() for live bytes that outlive their connections',
  kernelSockets: 'peers or the app are not reading: check inqBytes/outqBytes per socket (socketSnapshot()) and apply backpressure',
  outsideProcess:
    'containerLedger() names what lies outside this process: page cache from files read or written, kernel memory, or another process in the container',
  none: 'containerLedger() splits the usage by holder',
};

const span = (ms: number) =>
  ms < 120_000 ? `${(ms / 1000).toFixed(0)} s` : ms < 2 * 3600_000 ? `${(ms / 60_000).toFixed(0)} min` : `${(ms / 3600_000).toFixed(1)} h`;
/** A sample with a working set and a limit to hold it against. */
const limited = (s: Sample) => s.container != null && s.container.limitBytes !== null && s.container.workingSetBytes !== null;

function growthBetween(first: Sample, last: Sample): MemoryHeadroomEvidence['growth'] {
  const delta = (read: (s: Sample) => number | null | undefined) => {
    const a = read(first);
    const b = read(last);
    return a == null || b == null ? null : b - a;
  };
  const workingSet = delta((s) => s.container?.workingSetBytes);
  const anon = delta((s) => s.rssAnon);
  const jsHeap = delta((s) => s.heapPhysical);
  const external = delta((s) => s.external);
  // Allocator counts include pages handed out but never touched: OpenSSL's and other native growth
  // are capped by the anonymous RSS growth the V8 heap and Buffers leave, as memoryBreakdown() does.
  let left = anon === null ? Infinity : Math.max(0, anon - Math.max(0, jsHeap ?? 0) - Math.max(0, external ?? 0));
  const resident = (bytes: number | null) => {
    if (bytes === null || bytes <= 0) return bytes;
    const kept = Math.min(bytes, left);
    left -= kept;
    return kept;
  };
  const openssl = resident(delta((s) => s.opensslLive));
  return {
    workingSet,
    jsHeap,
    external,
    openssl,
    otherNative: resident(delta(otherNative)),
    kernelSockets: delta((s) => s.sockets?.kernelBytes),
    outsideProcess: workingSet === null || anon === null ? null : workingSet - anon,
  };
}

function forecastFrom(samples: Sample[], latest: Sample, headroomBytes: number): MemoryHeadroomEvidence['forecast'] {
  const readings = samples.filter(limited).map((sample) => ({ sample, value: sample.container!.workingSetBytes! }));
  const present = kindsPresent(samples);
  if (!present.length) return { declined: 'no connection was open in this window' };
  const estimates = estimateFromReadings('the working set', readings, present);
  const usable = estimates.filter((e) => e.bytesPerConnection !== null && e.bytesPerConnection > 0);
  if (!usable.length) return { declined: estimates.map((e) => `${e.kind}: ${e.declined}`).join('; ') };
  // The kind most open now: the one whose next connections are likeliest.
  const best = usable.sort((a, b) => totalConnections(latest.connections, b.kind) - totalConnections(latest.connections, a.kind))[0];
  return {
    kind: best.kind,
    bytesPerConnection: Math.round(best.bytesPerConnection!),
    quality: Number(best.quality!.toFixed(3)),
    connectionsNow: totalConnections(latest.connections, best.kind),
    connectionsThatFit: Math.max(0, Math.floor(headroomBytes / best.bytesPerConnection!)),
  };
}

/** A memory-headroom finding when the newest sample's working set is at or past `threshold` of the limit. */
export function headroomFindings(samples: Sample[], threshold: number): Finding[] {
  const latest = samples[samples.length - 1];
  if (!latest || !limited(latest)) return [];
  const { workingSetBytes, limitBytes, limitSource } = latest.container! as { workingSetBytes: number; limitBytes: number; limitSource: string | null };
  const share = workingSetBytes / limitBytes;
  if (!(share >= threshold)) return [];
  const first = samples.find(limited)!;
  const windowMs = latest.time - first.time;
  const growth = growthBetween(first, latest);
  let grewMost: MemoryHeadroomEvidence['grewMost'] = 'none';
  for (const layer of Object.keys(LABELS) as GrowthLayer[]) {
    const bytes = growth[layer];
    if (bytes !== null && bytes > 0 && (grewMost === 'none' || bytes > growth[grewMost]!)) grewMost = layer;
  }
  const headroom = Math.max(0, limitBytes - workingSetBytes);
  const forecast = forecastFrom(samples, latest, headroom);
  const rate = windowMs >= 10_000 && growth.workingSet !== null && growth.workingSet > 0 ? growth.workingSet / windowMs : null;
  const evidence: MemoryHeadroomEvidence = {
    workingSetBytes,
    limitBytes,
    limitSource: limitSource ?? 'the memory cgroup',
    share: Number(share.toFixed(4)),
    threshold,
    growth,
    windowMs,
    grewMost,
    forecast,
    bytesPerHour: rate === null ? null : Math.round(rate * 3600_000),
    timeToLimitMs: rate === null ? null : Math.round(headroom / rate),
  };
  const grew =
    grewMost === 'none' ? '' : ` Over ${span(windowMs)} it grew ${mib(growth.workingSet ?? 0)}, most in ${LABELS[grewMost]} (+${mib(growth[grewMost]!)}).`;
  const fits =
    'declined' in forecast
      ? ` No per-connection forecast: ${forecast.declined}.`
      : ` At ${kib(forecast.bytesPerConnection)} of working set per ${forecast.kind} connection ` +
        `(R² ${forecast.quality.toFixed(2)}), about ${forecast.connectionsThatFit} more fit beside ` +
        `the ${forecast.connectionsNow} open.`;
  const when =
    evidence.timeToLimitMs === null ? '' : ` At this window's growth (${mib(evidence.bytesPerHour!)}/hour) the limit is ${span(evidence.timeToLimitMs)} away.`;
  return [
    {
      kind: 'memory-headroom',
      severity: share >= (1 + threshold) / 2 ? 'critical' : 'warning',
      layer: 'container',
      summary:
        `The container's working set is ${mib(workingSetBytes)}, ${(share * 100).toFixed(0)}% of ` +
        `its ${mib(limitBytes)} memory limit (${evidence.limitSource}): at the limit the kernel ` +
        `OOM-kills it.${grew}${fits}${when}`,
      evidence,
      advice:
        `Raise the container's memory limit or lower what grew: ${ADVICE[grewMost]}. Size the limit ` +
        `from the per-connection figure above times the connections you expect, plus the working set at ` +
        `zero connections.`,
    },
  ];
}
