/**
 * From runs to a verdict: a row per configuration (medians over rounds, with their spread), sorted by
 * the operator's goal, the best one named with its deployment lines and what it costs against the default.
 */
import { dockerfileLines, systemdLines, type ResolvedConfiguration } from './configurations';
import type { RunResult } from './run-result';
import { pairedChange, spread, type Spread } from './stats';

export const GOALS = ['rss', 'throughput', 'latency', 'balanced'] as const;
export type Goal = (typeof GOALS)[number];

export interface SummaryRow {
  name: string;
  label: string;
  release: boolean;
  rounds: number;
  settledRss: Spread | null;
  peakRss: Spread | null;
  /** (VmHWM − statm as the load began) ÷ the spike's connections: what each held connection added at the peak. */
  peakPerConnection: Spread | null;
  afterReleaseRss: Spread | null;
  throughput: Spread | null;
  throughputUnit: string | null;
  latencyP99Ms: Spread | null;
  loopDelayP99Ms: Spread | null;
  releaseStallMs: Spread | null;
  autoReleaseStallMs: Spread | null;
  cpuMs: Spread | null;
  allocatorInUse: Spread | null;
  allocatorFree: Spread | null;
  /** Paired by round against the default configuration: settled RSS, peak RSS, throughput, p99 latency (ratios − 1). */
  versusDefault: { settledRss: Spread | null; peakRss: Spread | null; throughput: Spread | null; latencyP99: Spread | null } | null;
  /** The goal's score, lower is better (see score()). */
  score: number;
}

export interface Verdict {
  goal: Goal;
  rows: SummaryRow[];
  skipped: Array<{ name: string; reason: string }>;
  best: { name: string; sentence: string; dockerfile: string[]; systemd: string[] } | null;
  defaultName: string | null;
}

const pick = (runs: RunResult[], get: (r: RunResult) => number | null) => spread(runs.map(get).filter((v): v is number => v !== null));

/** Lower is better. rss: settled RSS; throughput: its inverse; latency: p99 latency, else the loop's p99 delay;
 *  balanced: the mean of settled RSS, peak RSS, inverse throughput and p99 latency, each as a ratio to the default.
 *  The peak counts because it is what meets a container's limit: glibc with huge pages settles low after its
 *  release but peaks 70% higher during the spike (docs/benchmarks.md), which a settled-only score would hide. */
export function score(row: SummaryRow, goal: Goal, reference: SummaryRow | null): number {
  const m = (s: Spread | null) => s?.median ?? Number.NaN;
  const latency = row.latencyP99Ms ? m(row.latencyP99Ms) : m(row.loopDelayP99Ms);
  if (goal === 'rss') return m(row.settledRss);
  if (goal === 'throughput') return row.throughput ? -m(row.throughput) : Number.NaN;
  if (goal === 'latency') return latency;
  const ref = reference ?? row;
  const refLatency = ref.latencyP99Ms ? m(ref.latencyP99Ms) : m(ref.loopDelayP99Ms);
  const ratios = [m(row.settledRss) / m(ref.settledRss), m(row.peakRss) / m(ref.peakRss), m(ref.throughput) / m(row.throughput), latency / refLatency].filter(
    Number.isFinite,
  );
  return ratios.length ? ratios.reduce((a, b) => a + b, 0) / ratios.length : Number.NaN;
}

function rowOf(c: ResolvedConfiguration, runs: RunResult[], reference: RunResult[] | null): SummaryRow {
  const byRound = (list: RunResult[], get: (r: RunResult) => number | null) => {
    const rounds = Math.max(0, ...runs.map((r) => r.round), ...(reference ?? []).map((r) => r.round));
    return Array.from({ length: rounds }, (_, i) => {
      const run = list.find((r) => r.round === i + 1);
      return run ? get(run) : null;
    });
  };
  const versus = (get: (r: RunResult) => number | null) => (reference ? pairedChange(byRound(runs, get), byRound(reference, get)) : null);
  return {
    name: c.configuration.name,
    label: c.configuration.label,
    release: c.configuration.release,
    rounds: runs.length,
    settledRss: pick(runs, (r) => r.rss.settled),
    peakRss: pick(runs, (r) => r.rss.peak),
    peakPerConnection: pick(runs, (r) => (r.load.connections ? (r.rss.peak - r.rss.beforeLoad) / r.load.connections : null)),
    afterReleaseRss: pick(runs, (r) => r.rss.afterRelease),
    throughput: pick(runs, (r) => r.load.throughput),
    throughputUnit: runs.find((r) => r.load.throughputUnit)?.load.throughputUnit ?? null,
    latencyP99Ms: pick(runs, (r) => r.load.latencyP99Ms),
    loopDelayP99Ms: pick(runs, (r) => r.loopDelayP99Ms),
    releaseStallMs: pick(runs, (r) => r.releaseStallMs),
    autoReleaseStallMs: pick(runs, (r) => r.autoReleaseStallMs),
    cpuMs: pick(runs, (r) => r.cpuMs),
    allocatorInUse: pick(runs, (r) => r.allocatorInUse),
    allocatorFree: pick(runs, (r) => r.allocatorFree),
    versusDefault: reference
      ? {
          settledRss: versus((r) => r.rss.settled),
          peakRss: versus((r) => r.rss.peak),
          throughput: versus((r) => r.load.throughput),
          latencyP99: versus((r) => r.load.latencyP99Ms),
        }
      : null,
    score: Number.NaN,
  };
}

