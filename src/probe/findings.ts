import { LAYERS, type Layer } from './layers';
import type { LeakTrend, PerConnectionEstimate, Retention } from './correlate';
import type { Sample } from './sample';
import type { GrowingSite } from './native-heap';
import { plusMinus } from '../native-heap/sampling-error';
import type { MemoryHeadroomEvidence } from './headroom';
import type { HolderEstimate } from './holders/estimate';
import { mib, signedKib } from '../format/bytes';

export type FindingKind = 'holder' | 'leak' | 'retention' | 'idle-connections' | 'close-wait' | 'fd-headroom' | 'memory-headroom';
export type Severity = 'info' | 'warning' | 'critical';

/** The figures behind each kind of finding (bytes, ms and counts unless named otherwise). */
export interface FindingEvidence {
  /** A known holder of native memory (holders/signatures.ts), from the sampled native heap profile. */
  holder: Omit<HolderEstimate, 'severity' | 'fix' | 'what'>;
  /** The trend (correlate.ts), bytes rounded to whole bytes and quality to three digits. */
  leak: Omit<LeakTrend, 'layer' | 'exact'> & { window: string; topSites?: GrowingSite[] };
  retention: {
    peakConnections: number;
    rssBefore: number;
    rssPeak: number;
    rssAfter: number;
    retainedBytes: number;
    nativeFreeBytes: number | 'unknown';
    jsHeapBytes: number;
    otherBytes: number;
    nativeFreeMethod: string;
    jsHeapMethod: string;
    /** With native heap profiling on: the call sites whose live bytes grew most between the profiles that bracket the spike. */
    topSites?: GrowingSite[];
    /** When those profiles were taken (ms since the epoch). */
    profilesTakenAt?: [number, number];
  };
  'idle-connections': { idleConnections: number; idleThresholdMs: number; kernelBytes: number; estimatedProcessBytes: number | 'unknown' };
  /** `port N` (a listener's port) or `port →N` (client sockets' remote port): CLOSE_WAIT there, top five. */
  'close-wait': { closeWait: number } & { [port: `port ${string}`]: number };
  'fd-headroom': { open: number; limit: number };
  'memory-headroom': MemoryHeadroomEvidence;
}

interface FindingOf<K extends FindingKind> {
  kind: K;
  severity: Severity;
  /** Where the memory or resource is: a memory layer, `nativeHeap` (a holder in the sampled profile), `sockets` / `fds`, or `container`. */
  layer: Layer | 'nativeFree' | 'nativeHeap' | 'sockets' | 'fds' | 'container';
  /** One sentence with the numbers that support it. */
  summary: string;
  /** Typed by kind: narrow on `kind` to read it (`if (f.kind === 'idle-connections') f.evidence.idleConnections`). */
  evidence: FindingEvidence[K];
  advice: string;
}

export type Finding = { [K in FindingKind]: FindingOf<K> }[FindingKind];

export interface FindingThresholds {
  /** Retained bytes after a spike worth reporting. */
  retentionBytes: number;
  /** Idle established connections worth reporting. */
  idleConnections: number;
  closeWait: number;
  /** Share of the fd limit in use that warns (critical at the midpoint to 100%). */
  fdShare: number;
  /** A leak trend needs at least this much growth, over at least this long a window. */
  leakGrowthBytes: number;
  leakWindowMs: number;
  /** On an exact layer (OpenSSL live bytes) a steady climb is named over a window this short. */
  exactLeakWindowMs: number;
  /** Share of the memory cgroup's limit the working set may reach before a memory-headroom finding (critical at the midpoint to 100%). */
  memoryHeadroomShare: number;
}

export const DEFAULT_THRESHOLDS: FindingThresholds = {
  retentionBytes: 16 * 1024 * 1024,
  idleConnections: 50,
  closeWait: 10,
  fdShare: 0.8,
  leakGrowthBytes: 4 * 1024 * 1024,
  leakWindowMs: 5 * 60_000,
  exactLeakWindowMs: 20_000,
  memoryHeadroomShare: 0.8,
};

