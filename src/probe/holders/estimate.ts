/**
 * Each holder's cost per connection, its sampling error and whether it is ordinary, dominant or
 * growing: from the probe's profile readings (a regression on connection counts, as correlate.ts
 * does for layers) or from a pair of profiles around a pulse (what grew ÷ connections opened).
 */
import type { NativeHeapProfile } from '../../native-heap/profile';
import { growthRelativeError, relativeError } from '../../native-heap/sampling-error';
import { estimateSteps, growthFitSteps, MIN_CONNECTION_RANGE } from '../correlate';
import { drain, named } from '../regression';
import { totalConnections, type Sample } from '../sample';
import { holderSites, holderTotals, type HolderSite, type HolderTotals } from './match';
import { HOLDER_SIGNATURES, type HolderId, type HolderSignature } from './signatures';
import { kib, mib } from '../../format/bytes';

/** One profile's holder tallies, tied to the sample (connection counts, RSS) it was taken at. */
export interface HolderReading {
  sample: Sample;
  takenAt: number;
  totalBytes: number;
  sampleBytes: number;
  holders: HolderTotals;
}

export interface HolderEstimate {
  holder: HolderId;
  /** In an operator's words, what it is, and what to change (signatures.ts). */
  name: string;
  what: string;
  fix: string;
  /** The fix in a few words. */
  action: string;
  severity: 'info' | 'warning';
  /** Why that severity: ordinary for this many connections, dominant, growing, tracks connections. */
  judgement: string;
  /** Connections its cost is counted against. */
  kind: 'tls' | 'tcp';
  /** Sampled live bytes in the newest profile, the samples behind them, and 1/√samples (Poisson). */
  bytes: number;
  samples: number;
  relativeError: number;
  /** Its share of the newest profile's sampled bytes. */
  share: number;
  bytesPerConnection: number | null;
  /** `regression` on connection counts over the profiles; `division`: the newest profile's bytes ÷
   *  connections open then (an upper bound: any fixed part counts too); `difference`: what grew between
   *  two profiles ÷ connections opened between them. */
  method: 'regression' | 'division' | 'difference' | null;
  quality: number | null;
  /** Why a regression was not used, where it was not. */
  declined?: string;
  connections: number;
  /** Growth not explained by connection counts. */
  growth: { bytesPerHour: number; windowMs: number } | null;
  /** When the newest profile was taken, RSS then and RSS at the newest sample: how stale the figure is. */
  takenAt: number;
  rssAtProfile: number | null;
  rssNow: number | null;
  sites: HolderSite[];
}

const MiB = 1024 * 1024;
/** A holder below this many sampled allocations, or this many bytes, is not named: ±35% and more is noise. */
export const MIN_HOLDER_SAMPLES = 8;
export const MIN_HOLDER_BYTES = MiB;
/** The share of the sampled heap above which a holder dominates. */
export const DOMINANT_SHARE = 0.3;

export { relativeError, growthRelativeError };

/** What a holder is called and what to do about it, as its signature says. */
const holderIdentity = (signature: HolderSignature) => ({
  holder: signature.id,
  name: signature.name,
  what: signature.what,
  fix: signature.fix,
  action: signature.action,
});

/** Which connections a holder is counted against: TLS for TLS holders, else the kind with the most open. */
function kindFor(signature: HolderSignature, sample: Sample): 'tls' | 'tcp' {
  if (signature.kind === 'tls') return 'tls';
  return totalConnections(sample.connections, 'tcp') > totalConnections(sample.connections, 'tls') ? 'tcp' : 'tls';
}

/** Growth over time once connections are accounted for: bytes ≈ a + b·connections + c·hours. */
function* growthOfSteps(
  series: Array<{ sample: Sample; value: number }>,
  kind: 'tls' | 'tcp',
  sampleBytes: number,
): Generator<void, HolderEstimate['growth'], void> {
  if (series.length < 6) return null;
  if (series[series.length - 1].sample.time - series[0].sample.time < 30_000) return null;
  const fit = yield* growthFitSteps(
    series,
    series.map((r) => totalConnections(r.sample.connections, kind)),
  );
  if (!fit || fit.r2 < 0.6 || fit.growthBytes < Math.max(4 * MiB, 16 * sampleBytes, 0.2 * fit.mean)) return null;
  return { bytesPerHour: Math.round(fit.bytesPerHour), windowMs: fit.windowMs };
}

/** Severity and why, or null where the holder is not worth naming. */
function judge(
  signature: HolderSignature,
  e: Omit<HolderEstimate, 'severity' | 'judgement'>,
  sampleBytes: number,
): { severity: 'info' | 'warning'; judgement: string } | null {
  if (e.samples < MIN_HOLDER_SAMPLES || e.bytes < MIN_HOLDER_BYTES) return null;
  // Scaling: a fit that explains the bytes, whose connection-driven part is many samples' worth.
  const scales = e.method !== 'division' && e.bytesPerConnection !== null && (e.quality ?? 1) >= 0.5 && e.bytesPerConnection * e.connections >= 8 * sampleBytes;
  if (e.growth) return { severity: 'warning', judgement: `grows ${mib(e.growth.bytesPerHour)}/hour beyond what connection counts explain` };
  if (signature.onlyWhenScaling)
    return scales ? { severity: 'warning', judgement: `tracks connections: ${kib(e.bytesPerConnection!)} more per ${e.kind} connection` } : null;
  const ordinary = signature.ordinaryBytesPerConnection;
  if (ordinary !== undefined && e.bytesPerConnection !== null) {
    if (e.bytesPerConnection <= 1.5 * ordinary)
      return { severity: 'info', judgement: `ordinary for ${e.connections} ${e.kind} connections (about ${kib(ordinary)} each is usual)` };
    return { severity: 'warning', judgement: `above the usual ${kib(ordinary)} per ${e.kind} connection` };
  }
  if (e.share >= DOMINANT_SHARE) return { severity: 'warning', judgement: `dominates: ${(e.share * 100).toFixed(0)}% of the sampled native heap` };
  return { severity: 'info', judgement: `${(e.share * 100).toFixed(0)}% of the sampled native heap` };
}

