import type { PulseResult } from '../experiments/pulse';
import { LAYERS } from '../probe/layers';
import { renderRelease } from '../probe/report';
import { otherNative, totalConnections } from '../probe/sample';
import { plusMinus } from '../native-heap/sampling-error';
import { kib, mib } from '../format/bytes';

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The memory cgroup's limit as a line on the RSS plot, or null where there is none (older results carry no `container`). */
function limitLine(result: PulseResult): { bytes: number; label: string } | null {
  const limit = result.container?.limitBytes;
  return typeof limit === 'number' && limit > 0 ? { bytes: limit, label: `memory limit ${mib(limit)}` } : null;
}

/** What the report says of the limit line: where it comes from, or why there is none. */
function limitText(result: PulseResult): string {
  const c = result.container;
  if (!c) return '';
  if (c.limitBytes !== null) {
    const share =
      c.workingSetBytes !== null
        ? `; the group's working set at the end ${mib(c.workingSetBytes)} = ` +
          `${((100 * c.workingSetBytes) / c.limitBytes).toFixed(1)}% of it (the kernel OOM-kills at 100%)`
        : '';
    return (
      `<p class="container-limit">The RSS plot draws the memory cgroup's limit, ${mib(c.limitBytes)} ` +
      `(${escape(c.limitSource ?? 'containerMemory()')}), and the group's working set${escape(share)}.</p>`
    );
  }
  return `<p class="container-limit">No memory limit line on the RSS plot: ${escape(c.reason ?? 'no limit')}.</p>`;
}

/** The series each chart draws, in bytes, per sample; the page picks each chart's unit. */
function series(result: PulseResult) {
  const t0 = result.samples[0]?.time ?? 0;
  const pick = (read: (s: PulseResult['samples'][number]) => number | null) =>
    result.samples.map((s) => {
      const v = read(s);
      return v === null ? null : Math.round(v);
    });
  return {
    t: result.samples.map((s) => (s.time - t0) / 1000),
    connections: result.samples.map((s) => totalConnections(s.connections)),
    charts: [
      {
        title: 'RSS',
        lines: { RSS: pick((s) => s.rss), 'working set (cgroup)': pick((s) => s.container?.workingSetBytes ?? null) },
        limit: limitLine(result),
      },
      { title: 'JS heap', lines: { used: pick((s) => s.heapUsed), total: pick((s) => s.heapTotal), resident: pick((s) => s.heapPhysical) } },
      {
        title: 'Native (allocator)',
        lines: {
          'in use (allocator count)': pick((s) => s.nativeAllocated),
          'free, resident': pick((s) => s.nativeFree),
          'other native in use': pick(otherNative),
        },
      },
      { title: 'OpenSSL', lines: { 'live bytes': pick((s) => s.opensslLive) } },
      { title: 'Kernel socket memory', lines: { kernel: pick((s) => s.sockets?.kernelBytes ?? null) } },
    ],
    phases: result.phases.map((p) => ({ label: p.label, start: (p.start - t0) / 1000, end: (p.end - t0) / 1000 })),
  };
}