/** Severity rises with what is at stake and how long it has held: a short climb on an exact layer starts as info. */
function leakSeverity(trend: LeakTrend, thresholds: FindingThresholds): Severity {
  if (trend.growthBytes > 64 * 1048576) return 'critical';
  return trend.windowMs >= thresholds.leakWindowMs || trend.growthBytes >= 16 * 1048576 ? 'warning' : 'info';
}

const duration = (ms: number) => (ms < 120_000 ? `${(ms / 1000).toFixed(0)} s` : `${(ms / 60000).toFixed(1)} min`);

export function leakFinding(trend: LeakTrend, thresholds: FindingThresholds = DEFAULT_THRESHOLDS): Finding {
  const label = LAYERS[trend.layer].label;
  const advice: Record<Layer, string> = {
    openssl:
      'OpenSSL memory grows with no matching connections: look for TLS sockets, SecureContexts, ' +
      'crypto Hash/Cipher/KeyObject objects or native TLS libraries that are created and kept (a ' +
      'cache, an array, an unremoved listener) — openssl stats over time and a heap snapshot of ' +
      'retained JS wrappers show which.',
    otherNative:
      'Native memory grows outside V8 and OpenSSL: check native addons, zlib streams, and Buffers ' +
      'from addons. To name the call site in this process, without a restart: createProbe({ ' +
      'nativeHeapProfile: true }) (or nativeHeap.start(), then nativeHeap.diff() of two profiles ' +
      'minutes apart).',
    jsHeap:
      'The JS heap grows with flat connections: take two heap snapshots minutes apart and compare ' +
      'retained sizes (per-connection state kept in a Map after close is the usual culprit).',
    kernel:
      'Kernel socket memory grows: peers are not reading (send queues fill) or the app is not reading ' +
      '(receive queues fill); check outqBytes/inqBytes per socket.',
    rss: 'RSS grows with flat connections.',
  };
  return {
    kind: 'leak',
    severity: leakSeverity(trend, thresholds),
    layer: trend.layer,
    summary:
      `${label}${trend.exact ? ' (an exact count)' : ''} grew ${mib(trend.growthBytes)} ` +
      `in ${duration(trend.windowMs)} ` +
      `(${mib(trend.bytesPerHour)}/hour${trend.exact ? `, a steady climb, R² ${trend.quality.toFixed(2)}` : ''}) ` +
      `not explained by connection counts (${trend.connectionsFirst} → ${trend.connectionsLast}).`,
    evidence: {
      bytesPerHour: Math.round(trend.bytesPerHour),
      growthBytes: Math.round(trend.growthBytes),
      windowMs: trend.windowMs,
      quality: Number(trend.quality.toFixed(3)),
      connectionsFirst: trend.connectionsFirst,
      connectionsLast: trend.connectionsLast,
      window: trend.exact ? 'short window: an exact layer' : 'long window',
    },
    advice: advice[trend.layer],
  };
}

