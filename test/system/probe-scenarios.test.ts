import { beforeAll, describe, expect, it } from 'vitest';
import { runFixture, type PreloadName } from '../helpers/child';
import { findingsOf } from '../helpers/findings';
import type { AutoReleaseRecord, Finding, ProbeReport } from '../../src';

interface ScenarioResult {
  allocator: { name: string };
  rss: { baseline: number; peak: number; afterPulses: number };
  lastRss: number;
  phases: Array<{ label: string; start: number; end: number; rss: number; opensslLive: number | null }>;
  report: Pick<ProbeReport, 'findings' | 'perConnection' | 'retention' | 'releases' | 'versions'>;
  release: { gc: { releasedBytes: number } | null; trimReleasedBytes: number; releasedBytes: number } | null;
  autoReleases: AutoReleaseRecord[];
  options: { connections: number };
  residentViolations: number;
  maxFreeRaw: number;
  maxRss: number;
  text: string;
}

const MiB = 1024 * 1024;
const scenario = (name: string, preload?: PreloadName) => runFixture<ScenarioResult>('pulse-scenario.js', { args: [name], preload }).then((r) => r.json);
const opensslTracked = (result: ScenarioResult) => result.phases.some((p) => p.opensslLive !== null);

describe('the probe on real loopback TLS pulses', () => {
  let spike: ScenarioResult;
  beforeAll(async () => {
    spike = await scenario('spike');
  });

  it('names retention after a spike (the Go pulse case), split into resident parts that sum to what RSS kept', () => {
    const result = spike;
    const retention = findingsOf(result.report.findings, 'retention');
    expect(retention).toHaveLength(1);
    expect(['nativeFree', 'jsHeap']).toContain(retention[0].layer);
    expect(retention[0].evidence.retainedBytes).toBeGreaterThan(16 * MiB);
    const { split, retainedBytes } = result.report.retention!;
    expect(split.jsHeap).toBeGreaterThan(0);
    expect(split.jsHeap + (split.nativeFree ?? 0) + split.other).toBeCloseTo(retainedBytes, -2);
    expect(result.report.findings.filter((f) => f.kind === 'leak')).toEqual([]);
  });

  it('keeps every free figure within RSS though the allocator counts more than RSS', () => {
    expect(spike.residentViolations).toBe(0);
    expect(spike.text).toMatch(/free native [\d.]+ MiB resident/);
  });

  it('measures RSS per TLS connection in agreement (10%) with the direct RSS delta', () => {
    const result = spike;
    const estimate = result.report.perConnection.find((e) => e.layer === 'rss' && e.kind === 'tls')!;
    // Direct: RSS when the pulse had opened every connection, against the baseline.
    const opened = result.phases.find((p) => p.label.endsWith(`open ${result.options.connections}`))!;
    const direct = (opened.rss - result.rss.baseline) / result.options.connections;
    expect(estimate.method).toBe('rising-edge');
    expect(Math.abs(estimate.bytesPerConnection! - direct) / direct).toBeLessThan(0.1);
    expect(result.report.versions.openssl).toBe(process.versions.openssl);
  });

  it(
    'gives per-connection figures a user can act on: none negative, no tcp rows for a TLS-only ' +
      'service, kernel read from snapshots, in-use over RSS explained',
    () => {
      const estimates = spike.report.perConnection;
      for (const e of estimates) expect(e.bytesPerConnection ?? 0).toBeGreaterThanOrEqual(0);
      expect(estimates.filter((e) => e.kind === 'tcp')).toEqual([]);
      expect(spike.text).not.toMatch(/, tcp /);
      // Snapshots are taken as connections move: the kernel layer has readings at many counts, and either a figure or a bound.
      const kernel = estimates.find((e) => e.layer === 'kernel')!;
      expect(kernel.declined ?? '').not.toMatch(/only \d+ readings|varied by/);
      if (kernel.bytesPerConnection === null) expect(kernel.declined).toMatch(/at most [\d.]+ (B|KiB) per connection/);
      const rss = estimates.find((e) => e.layer === 'rss')!.bytesPerConnection!;
      for (const e of estimates.filter((x) => ['otherNative', 'openssl', 'jsHeap'].includes(x.layer) && x.bytesPerConnection !== null)) {
        if (e.bytesPerConnection! > rss) expect(e.note).toMatch(/exceeds RSS per connection .*allocated-but-untouched/);
        else expect(e.note).toBeUndefined();
      }
    },
  );

  // OpenSSL tracking works on Node 20 only for now (capabilities().opensslTracking says why elsewhere):
  // there the estimate is checked; elsewhere the layer must be left out, not shown as zero.
  it('measures OpenSSL bytes per TLS connection in agreement (10%) with the OpenSSL stats delta, or leaves the layer out', () => {
    const result = spike;
    const estimate = result.report.perConnection.find((e) => e.layer === 'openssl' && e.kind === 'tls');
    if (!opensslTracked(result)) {
      expect(estimate).toBeUndefined();
      return;
    }
    const baseline = result.phases.find((p) => p.label === 'baseline')!;
    const opened = result.phases.find((p) => p.label.endsWith(`open ${result.options.connections}`))!;
    const direct = (opened.opensslLive! - baseline.opensslLive!) / result.options.connections;
    expect(direct).toBeGreaterThan(10_000); // an idle TLS 1.3 server connection holds ~14 KB in OpenSSL
    expect(Math.abs(estimate!.bytesPerConnection! - direct) / direct).toBeLessThan(0.1);
  });

  it('finds nothing in a healthy run: connections rising and falling, nothing leaking', async () => {
    const result = await scenario('healthy');
    expect(result.report.findings).toEqual([]);
  });

  it('autoRelease gives memory back once the spike ends, and report() and its text say when, why, how much and at what cost', async () => {
    const result = await scenario('autorelease');
    expect(result.autoReleases).toHaveLength(1);
    const release = result.autoReleases[0];
    expect(release.result!.releasedBytes).toBeGreaterThan(16 * MiB);
    const spikeEnd = result.phases.find((p) => p.label.endsWith('close'))!.end;
    expect(release.time - spikeEnd).toBeLessThan(10_000);
    expect(result.lastRss).toBeLessThan(1.3 * result.rss.baseline);
    // The heap-shrinking GC is on the record, and in the JS-thread time.
    const { gc, jsThreadMs, trimMs } = release.result!;
    expect(gc!.durationMs).toBeGreaterThan(0);
    expect(jsThreadMs).toBeGreaterThanOrEqual(gc!.durationMs);
    expect(trimMs).toBeGreaterThan(0);
    // What it expected was resident memory: no more than came back, give or take what the GC freed besides.
    expect(release.expectedBytes).toBeLessThanOrEqual(release.result!.releasedBytes + 8 * MiB);
    expect(result.report.releases).toHaveLength(1);
    expect(result.text).toMatch(
      /autoRelease \(1, [\d.]+ MiB back in all\):\n {2}\S+ connections fell from \d+ to \d+; .* MiB back \(.* by malloc_trim\(0\) in [\d.]+ ms on the threadpool; heap-shrinking GC [\d.]+ ms on the JS thread/,
    );
  });
});

describe('the retention split against what releaseToOS() then returns (2000 TLS connections, each allocator that counts free bytes)', () => {
  // The split is read before the release; the V8 part must be within ±50% of what the heap-shrinking
  // GC gives back, the free-native part no more than the trim gives back (+4 MiB or a tenth of the retained bytes).
  for (const preload of ['glibc', 'jemalloc', 'tcmalloc'] as const) {
    it(preload, async () => {
      const result = await scenario('release', preload);
      expect(result.allocator.name).toBe(preload);
      const { split } = result.report.retention!;
      const release = result.release!;
      console.log(
        `${preload}: retained ${(result.report.retention!.retainedBytes / MiB).toFixed(1)} MiB = ` +
          `V8 ${(split.jsHeap / MiB).toFixed(1)} + free ${(split.nativeFree! / MiB).toFixed(1)} + ` +
          `other ${(split.other / MiB).toFixed(1)}; GC gave ` +
          `back ${(release.gc!.releasedBytes / MiB).toFixed(1)}, ` +
          `trim ${(release.trimReleasedBytes / MiB).toFixed(1)}; raw free count up ` +
          `to ${(result.maxFreeRaw / MiB).toFixed(1)} MiB at RSS up to ${(result.maxRss / MiB).toFixed(1)} ` +
          `MiB`,
      );
      expect(release.gc!.releasedBytes).toBeGreaterThan(8 * MiB);
      expect(split.jsHeap).toBeGreaterThanOrEqual(0.5 * release.gc!.releasedBytes);
      expect(split.jsHeap).toBeLessThanOrEqual(1.5 * release.gc!.releasedBytes);
      expect(split.nativeFree).not.toBeNull();
      expect(split.nativeFree!).toBeGreaterThan(8 * MiB);
      // Tolerance: 4 MiB, or a tenth of what was retained. The split's free part takes what the
      // V8 part (resident heap growth) leaves; the GC that follows also frees native memory of
      // dead sockets, so the V8 part runs below what the GC returns and a few MiB of that land in
      // the free part (seen: free 57.1 MiB vs trim 52.0 MiB of 74.7 retained, Node 20 glibc).
      expect(split.nativeFree!).toBeLessThanOrEqual(release.trimReleasedBytes + Math.max(4 * MiB, 0.1 * result.report.retention!.retainedBytes));
      expect(result.residentViolations).toBe(0);
    });
  }
});

interface GrowthResult {
  opensslTracking: true | string;
  startedAt: number;
  foundAt: number | null;
  finding: Extract<Finding, { kind: 'leak' }> | null;
  findingsSeen: string[];
  connectionsRange: [number, number];
  liveFirst: number | null;
  liveLast: number | null;
  text: string;
}
const growth = (name: 'leak' | 'churn') => runFixture<GrowthResult>('probe-openssl-growth.js', { args: [name, '35000'] }).then((r) => r.json);

// OpenSSL tracking works on Node 20 only for now: there the finding's timing is checked; on other lines
// capabilities().opensslTracking gives the reason and the probe must neither name nor show the layer.
describe('OpenSSL growth on the exact layer, with 100 real TLS connections held (clients in a child process)', () => {
  it('names a steady climb at a flat connection count within 30 s', async () => {
    const result = await growth('leak');
    expect(result.connectionsRange).toEqual([100, 100]);
    if (result.opensslTracking !== true) {
      expect(result.finding).toBeNull();
      expect(result.text).not.toMatch(/OpenSSL live bytes, tls|leak \(openssl\)/);
      return;
    }
    expect(result.liveLast! - result.liveFirst!).toBeGreaterThan(16 * MiB);
    expect(result.foundAt).not.toBeNull();
    expect(result.foundAt! - result.startedAt).toBeLessThanOrEqual(30_000);
    expect(result.finding!.summary).toMatch(/^OpenSSL live bytes \(an exact count\) grew [\d.]+ MiB in \d+ s/);
    expect(result.finding!.evidence).toMatchObject({ connectionsFirst: 100, connectionsLast: 100 });
  });

  it('names nothing while the same connections churn (closed and reopened, nothing kept)', async () => {
    const result = await growth('churn');
    expect(result.connectionsRange[1]).toBe(100);
    // Memory findings only: a snapshot taken mid-close can catch server sockets in CLOSE_WAIT for
    // the moment it takes to close them (seen once on Node 26) — a socket finding, judged elsewhere.
    expect(result.findingsSeen.filter((f) => f.startsWith('leak:') || f.startsWith('retention:'))).toEqual([]);
  });
});