/** Draws every chart as inline SVG in the browser from the embedded data; no network, no library. */
const DRAW = `
const data = JSON.parse(document.getElementById('data').textContent);
const NS = 'http://www.w3.org/2000/svg';
const colours = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
function el(name, attrs, parent, text) {
  const e = document.createElementNS(NS, name);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  parent.appendChild(e);
  return e;
}
for (const chart of data.charts) {
  const lines = Object.entries(chart.lines).filter(([, v]) => v.some((x) => x !== null));
  const box = document.createElement('section'); box.className = 'chart'; document.getElementById('charts').appendChild(box);
  // The limit counts in the scale: how far RSS is from it is what the line is for.
  const peak = Math.max(...lines.flatMap(([, v]) => v.filter((x) => x !== null)), chart.limit ? chart.limit.bytes : 0, 0);
  // Sub-MiB layers (kernel memory of idle sockets) in KiB, so their axis does not read 0, 0, 1.
  const [unit, scale] = peak >= 1048576 ? ['MiB', 1048576] : ['KiB', 1024];
  const h = document.createElement('h3'); h.textContent = chart.title + ' (' + unit + ', left) and open connections (grey, right)'; box.appendChild(h);
  if (!lines.length) { const p = document.createElement('p'); p.textContent = 'not measured in this run'; box.appendChild(p); continue; }
  const W = 900, H = 260, L = 60, R = 60, T = 10, B = 30;
  const svg = el('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img' }, box);
  const tMax = Math.max(...data.t, 1), cMax = Math.max(...data.connections, 1);
  const yMax = (peak > 0 ? peak / scale : 1) * 1.1;
  const decimals = yMax / 4 >= 10 ? 0 : yMax / 4 >= 1 ? 1 : 2;
  const x = (t) => L + (t / tMax) * (W - L - R), y = (v) => H - B - (v / yMax) * (H - T - B), yc = (c) => H - B - (c / cMax) * (H - T - B);
  for (const p of data.phases.filter((p) => p.label.endsWith('hold'))) {
    el('rect', { x: x(p.start), y: T, width: Math.max(1, x(p.end) - x(p.start)), height: H - T - B, fill: '#f3f3f3' }, svg);
  }
  el('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#000' }, svg); el('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#000' }, svg);
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    el('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11 }, svg, v.toFixed(decimals));
    el('text', { x: W - R + 6, y: yc((cMax * i) / 4) + 4, 'font-size': 11, fill: '#888' }, svg, Math.round((cMax * i) / 4));
  }
  el('text', { x: W - R, y: H - 8, 'text-anchor': 'end', 'font-size': 11 }, svg, tMax.toFixed(0) + ' s');
  const connectionPoints = data.t.map((t, i) => x(t) + ',' + yc(data.connections[i])).join(' ');
  el('polyline', { class: 'connections', points: connectionPoints, fill: 'none', stroke: '#aaa', 'stroke-dasharray': '4 3' }, svg);
  // Black and dashed: apart from the layers' colours and the grey connections.
  if (chart.limit) {
    const ly = y(chart.limit.bytes / scale);
    el('line', { class: 'limit', x1: L, y1: ly, x2: W - R, y2: ly, stroke: '#111', 'stroke-width': 1.5, 'stroke-dasharray': '8 4' }, svg);
    const labelAt = { class: 'limit-label', x: W - R - 4, y: ly - 4, 'text-anchor': 'end', fill: '#111', 'font-size': 11 };
    el('text', labelAt, svg, chart.limit.label);
  }
  lines.forEach(([name, values], k) => {
    const points = values.map((v, i) => (v === null ? null : x(data.t[i]) + ',' + y(v / scale))).filter(Boolean);
    el('polyline', { class: 'layer', 'data-name': name, points: points.join(' '), fill: 'none', stroke: colours[k % colours.length], 'stroke-width': 2 }, svg);
    el('text', { x: L + 10 + k * 170, y: T + 14, fill: colours[k % colours.length], 'font-size': 12 }, svg, name);
  });
}
document.body.dataset.drawn = String(document.querySelectorAll('polyline.layer').length);
// The native heap flame graph is drawn on the server; what the browser laid out is recorded for tests.
const flame = document.querySelector('svg.flame-graph');
if (flame) {
  document.body.dataset.flameFrames = String(flame.querySelectorAll('g.frame').length);
  document.body.dataset.flameWidth = String(Math.round(flame.getBoundingClientRect().width));
}
`;

/** A fitted figure per connection in KiB, or why it was declined. */
function perConnectionCell(e: { bytesPerConnection: number | null; declined?: string | null }): string {
  return e.bytesPerConnection === null ? `— <small>${escape(e.declined ?? '')}</small>` : kib(e.bytesPerConnection);
}

