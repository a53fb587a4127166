import * as os from 'node:os';
import { leakFinding, retentionFinding, rssPerConnection, socketFindings, DEFAULT_THRESHOLDS, type Finding, type FindingThresholds } from './findings';
import { leakTrends, perConnection, retentionAfterSpike, type PerConnectionEstimate, type Retention } from './correlate';
import { LAYERS } from './layers';
import type { Sample } from './sample';
import { SockprobeTypeError } from '../errors';

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
  samples: number;
  windowMs: number;
  /** The versions measured under: per-connection cost drifts across Node and OpenSSL releases. */
  versions: Versions;
  /** What sampling cost the JS thread, ms per sample: the probe's own stalls. A V8 GC that
   *  happens to run inside a sample counts too (scavenges take 5–20 ms in a TLS-churning process). */
  probeCost: { meanMs: number; medianMs: number; maxMs: number };
  /** Set by a probe: whether OpenSSL tracking was asked for, and why it is off if it could not be had. */
  openssl?: { requested: boolean; unavailable: string | null };
}

export function currentVersions(allocator: string): Versions {
  return { node: process.versions.node, v8: process.versions.v8, openssl: process.versions.openssl, uv: process.versions.uv, kernel: os.release(), allocator };
}

function costOf(values: number[]): ProbeReport['probeCost'] {
  if (!values.length) return { meanMs: 0, medianMs: 0, maxMs: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  return { meanMs: values.reduce((a, b) => a + b, 0) / values.length, medianMs: sorted[sorted.length >> 1], maxMs: sorted[sorted.length - 1] };
}

const SEVERITY_ORDER = { critical: 0, warning: 1, info: 2 } as const;

/** Everything the probe can say about a series of samples. Pure: feed it recorded samples. */
export function buildReport(samples: Sample[], versions: Versions, thresholds: FindingThresholds = DEFAULT_THRESHOLDS): ProbeReport {
  if (!Array.isArray(samples) || !samples.every((s) => typeof s === 'object' && s !== null && Number.isFinite(s.time) && Number.isFinite(s.rss))) {
    throw new SockprobeTypeError('samples', 'an array of probe samples', samples);
  }
  if (typeof versions !== 'object' || versions === null) throw new SockprobeTypeError('versions', 'an object', versions);
  if (typeof thresholds !== 'object' || thresholds === null) throw new SockprobeTypeError('thresholds', 'an object', thresholds);
  const estimates = perConnection(samples);
  const retention = retentionAfterSpike(samples);
  const findings: Finding[] = [
    ...leakTrends(samples, thresholds.leakGrowthBytes, thresholds.leakWindowMs).map(leakFinding),
    ...(retention ? [retentionFinding(retention, thresholds)].filter((f): f is Finding => f !== null) : []),
    ...socketFindings(samples[samples.length - 1], rssPerConnection(estimates), thresholds),
  ].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
  return {
    findings,
    perConnection: estimates,
    retention,
    latest: samples[samples.length - 1] ?? null,
    samples: samples.length,
    windowMs: samples.length ? samples[samples.length - 1].time - samples[0].time : 0,
    versions,
    probeCost: costOf(samples.map((s) => s.probeMs ?? 0)),
  };
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

/** The report as text a person reads at a terminal or in a log. */
export function renderReport(report: ProbeReport): string {
  if (typeof report !== 'object' || report === null || !Array.isArray(report.findings) || !Array.isArray(report.perConnection) || typeof report.versions !== 'object' || report.versions === null) {
    throw new SockprobeTypeError('report', 'a report from probe.report() or buildReport()', report);
  }
  const lines: string[] = [];
  const v = report.versions;
  lines.push(`sockprobe report — ${report.samples} samples over ${(report.windowMs / 1000).toFixed(0)} s; Node ${v.node}, OpenSSL ${v.openssl}, V8 ${v.v8}, kernel ${v.kernel}, allocator ${v.allocator}`);
  lines.push(`Sampling cost the JS thread ${report.probeCost.medianMs.toFixed(2)} ms per sample (median), ${report.probeCost.maxMs.toFixed(2)} ms at most (GC pauses that land in a sample included).`);
  if (report.openssl?.unavailable) lines.push(`OpenSSL live bytes: not tracked — ${report.openssl.unavailable}`);
  lines.push('');
  lines.push(report.findings.length ? 'Findings:' : 'Findings: none — nothing leaking, retained or piling up in this window.');
  for (const f of report.findings) {
    lines.push(`  [${f.severity}] ${f.kind} (${f.layer}): ${f.summary}`);
    lines.push(`      → ${f.advice}`);
  }
  lines.push('');
  lines.push('Per connection:');
  for (const e of report.perConnection) {
    const label = `${LAYERS[e.layer].label}, ${e.kind}`.padEnd(34);
    lines.push(e.bytesPerConnection === null ? `  ${label} — (${e.declined})` : `  ${label} ${kib(e.bytesPerConnection).padStart(10)}  (R² ${e.quality!.toFixed(2)}, ${e.samples} samples)`);
  }
  return lines.join('\n');
}
