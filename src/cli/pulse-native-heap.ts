/**
 * `pulse --native-profile`: what one connection holds, from the profile at the top of the first
 * big pulse minus the one before it, divided by the connections opened in between — as text, as
 * a section of the HTML report (a flame graph) and as `.pb.gz` files for pprof.
 */
import * as fs from 'node:fs';
import type { PulseNativeHeap, PulseResult } from '../experiments/pulse';
import { CATEGORIES } from '../native-heap/categories';
import { growthProfile, siteKey, siteTitle, type NativeHeapDiff } from '../native-heap/diff';
import { encodePprof } from '../native-heap/pprof';
import { renderFlameGraph } from './flame-graph';
import { growthRelativeError, holdersFromPair, type HolderEstimate } from '../probe/holders/estimate';
import { holderDetail, holderLine, plusMinus } from '../probe/holders/render';
import type { NativeHeapCategory, NativeHeapProfile } from '../native-heap/profile';
import { kibOrBytes as kib } from '../format/bytes';

/** A category's growth's Poisson error: null where a profile carried no counts or the category did not grow. */
function categoryGrowthError(c: NativeHeapDiff['categories'][NativeHeapCategory]): number | null {
  return c.samplesAfter === null || c.samplesBefore === null || c.growthBytes <= 0 ? null : growthRelativeError(c.samplesAfter, c.samplesBefore);
}

/** Sampled allocations per site identity (siteKey), to give each growth figure its Poisson error. */
function samplesBySite(profile: NativeHeapProfile | null): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of profile?.sites ?? []) out.set(siteKey(s.stack), (out.get(siteKey(s.stack)) ?? 0) + (Number.isFinite(s.samples) ? s.samples : 0));
  return out;
}

/** The pulse's holders: what each grew between the profile before the first big pulse and the one at its top, ÷ the connections opened. */
export function pulseHolders(result: PulseResult): HolderEstimate[] {
  const heap = result.nativeHeap;
  if (!heap?.before || !heap.top || heap.connections <= 0) return [];
  const atTop = result.samples.find((s) => s.time >= heap.top!.takenAt) ?? result.samples[result.samples.length - 1];
  const now = result.samples[result.samples.length - 1];
  return holdersFromPair(heap.before, heap.top, heap.connections, result.options.kind, atTop && now ? { atTop: atTop.rss, now: now.rss } : undefined);
}

/** Holders first: one line each (cost per connection, error, the fix), then their detail. */
export function renderHoldersText(result: PulseResult): { lines: string[]; detail: string[] } {
  const holders = pulseHolders(result);
  if (!holders.length) return { lines: [], detail: [] };
  const now = result.samples[result.samples.length - 1]?.time ?? null;
  return {
    lines: ['Holders (what one connection holds, from the sampled native heap profile, and the fix):', ...holders.map((h) => `  ${holderLine(h)}`)],
    detail: ['Holders in detail:', ...holders.flatMap((h) => holderDetail(h, now))],
  };
}

export function renderHoldersHtml(result: PulseResult): string {
  const holders = pulseHolders(result);
  if (!holders.length) return '';
  const rows = holders
    .map(
      (h) =>
        `<tr class="holder ${escape(h.severity)}"><td>${escape(h.severity)}</td><td><b>${escape(h.name)}</b></td>` +
        `<td>${h.bytesPerConnection === null ? '—' : kib(h.bytesPerConnection)} ±${Math.max(1, Math.round(h.relativeError * 100))}%</td>` +
        `<td>${escape(h.action)}</td></tr>`,
    )
    .join('');
  const detail = holders
    .map(
      (h) =>
        `<li><b>${escape(h.name)}</b> — ${escape(h.judgement)}. It ` +
        `is ${escape(h.what)}.<br><i>Fix: ${escape(h.fix)}.</i>` +
        (h.sites.length ? `<br><small>${h.sites.map((s) => escape(`${kib(s.bytes)} ${s.site}`)).join('<br>')}</small>` : '') +
        '</li>',
    )
    .join('');
  const kind = escape(result.options.kind.toUpperCase());
  return `<h2>Holders: what one connection holds, and the fix</h2>
<table id="holders"><tr><th>severity</th><th>holder</th><th>per ${kind} connection (Poisson error)</th><th>fix</th></tr>${rows}</table>
<ul class="holder-detail">${detail}</ul>`;
}

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** What the pulse writes beside the report: the whole sampled heap at the top, and what the pulse added. */
export function nativeProfilePaths(base: string): { top: string; growth: string } {
  const stem = base.replace(/\.html?$/i, '');
  return { top: `${stem}.native-heap.pb.gz`, growth: `${stem}.native-heap-growth.pb.gz` };
}

export async function writeNativeProfiles(heap: PulseNativeHeap, base: string): Promise<string[]> {
  if (!heap.top || !heap.diff) return [];
  const paths = nativeProfilePaths(base);
  fs.writeFileSync(paths.top, await encodePprof(heap.top));
  fs.writeFileSync(paths.growth, await encodePprof(growthProfile(heap.diff)));
  return [paths.top, paths.growth];
}