/** A self-contained HTML report: plots of every layer against connections, tables, findings. */
export function renderHtmlReport(result: PulseResult, nativeHeapSection = '', holdersSection = ''): string {
  const r = result.report;
  const perConnection = r.perConnection
    .filter((e) => e.kind === result.options.kind)
    .map(
      (e) =>
        `<tr><td>${escape(LAYERS[e.layer].label)}</td><td>${perConnectionCell(e)}${e.note ? `<br><small>${escape(e.note)}</small>` : ''}</td>` +
        `<td>${e.quality === null ? '' : e.quality.toFixed(2)}</td></tr>`,
    )
    .join('');
  // With --native-profile: native bytes per connection by category, fitted on the profiles like the layers.
  const byCategory = (r.nativeHeap?.perConnection ?? [])
    .filter((e) => e.kind === result.options.kind)
    .map(
      (e) =>
        `<tr class="native-category"><td>native heap: ${escape(e.category)} <small>(sampled ` +
        `profiles)</small></td><td>${perConnectionCell(e)}${e.bytesPerConnection === null || e.relativeError == null ? '' : ` ${plusMinus(e.relativeError)}`}` +
        `</td><td>${e.quality === null ? '' : e.quality.toFixed(2)}</td></tr>`,
    )
    .join('');
  const retention = r.retention
    ? `<p>Retained after the spike, all resident: ${mib(r.retention.retainedBytes)} = V8 ` +
      `heap ${mib(r.retention.split.jsHeap)} + free native ${mib(r.retention.split.nativeFree)} + ` +
      `other ${mib(r.retention.split.other)}` +
      (result.release
        ? `; releaseToOS() then gave back ${mib(result.release.gc?.releasedBytes ?? null)} in its heap-shrinking GC ` +
          `and ${mib(result.release.trimReleasedBytes)} in the trim`
        : '') +
      `. <small>Free native: ${escape(r.residentFreeMethod)}.</small></p>`
    : '';
  const autoReleases = result.autoReleases.length
    ? `<h2>autoRelease</h2><ul>${result.autoReleases.map((a) => `<li>${escape(renderRelease(a))}</li>`).join('')}</ul>`
    : '';
  const others = r.findings.filter((f) => f.kind !== 'holder');
  const findings = others.length
    ? others
        .map((f) => `<li><b>${escape(f.severity)} — ${escape(f.kind)} (${escape(f.layer)})</b>: ${escape(f.summary)}<br><i>${escape(f.advice)}</i></li>`)
        .join('')
    : '<li>None: nothing leaking, retained or piling up.</li>';
  const release = result.release
    ? `<p><code>${escape(result.release.method)}</code> returned ${mib(result.release.releasedBytes)} ` +
      `(${mib(result.release.trimReleasedBytes)} by the trim) ` +
      `in ${result.release.durationMs.toFixed(2)} ms ` +
      `on ${result.release.onThreadpool ? 'the threadpool' : 'the JS thread'}; the heap-shrinking GC ` +
      `took ${result.release.gc?.durationMs.toFixed(1)} ms.</p>`
    : '<p>No release at the end of this run.</p>';
  const v = r.versions;
  const rssCells = [result.rss.baseline, result.rss.peak, result.rss.afterPulses, result.rss.afterRelease].map((b) => `<td>${mib(b)}</td>`).join('');
  const run =
    `${result.options.bigPulses} big pulses of ${result.options.connections} ` +
    `and ${result.options.smallPulses} small pulses ` +
    `of ${result.options.smallConnections} ${result.options.kind.toUpperCase()} connections ` +
    `(${result.options.chatty ? 'chatty' : 'idle'}), held ${result.options.lingerMs} ms; ` +
    `allocator ${result.allocator.name} ${result.allocator.version ?? ''}; Node ${v.node}, ` +
    `OpenSSL ${v.openssl}, V8 ${v.v8}, kernel ${v.kernel}.`;
  const data = JSON.stringify(series(result)).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sockprobe pulse report</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;max-width:1000px;color:#222}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}
.chart{margin:1em 0}h3{font-size:14px;margin:0.5em 0}
</style>
</head><body>
<h1>sockprobe pulse</h1>
<p>${escape(run)}</p>
${holdersSection}
<h2>RSS</h2>
<table><tr><th>baseline</th><th>peak</th><th>after the pulses</th><th>after releaseToOS()</th></tr>
<tr>${rssCells}</tr></table>
${release}
${retention}
${autoReleases}
<h2>Per ${escape(result.options.kind.toUpperCase())} connection</h2>
<table><tr><th>layer</th><th>bytes per connection</th><th>R²</th></tr>${perConnection}${byCategory}</table>
<p>${result.connectionsPerSecond.toFixed(0)} connections opened per second during the big pulses.</p>
${nativeHeapSection}
<h2>Findings</h2><ul>${findings}</ul>
<h2>Over time</h2>
${limitText(result)}
<div id="charts"></div>
<script type="application/json" id="data">${data}</script>
<script>${DRAW}</script>
</body></html>
`;
}