const SEVERITY = { warning: 0, info: 1 } as const;
const sorted = (estimates: HolderEstimate[]) => estimates.sort((a, b) => SEVERITY[a.severity] - SEVERITY[b.severity] || b.bytes - a.bytes);

/**
 * The holders worth naming, from the probe's readings (oldest first) and its newest profile:
 * bytes per connection by regression on connection counts where counts varied enough and the
 * fit explains the bytes, else the newest profile's bytes ÷ connections open then.
 */
export function estimateHolders(
  readings: HolderReading[],
  latest: NativeHeapProfile | Partial<Record<HolderId, HolderSite[]>> | null,
  now: Sample | undefined,
): HolderEstimate[] {
  return drain(estimateHoldersSteps(readings, latest, now));
}

/** estimateHolders() a fit iteration at a time, each step named by the holder it fits. */
export function* estimateHoldersSteps(
  readings: HolderReading[],
  latest: NativeHeapProfile | Partial<Record<HolderId, HolderSite[]>> | null,
  now: Sample | undefined,
): Generator<string, HolderEstimate[], void> {
  if (!readings.length) return [];
  const newest = readings[readings.length - 1];
  const present = (['tls', 'tcp'] as const).filter((kind) => readings.some((r) => totalConnections(r.sample.connections, kind) > 0));
  const out: HolderEstimate[] = [];
  for (const signature of HOLDER_SIGNATURES) {
    const tally = newest.holders[signature.id];
    if (!tally) continue;
    const kind = kindFor(signature, newest.sample);
    const series = readings.map((r) => ({ sample: r.sample, value: r.holders[signature.id]?.bytes ?? 0 }));
    const step = `holder fit (${signature.id})`;
    const fitted = present.includes(kind) ? (yield* named(step, estimateSteps(signature.name, series, present))).find((e) => e.kind === kind) : undefined;
    const connections = totalConnections(newest.sample.connections, kind);
    let bytesPerConnection: number | null = null;
    let method: HolderEstimate['method'] = null;
    if (fitted?.bytesPerConnection != null) {
      bytesPerConnection = fitted.bytesPerConnection;
      method = 'regression';
    } else if (connections >= MIN_CONNECTION_RANGE) {
      bytesPerConnection = tally.bytes / connections;
      method = 'division';
    }
    const growth = yield* named(`holder growth fit (${signature.id})`, growthOfSteps(series, kind, newest.sampleBytes));
    const base = {
      ...holderIdentity(signature),
      kind,
      bytes: Math.round(tally.bytes),
      samples: tally.samples,
      relativeError: relativeError(tally.samples),
      share: newest.totalBytes > 0 ? tally.bytes / newest.totalBytes : 0,
      bytesPerConnection,
      method,
      quality: method === 'regression' ? fitted!.quality : null,
      ...(method !== 'regression' ? { declined: fitted?.declined ?? `no ${kind} connections in the window` } : {}),
      connections,
      growth,
      takenAt: newest.takenAt,
      rssAtProfile: newest.sample.rss,
      rssNow: now?.rss ?? null,
      sites: !latest
        ? []
        : 'sites' in latest && Array.isArray(latest.sites)
          ? holderSites(latest as NativeHeapProfile, signature.id)
          : ((latest as Partial<Record<HolderId, HolderSite[]>>)[signature.id] ?? []),
    };
    const verdict = judge(signature, base, newest.sampleBytes);
    if (verdict)
      out.push({ ...base, ...verdict, action: verdict.severity === 'warning' ? (signature.actionWhenRaised ?? signature.action) : signature.action });
  }
  return sorted(out);
}

/**
 * The holders of what one connection added between two profiles (a pulse's before and top): each
 * holder's growth ÷ the connections opened in between, its error from the samples at the top.
 */
export function holdersFromPair(
  before: NativeHeapProfile,
  top: NativeHeapProfile,
  connections: number,
  kind: 'tls' | 'tcp',
  rss?: { atTop: number; now: number },
): HolderEstimate[] {
  if (connections <= 0) return [];
  const a = holderTotals(before);
  const b = holderTotals(top);
  const out: HolderEstimate[] = [];
  for (const signature of HOLDER_SIGNATURES) {
    const tally = b[signature.id];
    if (!tally) continue;
    const grown = tally.bytes - (a[signature.id]?.bytes ?? 0);
    // What grew is the difference of two sampled figures: both profiles' samples count in its error.
    const error = growthRelativeError(tally.samples, a[signature.id]?.samples ?? 0);
    const base = {
      ...holderIdentity(signature),
      kind,
      bytes: Math.round(tally.bytes),
      samples: tally.samples,
      relativeError: error,
      share: top.totalBytes > 0 ? tally.bytes / top.totalBytes : 0,
      bytesPerConnection: Math.max(0, grown) / connections,
      method: 'difference' as const,
      quality: null,
      connections,
      growth: null,
      takenAt: top.takenAt,
      rssAtProfile: rss?.atTop ?? null,
      rssNow: rss?.now ?? null,
      sites: holderSites(top, signature.id),
    };
    const verdict = judge(signature, base, top.sampleBytes);
    if (verdict)
      out.push({ ...base, ...verdict, action: verdict.severity === 'warning' ? (signature.actionWhenRaised ?? signature.action) : signature.action });
  }
  return sorted(out);
}
