/** The verdict as a table (text, markdown or HTML rows) and as the closing lines an operator acts on. */
import { table } from '../cli/format';
import { MIB, mibFigure } from '../format/bytes';
import type { Spread } from './stats';
import { changeText, type Verdict } from './verdict';

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function withSpread(s: Spread | null, scale: number, digits: number): string {
  if (!s) return '—';
  const f = (v: number) => (v / scale).toFixed(digits);
  return s.kind === 'one' ? f(s.median) : `${f(s.median)} (${f(s.low)}–${f(s.high)})`;
}

const HEADER = [
  'configuration',
  'settled RSS MiB',
  'vs default',
  'peak MiB',
  'peak growth/conn KiB',
  'after releaseToOS() MiB',
  'throughput',
  'vs default',
  'p99 latency ms',
  'loop p99 ms',
  'autoRelease stall ms',
  'releaseToOS() stall ms',
  'in use / resident free MiB',
  'CPU s',
];

export function tableRows(verdict: Verdict): string[][] {
  return verdict.rows.map((row) => [
    row.name,
    withSpread(row.settledRss, MIB, 1),
    row.versusDefault?.settledRss && row.name !== verdict.defaultName ? changeText(row.versusDefault.settledRss) : '',
    withSpread(row.peakRss, MIB, 1),
    withSpread(row.peakPerConnection, 1024, 1),
    withSpread(row.afterReleaseRss, MIB, 1),
    row.throughput ? `${withSpread(row.throughput, 1, 0)} ${row.throughputUnit ?? ''}`.trim() : '—',
    row.versusDefault?.throughput && row.name !== verdict.defaultName ? changeText(row.versusDefault.throughput) : '',
    withSpread(row.latencyP99Ms, 1, 1),
    withSpread(row.loopDelayP99Ms, 1, 1),
    withSpread(row.autoReleaseStallMs, 1, 1),
    withSpread(row.releaseStallMs, 1, 1),
    `${mibFigure(row.allocatorInUse?.median, '—')} / ${mibFigure(row.allocatorFree?.median, '—')}`,
    withSpread(row.cpuMs, 1000, 2),
  ]);
}

export function renderTable(verdict: Verdict, format: 'text' | 'markdown' | 'html'): string {
  const body = tableRows(verdict);
  if (format === 'text') return table([HEADER, ...body]);
  if (format === 'markdown') return [HEADER, HEADER.map(() => '---'), ...body].map((row) => `| ${row.join(' | ')} |`).join('\n');
  const th = HEADER.map((h) => `<th>${escape(h)}</th>`).join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${body.map((r) => `<tr>${r.map((c) => `<td>${escape(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

/** The verdict's closing lines: the best, what it costs, and what to set. */
export function renderVerdict(verdict: Verdict): string {
  const lines: string[] = [];
  for (const s of verdict.skipped) lines.push(`skipped ${s.name}: ${s.reason}`);
  if (!verdict.best) return [...lines, 'No configuration ran to the end: no verdict.'].join('\n');
  lines.push(
    '',
    `Best for ${verdict.goal}: ${verdict.best.name}`,
    `  ${verdict.best.sentence}`,
    '',
    'Dockerfile:',
    ...verdict.best.dockerfile.map((l) => `  ${l}`),
    'systemd unit ([Service]):',
    ...verdict.best.systemd.map((l) => `  ${l}`),
  );
  lines.push(
    '',
    'Medians over rounds; in brackets the range (fewer than 6 rounds) or the 95% interval. "settled" is RSS after the idle time,',
    'before any release sockprobe asked for; "vs default" is paired by round against the default configuration.',
  );
  return lines.join('\n');
}
