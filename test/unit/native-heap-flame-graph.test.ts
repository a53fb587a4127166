import { describe, expect, it } from 'vitest';
import { renderFlameGraph } from '../../src/cli/flame-graph';
import { nativeHeapJson, nativeHeapPerConnection, nativeProfilePaths, renderNativeHeapHtml, renderNativeHeapText } from '../../src/cli/pulse-native-heap';
import type { PulseResult } from '../../src/experiments/pulse';
import { siteCategory } from '../../src/native-heap/pprof';
import { diffProfiles } from '../../src/native-heap/diff';
import { makeProfile, site, STACKS } from '../helpers/native-heap';

const frames = (svg: string) =>
  [...svg.matchAll(/<g class="frame" data-level="(\d+)"><title>([^<]*)<\/title><rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)"/g)].map((m) => ({
    level: Number(m[1]),
    title: m[2],
    x: Number(m[3]),
    y: Number(m[4]),
    width: Number(m[5]),
  }));

describe('flame graph (self-contained SVG)', () => {
  const sites = [
    { stack: STACKS.ssl, value: 14_000, category: 'openssl' as const },
    { stack: STACKS.readBuffer, value: 65_536, category: 'node' as const },
    { stack: STACKS.v8, value: 500, category: 'v8' as const },
    { stack: STACKS.zlib, value: -3000, category: 'zlib' as const },
  ];
  const svg = renderFlameGraph(sites, { format: (v) => `${(v / 1024).toFixed(1)} KiB per connection`, width: 1000 });

  it('draws the root as wide as all positive values, each site on top of its callers', () => {
    const drawn = frames(svg);
    const root = drawn.find((f) => f.level === 0)!;
    expect(root.width).toBeCloseTo(1000, 1);
    expect(root.title).toBe('all — 78.2 KiB per connection (100.0%)');
    // Outermost frame of the read-buffer stack at level 1, malloc on top at level 4.
    const run = drawn.find((f) => f.title.startsWith('uv_run'))!;
    expect(run.level).toBe(1);
    expect(run.width).toBeCloseTo((1000 * 65_536) / 80_036, 1);
    expect(
      drawn
        .filter((f) => f.title.startsWith('malloc'))
        .map((f) => f.level)
        .sort(),
    ).toEqual([4, 5]);
    // Root at the bottom: deeper levels higher up.
    expect(drawn.find((f) => f.level === 4)!.y).toBeLessThan(root.y);
    // A site that shrank is not drawn.
    expect(svg).not.toContain('deflateInit2_');
  });

  it('leaves out frames narrower than half a pixel, escapes names, fetches nothing', () => {
    const tiny = renderFlameGraph(
      [
        { stack: STACKS.ssl, value: 1e9, category: 'openssl' },
        { stack: STACKS.v8, value: 1, category: 'v8' },
      ],
      { format: String },
    );
    expect(tiny).not.toContain('operator new');
    expect(svg).toContain('operator new(unsigned long)');
    expect(renderFlameGraph([{ stack: [{ ...STACKS.ssl[0], name: '<script>' }], value: 1, category: 'other' }], { format: String })).not.toContain('<script>');
    expect(svg).not.toMatch(/\s(src|href)=|url\(|<script/);
  });
});

describe('pulse --native-profile report parts', () => {
  const before = makeProfile([site(STACKS.ssl, 100_000, 10), site(STACKS.v8, 2_000_000, 50)], { takenAt: 1_700_000_010_000 }, (s) => siteCategory(s.stack));
  const top = makeProfile(
    [site(STACKS.ssl, 100_000 + 2000 * 14_000, 10 + 2000 * 40), site(STACKS.readBuffer, 2000 * 65_536, 2000), site(STACKS.v8, 1_900_000, 45)],
    { takenAt: 1_700_000_020_000 },
    (s) => siteCategory(s.stack),
  );
  const heap = { unavailable: null, before, top, connections: 2000, diff: diffProfiles(before, top) };

  it('divides what grew between the pair by the connections opened', () => {
    const per = nativeHeapPerConnection(heap)!;
    expect(per.bytesPerConnection).toBeCloseTo(14_000 + 65_536 - 50, 6);
    expect(per.categories.openssl).toBeCloseTo(14_000, 6);
    expect(per.topSites[0]).toMatchObject({
      site: 'node::StreamBase::ReadStart ← uv__read ← uv_run',
      category: 'node',
      bytesPerConnection: 65_536,
      allocationsPerConnection: 1,
    });
    // Poisson: a site new at the top with 2000 samples is ±1/√2000; the whole growth counts both profiles' samples.
    expect(per.topSites[0].relativeError).toBeCloseTo(1 / Math.sqrt(2000), 6);
    const samples = (p: typeof top) => p.sites.reduce((a, s) => a + s.samples, 0);
    expect(per.relativeError).toBeCloseTo(Math.sqrt(samples(top) + samples(before)) / (samples(top) - samples(before)), 9);
    // Each category's growth likewise, from its own samples (one site each here); v8 shrank: no error.
    const [a, b] = [before.sites.find((s) => s.stack === STACKS.ssl)!.samples, top.sites.find((s) => s.stack === STACKS.ssl)!.samples];
    expect(per.categoryRelativeError.openssl).toBeCloseTo(Math.sqrt(b + a) / (b - a), 9);
    expect(per.categoryRelativeError.node).toBeCloseTo(1 / Math.sqrt(top.sites.find((s) => s.stack === STACKS.readBuffer)!.samples), 9);
    expect(per.categoryRelativeError.openssl).not.toBeCloseTo(per.categoryRelativeError.node!, 3);
    expect(per.categoryRelativeError.v8).toBeNull();
  });

  it('renders a section with the flame graph, categories, sites and the files, or why not', () => {
    const result = { options: { kind: 'tls' }, nativeHeap: heap } as unknown as PulseResult;
    const html = renderNativeHeapHtml(result, ['/tmp/r.native-heap.pb.gz', '/tmp/r.native-heap-growth.pb.gz']);
    expect(html).toContain('<svg class="flame-graph"');
    expect(html).toMatch(/<b>77\.6 KiB<\/b> ±2% \(Poisson\) per connection \(sites that shrank, 50 B per connection/);
    const pm = (e: number | null) => `±${Math.round(e! * 100)}%`;
    const per = nativeHeapPerConnection(heap)!;
    expect(html).toContain(`<td>openssl</td><td>13.7 KiB ${pm(per.categoryRelativeError.openssl)}</td>`);
    expect(html).toContain(`<td>node</td><td>64.0 KiB ${pm(per.categoryRelativeError.node)}</td>`);
    expect(html).toContain('<td>v8</td><td>-50 B</td>');
    expect(html).toContain('<code>/tmp/r.native-heap.pb.gz</code>');
    const off = renderNativeHeapHtml({ ...result, nativeHeap: { ...heap, unavailable: 'the executable is PIE' } } as PulseResult, []);
    expect(off).toContain('Not profiled: the executable is PIE');
    expect(nativeProfilePaths('/x/report.html')).toEqual({ top: '/x/report.native-heap.pb.gz', growth: '/x/report.native-heap-growth.pb.gz' });
  });

  it('says it in text and JSON: per connection, by category, the top sites; no whole profile in the JSON', () => {
    const text = renderNativeHeapText(heap, 'tls').join('\n');
    expect(text).toMatch(/^Native heap per TLS connection \(sampled profile, every 65536 B; the first big pulse's top − before, \/ 2000\): 77\.6 KiB ±2%/);
    const errors = nativeHeapPerConnection(heap)!.categoryRelativeError;
    expect(text).toContain(`by category: openssl 13.7 KiB ±${Math.round(errors.openssl! * 100)}%, v8 -50 B, node 64.0 KiB ±${Math.round(errors.node! * 100)}%`);
    expect(text).toMatch(/64\.0 KiB {3}±2% \[node\] node::StreamBase::ReadStart ← uv__read ← uv_run/);
    const json = nativeHeapJson(heap) as { top: { sites: number; totalBytes: number }; perConnection: { topSites: unknown[] } };
    expect(json.top).toMatchObject({ sites: 3, totalBytes: top.totalBytes });
    expect(JSON.stringify(json)).not.toContain('"stack"');
    expect(renderNativeHeapText({ ...heap, unavailable: 'not here' }, 'tls')).toEqual(['Native heap profile: off — not here']);
    expect(nativeHeapJson(null)).toBeNull();
  });
});