/** Per-connection figures from the pulse's pair of profiles (the JSON form and the text use these). */
export function nativeHeapPerConnection(heap: PulseNativeHeap, top = 10) {
  if (!heap.diff || heap.connections <= 0) return null;
  const n = heap.connections;
  const after = samplesBySite(heap.top);
  const before = samplesBySite(heap.before);
  const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  return {
    connections: n,
    sampleBytes: heap.diff.after.sampleBytes,
    bytesPerConnection: heap.diff.growthBytes / n,
    /** Poisson relative error of the figure: √(samples at the top + before) ÷ their difference. */
    relativeError: growthRelativeError(total(after), total(before)),
    categories: Object.fromEntries(CATEGORIES.map((c) => [c, heap.diff!.categories[c].growthBytes / n])),
    /** Each category's growth's Poisson relative error, from its sampled allocations at the top and before (null without counts or growth). */
    categoryRelativeError: Object.fromEntries(CATEGORIES.map((c) => [c, categoryGrowthError(heap.diff!.categories[c])])) as Record<string, number | null>,
    topSites: heap.diff.grown.slice(0, top).map((s) => ({
      site: siteTitle(s.stack),
      category: s.category,
      bytesPerConnection: s.growthBytes / n,
      allocationsPerConnection: s.growthCount / n,
      relativeError: growthRelativeError(after.get(s.key) ?? 0, before.get(s.key) ?? 0),
    })),
  };
}

export function nativeHeapJson(heap: PulseNativeHeap | null): object | null {
  if (!heap) return null;
  const top = heap.top
    ? {
        takenAt: heap.top.takenAt,
        sampleBytes: heap.top.sampleBytes,
        totalBytes: heap.top.totalBytes,
        sites: heap.top.sites.length,
        categories: heap.top.categories,
        dropped: heap.top.dropped,
      }
    : null;
  return { unavailable: heap.unavailable, top, perConnection: nativeHeapPerConnection(heap, 20) };
}

export function renderNativeHeapText(heap: PulseNativeHeap | null, kind: string): string[] {
  if (!heap) return [];
  if (heap.unavailable) return [`Native heap profile: off — ${heap.unavailable}`];
  const per = nativeHeapPerConnection(heap);
  if (!per) return ['Native heap profile: no pair of profiles around the first big pulse.'];
  return [
    `Native heap per ${kind.toUpperCase()} connection (sampled profile, every ${per.sampleBytes} B; ` +
      `the first big pulse's top − before, ` +
      `/ ${per.connections}): ${kib(per.bytesPerConnection)} ${plusMinus(per.relativeError)}`,
    `  by category: ${Object.entries(per.categories)
      .filter(([, v]) => Math.abs(v) >= 1)
      .map(([c, v]) => `${c} ${kib(v)}${per.categoryRelativeError[c] === null ? '' : ` ${plusMinus(per.categoryRelativeError[c])}`}`)
      .join(', ')}`,
    ...per.topSites.slice(0, 8).map((s) => `  ${kib(s.bytesPerConnection).padStart(10)} ${plusMinus(s.relativeError).padStart(5)} [${s.category}] ${s.site}`),
  ];
}

/** The HTML report's section: a flame graph of one connection's share, categories, top sites, the files. */
export function renderNativeHeapHtml(result: PulseResult, files: string[]): string {
  const heap = result.nativeHeap;
  if (!heap) return '';
  if (heap.unavailable) return `<h2>Native heap by call site</h2><p>Not profiled: ${escape(heap.unavailable)}</p>`;
  const per = nativeHeapPerConnection(heap, 15);
  if (!per || !heap.diff) return '<h2>Native heap by call site</h2><p>No pair of profiles around the first big pulse.</p>';
  const n = per.connections;
  const flame = renderFlameGraph(
    heap.diff.grown.map((s) => ({ stack: s.stack, value: s.growthBytes / n, category: s.category })),
    { format: (v) => `${kib(v)} per connection`, title: `native heap per ${result.options.kind.toUpperCase()} connection` },
  );
  const categories = Object.entries(per.categories)
    .filter(([, v]) => Math.abs(v) >= 1)
    .map(
      ([c, v]) =>
        `<tr><td>${escape(c)}</td><td>${kib(v)}${per.categoryRelativeError[c] === null ? '' : ` ${plusMinus(per.categoryRelativeError[c])}`}</td></tr>`,
    )
    .join('');
  const sites = per.topSites
    .map(
      (s) =>
        `<tr><td>${escape(s.site)}</td><td>${escape(s.category)}</td>` +
        `<td>${kib(s.bytesPerConnection)} ${plusMinus(s.relativeError)}</td><td>${s.allocationsPerConnection.toFixed(2)}</td></tr>`,
    )
    .join('');
  const shrunk = heap.diff.shrunk.reduce((sum, s) => sum + s.growthBytes, 0);
  const summary =
    `Sampled native heap profiles (live allocations, one sample per ${per.sampleBytes} B on average, unbiased estimates) ` +
    `before the first big pulse and at its top; what grew, divided by the ${n} connections opened in between: ` +
    `<b>${kib(per.bytesPerConnection)}</b> ${plusMinus(per.relativeError)} (Poisson) per connection` +
    (shrunk < 0 ? ` (sites that shrank, ${kib(-shrunk / n)} per connection, are netted in this figure and left out of the graph)` : '') +
    '. Width is bytes; allocation sites on top, callers below; colour is the category.';
  const pprofFiles = files.length
    ? `<p>pprof files: ${files.map((f) => `<code>${escape(f)}</code>`).join(' (the whole sampled heap at the top of the pulse) and ')} ` +
      '(what the pulse added) — e.g. <code>go tool pprof -http=: FILE</code>.</p>'
    : '';
  return `<h2>Native heap by call site: what one ${escape(result.options.kind.toUpperCase())} connection holds</h2>
<p>${summary}</p>
<div id="native-flame">${flame}</div>
<table><tr><th>category</th><th>per connection</th></tr>${categories}</table>
<h3>Top call sites per connection</h3>
<table><tr><th>site (innermost first, past the allocator)</th><th>category</th><th>bytes</th><th>allocations</th></tr>${sites}</table>
${pprofFiles}`;
}