const percent = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(0)}%`;

/** `−1% (95%: −3% … +1%)`, `−1% (range −3% … +1%)` or `−1% (one round)`. */
export function changeText(s: Spread): string {
  if (s.kind === 'one') return `${percent(s.median)} (one round)`;
  return `${percent(s.median)} (${s.kind === '95%' ? '95%:' : 'range'} ${percent(s.low)} … ${percent(s.high)})`;
}

/** "jemalloc, background purge: 38% less RSS after the spike, throughput −1% (95%: …), no release stall". */
export function costSentence(row: SummaryRow, defaultName: string | null): string {
  const parts: string[] = [];
  const v = row.versusDefault;
  if (!v || row.name === defaultName) parts.push(defaultName === null ? 'the default did not run: no comparison' : 'this is the default');
  else {
    if (v.settledRss) {
      const m = v.settledRss.median;
      const amount = `${Math.abs(100 * m).toFixed(0)}% ${m <= 0 ? 'less' : 'more'} RSS after the spike`;
      parts.push(
        v.settledRss.kind === 'one'
          ? `${amount} (one round)`
          : `${amount} (${changeText(v.settledRss)
              .replace(/^[^(]*\(/, '')
              .replace(/\)$/, '')})`,
      );
    }
    if (v.peakRss) parts.push(`peak RSS ${changeText(v.peakRss)}`);
    if (v.throughput) parts.push(`throughput ${changeText(v.throughput)}`);
    if (v.latencyP99) parts.push(`p99 latency ${changeText(v.latencyP99)}`);
  }
  const rss = v?.settledRss;
  if (row.name !== defaultName && rss && rss.kind !== 'one' && rss.low < 0 && rss.high > 0) parts.push('the RSS change is not told apart from the noise');
  if (row.name !== defaultName && rss?.kind === 'one') parts.push('one round: repeat (--repeat 6 gives a 95% interval) before acting on it');
  if (!row.release) parts.push('no release stall (sockprobe does not release)');
  else if (row.autoReleaseStallMs)
    parts.push(
      `autoRelease's longest loop stall ${row.autoReleaseStallMs.median.toFixed(1)} ms${row.autoReleaseStallMs.kind === 'one' ? '' : ' (median of rounds)'}`,
    );
  else parts.push('autoRelease did not run');
  return `${row.label}: ${parts.join(', ')}`;
}

/** Rows sorted by the goal (rows without the goal's figure last, in their given order), the best named. */
export function buildVerdict(resolved: ResolvedConfiguration[], runs: RunResult[], goal: Goal, defaultName: string): Verdict {
  const ran = resolved.filter((c) => c.skipped === null);
  const referenceRuns = ran.some((c) => c.configuration.name === defaultName) ? runs.filter((r) => r.configuration === defaultName) : null;
  const rows = ran.map((c) =>
    rowOf(
      c,
      runs.filter((r) => r.configuration === c.configuration.name),
      referenceRuns,
    ),
  );
  const reference = rows.find((r) => r.name === defaultName) ?? null;
  for (const row of rows) row.score = score(row, goal, reference);
  const order = new Map(rows.map((r, i) => [r.name, i]));
  rows.sort((a, b) => {
    const fa = Number.isFinite(a.score);
    const fb = Number.isFinite(b.score);
    if (fa !== fb) return fa ? -1 : 1;
    return fa && a.score !== b.score ? a.score - b.score : order.get(a.name)! - order.get(b.name)!;
  });
  const top = rows.find((r) => Number.isFinite(r.score)) ?? null;
  const topResolved = top ? ran.find((c) => c.configuration.name === top.name)! : null;
  return {
    goal,
    rows,
    skipped: resolved.filter((c) => c.skipped !== null).map((c) => ({ name: c.configuration.name, reason: c.skipped! })),
    best:
      top && topResolved
        ? {
            name: top.name,
            sentence: costSentence(top, reference ? defaultName : null),
            dockerfile: dockerfileLines(topResolved),
            systemd: systemdLines(topResolved),
          }
        : null,
    defaultName: reference ? defaultName : null,
  };
}
