/** The allocators comparison as one self-contained HTML page: the verdict, the table, and RSS over time
 *  per configuration as inline SVG drawn here (no script, no network). */
import type { RunResult } from './run-result';
import type { Verdict } from './verdict';
import { renderTable } from './render';

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

/** One plot: every round of one configuration, RSS (MiB) against seconds since the service started; load and release marked. */
function plot(name: string, runs: RunResult[], maxSeconds: number, maxBytes: number): string {
  const w = 420;
  const h = 180;
  const pad = 34;
  const x = (ms: number) => pad + ((w - pad - 8) * ms) / 1000 / maxSeconds;
  const y = (bytes: number) => h - pad + 10 - ((h - pad) * bytes) / maxBytes;
  const lines = runs.map((run, i) => {
    const points = run.series.map(([t, b]) => `${x(t).toFixed(1)},${y(b).toFixed(1)}`).join(' ');
    return `<polyline fill="none" stroke="${COLOURS[i % COLOURS.length]}" stroke-width="1.3" points="${points}"><title>round ${run.round}</title></polyline>`;
  });
  const first = runs[0];
  const mark = (ms: number, label: string) =>
    `<line x1="${x(ms).toFixed(1)}" x2="${x(ms).toFixed(1)}" y1="10" y2="${h - pad + 10}" stroke="#999" stroke-dasharray="3,3"/>` +
    `<text x="${(x(ms) + 2).toFixed(1)}" y="20" font-size="9" fill="#666">${label}</text>`;
  const marks = first ? [mark(first.marks.loadStart, 'load'), mark(first.marks.loadEnd, 'idle'), mark(first.marks.release, 'release')] : [];
  const mib = maxBytes / 1048576;
  const axes =
    `<line x1="${pad}" x2="${pad}" y1="10" y2="${h - pad + 10}" stroke="#333"/>` +
    `<line x1="${pad}" x2="${w - 8}" y1="${h - pad + 10}" y2="${h - pad + 10}" stroke="#333"/>` +
    `<text x="2" y="16" font-size="9">${mib.toFixed(0)} MiB</text><text x="2" y="${h - pad + 10}" font-size="9">0</text>` +
    `<text x="${w - 40}" y="${h - 4}" font-size="9">${maxSeconds.toFixed(0)} s</text>`;
  return (
    `<figure><figcaption>${escape(name)}</figcaption><svg class="rss" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" ` +
    `aria-label="RSS over time, ${escape(name)}">${axes}${marks.join('')}${lines.join('')}</svg></figure>`
  );
}

export function renderAllocatorsHtml(verdict: Verdict, runs: RunResult[], context: { load: string; node: string; date: string }): string {
  const maxSeconds = 1.08 * Math.max(1, ...runs.flatMap((r) => r.series.map(([t]) => t / 1000)));
  const maxBytes = Math.max(1, ...runs.flatMap((r) => r.series.map(([, b]) => b)));
  const plots = verdict.rows.map((row) =>
    plot(
      row.name,
      runs.filter((r) => r.configuration === row.name),
      maxSeconds,
      maxBytes,
    ),
  );
  const best = verdict.best
    ? `<h2>Best for ${escape(verdict.goal)}: ${escape(verdict.best.name)}</h2><p>${escape(verdict.best.sentence)}</p>` +
      `<h3>Dockerfile</h3><pre>${escape(verdict.best.dockerfile.join('\n'))}</pre>` +
      `<h3>systemd unit ([Service])</h3><pre>${escape(verdict.best.systemd.join('\n'))}</pre>`
    : '<p>No configuration ran.</p>';
  const skipped = verdict.skipped.length
    ? `<h3>Skipped</h3><ul>${verdict.skipped.map((s) => `<li>${escape(s.name)}: ${escape(s.reason)}</li>`).join('')}</ul>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sockprobe allocators</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:1400px}pre{background:#f4f4f4;padding:.6em}
figure{display:inline-block;margin:.4em}figcaption{font-weight:600}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td:first-child{text-align:left}</style></head>
<body><h1>Allocators on this service</h1>
<p>Load: ${escape(context.load)} · Node ${escape(context.node)} · ${escape(context.date)}</p>
${best}
<h2>All configurations (sorted by ${escape(verdict.goal)})</h2>
${renderTable(verdict, 'html')}
${skipped}
<h2>RSS over time (/proc/PID/statm), each round a line</h2>
${plots.join('\n')}
</body></html>
`;
}