export function retentionFinding(retention: Retention, thresholds: FindingThresholds): Finding | null {
  // Only a material spike (its own RSS growth past the threshold) can leave retention worth
  // reporting; below that, what RSS gained is V8 and allocator warm-up, not the spike.
  const spikeGrowth = retention.rssPeak - retention.rssBefore;
  if (spikeGrowth < thresholds.retentionBytes || retention.retainedBytes < thresholds.retentionBytes) return null;
  const { nativeFree, jsHeap, other } = retention.split;
  const releasable = nativeFree ?? 0;
  return {
    kind: 'retention',
    severity: retention.retainedBytes > 0.5 * spikeGrowth ? 'warning' : 'info',
    layer: releasable >= jsHeap && releasable >= other ? 'nativeFree' : jsHeap >= other ? 'jsHeap' : 'rss',
    summary:
      `After a spike to ${retention.peakConnections} connections ended, RSS ` +
      `stayed ${mib(retention.retainedBytes)} above its pre-spike ${mib(retention.rssBefore)}, all ` +
      `resident: ${mib(jsHeap)} V8 heap (a heap-shrinking GC returns ` +
      `it), ${nativeFree === null ? 'an unknown amount of' : mib(releasable)} free native (a trim ` +
      `returns it), ${mib(other)} other (native still in use — some held by objects the next full GC ` +
      `frees — stacks, other mappings).`,
    evidence: {
      peakConnections: retention.peakConnections,
      rssBefore: retention.rssBefore,
      rssPeak: retention.rssPeak,
      rssAfter: retention.rssAfter,
      retainedBytes: retention.retainedBytes,
      nativeFreeBytes: nativeFree ?? 'unknown',
      jsHeapBytes: jsHeap,
      otherBytes: other,
      nativeFreeMethod: retention.methods.nativeFree,
      jsHeapMethod: retention.methods.jsHeap,
    },
    advice:
      'This is retention, not a leak: call releaseToOS() after spikes or start the probe with ' +
      'autoRelease (it trims glibc/jemalloc/tcmalloc and shrinks the V8 heap at a quiet moment); ' +
      'MALLOC_ARENA_MAX=2 caps glibc arenas.',
  };
}

export function socketFindings(sample: Sample | undefined, perConnectionRss: number | null, thresholds: FindingThresholds): Finding[] {
  const sockets = sample?.sockets;
  if (!sockets) return [];
  const findings: Finding[] = [];
  if (sockets.idle.count >= thresholds.idleConnections) {
    const estimate = perConnectionRss === null ? null : sockets.idle.count * perConnectionRss;
    findings.push({
      kind: 'idle-connections',
      severity: 'warning',
      layer: 'sockets',
      summary:
        `${sockets.idle.count} established connections have been idle for more ` +
        `than ${(sockets.idle.thresholdMs / 1000).toFixed(0)} s, ` +
        `holding ${mib(sockets.idle.kernelBytes)} of kernel socket ` +
        `memory${estimate === null ? '' : ` and about ${mib(estimate)} of process memory`}.`,
      evidence: {
        idleConnections: sockets.idle.count,
        idleThresholdMs: sockets.idle.thresholdMs,
        kernelBytes: sockets.idle.kernelBytes,
        estimatedProcessBytes: estimate === null ? 'unknown' : Math.round(estimate),
      },
      advice:
        'Close connections nobody uses: server.setTimeout(ms) or socket.setTimeout(ms, () => ' +
        'socket.destroy()) for net/tls servers, server.keepAliveTimeout and server.headersTimeout for ' +
        'http(s) servers (the fix Go servers got as Server.IdleTimeout).',
    });
  }
  const closeWait = sockets.byState.CLOSE_WAIT ?? 0;
  if (closeWait >= thresholds.closeWait) {
    const ports = Object.entries(sockets.closeWaitByPort).sort((a, b) => b[1] - a[1]);
    findings.push({
      kind: 'close-wait',
      severity: closeWait >= 10 * thresholds.closeWait ? 'critical' : 'warning',
      layer: 'sockets',
      summary:
        `${closeWait} sockets in CLOSE_WAIT: the peer closed, this process did not (by port, → for the ` +
        `remote port of client sockets: ${ports
          .slice(0, 3)
          .map(([p, n]) => `${p}×${n}`)
          .join(', ')}).`,
      evidence: { closeWait, ...Object.fromEntries(ports.slice(0, 5).map(([p, n]) => [`port ${p}`, n])) },
      advice:
        'Destroy sockets when the peer ends them (allowHalfOpen off, or socket.on("end", () => ' +
        'socket.end())); for HTTP clients always consume or discard response bodies (res.resume()) so ' +
        'keep-alive sockets return to the pool, and set agent timeouts.',
    });
  }
  const share = sockets.fds.open / sockets.fds.limit;
  if (Number.isFinite(share) && share >= thresholds.fdShare) {
    findings.push({
      kind: 'fd-headroom',
      severity: share >= (1 + thresholds.fdShare) / 2 ? 'critical' : 'warning',
      layer: 'fds',
      summary: `${sockets.fds.open} of ${sockets.fds.limit} file descriptors in use (${(share * 100).toFixed(0)}%).`,
      evidence: { open: sockets.fds.open, limit: sockets.fds.limit },
      advice: 'Find what holds them (CLOSE_WAIT and idle connections above, unclosed files); raise the soft limit (ulimit -n) only after that.',
    });
  }
  return findings;
}

export function rssPerConnection(estimates: PerConnectionEstimate[]): number | null {
  const rss = estimates.filter((e) => e.layer === 'rss' && e.bytesPerConnection !== null);
  if (!rss.length) return null;
  return Math.max(...rss.map((e) => e.bytesPerConnection!));
}

const siteText = (s: GrowingSite) =>
  `${s.site} [${s.category}] ${signedKib(s.growthBytes)}${s.relativeError != null ? ` ${plusMinus(s.relativeError)}` : ''}${s.new ? ' (new)' : ''}`;

/** When a profile was taken, how long before the newest sample, and how RSS moved since: a figure as old as its profile says so. */
export interface ProfileMoment {
  takenAt: number;
  rss: number | null;
}

const clock = (ms: number) => `${new Date(ms).toISOString().slice(11, 19)} UTC`;
const since = (moment: ProfileMoment, now: Sample | undefined) => {
  if (!now) return clock(moment.takenAt);
  const age = Math.max(0, now.time - moment.takenAt);
  const moved = moment.rss === null ? null : now.rss - moment.rss;
  const rss =
    moved === null
      ? ''
      : Math.abs(moved) < 1048576
        ? ', RSS about the same since'
        : `, RSS has since ${moved > 0 ? 'risen' : 'fallen'} ${mib(Math.abs(moved))}`;
  return `${clock(moment.takenAt)} (${duration(age)} ago${rss})`;
};

/**
 * With native heap profiling on, an other-native leak and a retention finding name the call sites
 * that grew most between two profiles — for a leak the first kept and the newest, for retention the
 * pair that brackets the spike (`bracket`: the last profile before it rose, the first after it ended;
 * null when no such pair was kept, and then the finding says so rather than quote growth to a peak
 * that is gone) — with when each was taken and how RSS moved since; other findings are returned unchanged.
 */
export function withGrowingSites(
  finding: Finding,
  growth: { sites: GrowingSite[]; from: ProfileMoment; to: ProfileMoment } | null,
  now?: Sample,
  bracket?: { sites: GrowingSite[]; from: ProfileMoment; to: ProfileMoment } | null,
): Finding {
  const more = ' nativeHeap.diff(early, late) lists every site; nativeHeap.toPprof() gives a .pb.gz for go tool pprof or any pprof viewer.';
  const named = (g: { sites: GrowingSite[]; from: ProfileMoment; to: ProfileMoment }, what: string) =>
    ` Native heap profiles ${since(g.from, now)} → ${since(g.to, now)}, ${what}: top growing call sites ${g.sites.slice(0, 3).map(siteText).join('; ')}.`;
  if (finding.kind === 'leak' && finding.layer === 'otherNative' && growth?.sites.length) {
    return {
      ...finding,
      summary: finding.summary + named(growth, 'the first kept and the newest'),
      evidence: { ...finding.evidence, topSites: growth.sites },
      advice: `The sampled native heap profile names who allocates what stays: start with the sites ` + `above.${more}`,
    };
  }
  if (finding.kind === 'retention' && bracket !== undefined) {
    if (!bracket)
      return {
        ...finding,
        summary:
          finding.summary +
          (' No kept native heap profile brackets the spike (one before it rose and one after it ended), ' + 'so no call sites are named for it.'),
      };
    if (!bracket.sites.length) return finding;
    return {
      ...finding,
      summary: finding.summary + named(bracket, 'before the spike and after it ended'),
      evidence: { ...finding.evidence, topSites: bracket.sites, profilesTakenAt: [bracket.from.takenAt, bracket.to.takenAt] },
      advice: finding.advice + more,
    };
  }
  return finding;
}
