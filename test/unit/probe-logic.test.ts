import { describe, expect, it, vi } from 'vitest';
import { AutoReleasePolicy, DEFAULT_PACE_BYTES_PER_SECOND } from '../../src/probe/auto-release';
import { releaseToOS } from '../../src/memory/release';
import { threadpoolSize } from '../../src/memory/release-slices';
import { belowThreshold, leakTrends, perConnection, retentionAfterSpike } from '../../src/probe/correlate';
import { designFitSteps, designOf, robustFit } from '../../src/probe/regression';
import { buildReport, renderReport, type Versions } from '../../src/probe/report';
import { createProbe } from '../../src/probe/probe';
import { RingBuffer } from '../../src/probe/ring-buffer';
import type { ProbeSources } from '../../src/probe/sources';
import { residentFree } from '../../src/probe/sample';
import { makeSample, makeSockets, noise } from '../helpers/samples';

const versions: Versions = { node: '20', v8: '11', openssl: '3', uv: '1', kernel: '6', allocator: 'glibc' };
const MiB = 1024 * 1024;

describe('robustFit', () => {
  it('recovers slopes of two regressors despite gross outliers', () => {
    const xs: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < 200; i++) {
      const a = (i * 37) % 500;
      const b = (i * 91) % 300;
      xs.push([a, b]);
      y.push(1000 + 14_000 * a + 3_000 * b + 5_000 * noise(i) + (i % 25 === 0 ? 50e6 : 0));
    }
    const fit = robustFit(xs, y)!;
    expect(fit.coefficients[0]).toBeGreaterThan(14_000 * 0.98);
    expect(fit.coefficients[0]).toBeLessThan(14_000 * 1.02);
    expect(fit.coefficients[1]).toBeGreaterThan(3_000 * 0.95);
    expect(fit.coefficients[1]).toBeLessThan(3_000 * 1.05);
  });

  it('hands the loop back within a reweighting over thousands of rows, with the same fit as in one call', () => {
    const xs: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < 3600; i++) {
      xs.push([(i * 37) % 500]);
      y.push(1000 + 14_000 * xs[i][0] + 5_000 * noise(i) + (i % 25 === 0 ? 50e6 : 0));
    }
    const steps = designFitSteps(designOf(xs, y));
    let yields = 0;
    let next = steps.next();
    for (; !next.done; next = steps.next()) yields++;
    expect(next.value).toEqual(robustFit(xs, y));
    expect(next.value!.coefficients[0]).toBeCloseTo(14_000, -2);
    // 8 reweightings, each in three runs of rows (1200 a turn) at 3600 rows, not one turn each.
    expect(yields).toBeGreaterThanOrEqual(8 * 3);
  });

  it('returns null when a column does not vary', () => {
    expect(robustFit([[1], [1], [1], [1]], [1, 2, 3, 4])).toBeNull();
  });
});

describe('perConnection', () => {
  it('separates TLS and TCP costs per layer', () => {
    const samples = Array.from({ length: 60 }, (_, i) => {
      const tls = (i * 53) % 1000;
      const tcp = (i * 29) % 400;
      return makeSample(i, { tls, tcp, opensslLive: 1e6 + 14_467 * tls + 200 * noise(i), rss: 60e6 + 40_000 * tls + 9_000 * tcp + 100_000 * noise(i + 1) });
    });
    const estimates = perConnection(samples, ['openssl', 'rss']);
    const get = (layer: string, kind: string) => estimates.find((e) => e.layer === layer && e.kind === kind)!;
    expect(get('openssl', 'tls').bytesPerConnection).toBeCloseTo(14_467, -1);
    // TCP costs OpenSSL nothing: a figure under 50 B, or declined if the noise tipped it below zero.
    const tcpOpenssl = get('openssl', 'tcp');
    if (tcpOpenssl.bytesPerConnection === null) expect(tcpOpenssl.declined).toMatch(/^OpenSSL live bytes fell \d+ B per tcp connection|explain only/);
    else expect(tcpOpenssl.bytesPerConnection).toBeLessThan(50);
    expect(get('rss', 'tls').bytesPerConnection! / 40_000).toBeCloseTo(1, 1);
    expect(get('rss', 'tcp').bytesPerConnection! / 9_000).toBeCloseTo(1, 1);
    expect(get('rss', 'tls').quality).toBeGreaterThan(0.99);
  });

  it('declines, saying why, when connection counts barely vary', () => {
    const samples = Array.from({ length: 30 }, (_, i) => makeSample(i, { tls: 100 + (i % 3), opensslLive: 60e6 + i }));
    const estimate = perConnection(samples, ['openssl']).find((e) => e.kind === 'tls')!;
    expect(estimate.bytesPerConnection).toBeNull();
    expect(estimate.declined).toMatch(/varied by 2/);
  });

  it('reads RSS cost on rising edges only, where retention after a close cannot blur it', () => {
    // Two pulses: RSS grows 30 KB per connection on the first climb, then glibc keeps it all.
    const counts = [0, 0, 500, 1000, 1500, 2000, 2000, 0, 0, 1000, 2000, 0, 0];
    let rss = 60e6;
    let highWater = 0;
    const samples = counts.map((tls, i) => {
      if (tls > highWater) {
        rss += (tls - highWater) * 30_000;
        highWater = tls;
      }
      return makeSample(i, { tls, rss: rss + 20_000 * noise(i) });
    });
    const estimate = perConnection(samples, ['rss']).find((e) => e.kind === 'tls')!;
    expect(estimate.method).toBe('rising-edge');
    expect(estimate.bytesPerConnection! / 30_000).toBeCloseTo(1, 2);
  });
});

describe('perConnection: only figures a user can act on', () => {
  it('declines a negative slope with the reason instead of exporting it (the −1.0 KiB JS heap of issue 11)', () => {
    // The JS heap falls as connections rise (a GC landed during the climb): no cost per connection.
    const samples = Array.from({ length: 40 }, (_, i) => {
      const tls = i * 50;
      return makeSample(i, { tls, heapUsed: 40e6 - 1049 * tls + 300_000 * noise(i), rss: 60e6 + 30_000 * tls });
    });
    const estimate = perConnection(samples, ['jsHeap']).find((e) => e.kind === 'tls')!;
    expect(estimate.bytesPerConnection).toBeNull();
    expect(estimate.declined).toMatch(/^JS heap \(used\) fell 1\d\d\d B per tls connection as connections rose \(R² 0\.\d\d\): memory freed or reused/);
    for (const e of perConnection(samples)) expect(e.bytesPerConnection ?? 0).toBeGreaterThanOrEqual(0);
  });

  it('declines a fit connection counts barely explain', () => {
    const samples = Array.from({ length: 60 }, (_, i) => makeSample(i, { tls: (i * 37) % 500, heapUsed: 30e6 + 20e6 * noise(i) + 100 * ((i * 37) % 500) }));
    const estimate = perConnection(samples, ['jsHeap']).find((e) => e.kind === 'tls')!;
    expect(estimate.bytesPerConnection).toBeNull();
    expect(estimate.declined).toMatch(/connection counts explain only [\d.]+% of JS heap \(used\)'s variation/);
  });

  it('never prints a figure just below the threshold as the threshold itself', () => {
    expect(belowThreshold(0.297, 0.3, 2)).toBe('0.297');
    expect(belowThreshold(29.7, 30, 0)).toBe('29.7');
    expect(belowThreshold(0.12, 0.3, 2)).toBe('0.12');
  });

  it('leaves out kinds and layers the service does not have', () => {
    // A TLS-only service with OpenSSL tracking off and no socket snapshots: no tcp rows, no OpenSSL or kernel rows.
    const samples = Array.from({ length: 30 }, (_, i) => makeSample(i, { tls: (i * 53) % 1000, opensslLive: null, rss: 60e6 + 40_000 * ((i * 53) % 1000) }));
    const estimates = perConnection(samples);
    expect(new Set(estimates.map((e) => e.kind))).toEqual(new Set(['tls']));
    expect(estimates.map((e) => e.layer).sort()).toEqual(['jsHeap', 'otherNative', 'rss']);
    expect(renderReport(buildReport(samples, versions))).not.toMatch(/, tcp|OpenSSL live bytes,|kernel socket memory,/);
  });

  it('says what it means when native in use per connection exceeds RSS per connection', () => {
    // 96.4 KiB counted in use against 58 KiB resident per connection, as seen in issue 11.
    const samples = Array.from({ length: 40 }, (_, i) => {
      const tls = i * 50;
      return makeSample(i, { tls, opensslLive: 0, external: 2e6, nativeAllocated: 5e6 + 96.4 * 1024 * tls, rss: 60e6 + 58 * 1024 * tls + 50_000 * noise(i) });
    });
    const estimates = perConnection(samples, ['rss', 'otherNative']);
    const other = estimates.find((e) => e.layer === 'otherNative')!;
    expect(other.note).toMatch(/other native in use per connection \(96\.4 KiB\) exceeds RSS per connection \(58\.0 KiB\).*allocated-but-untouched/);
    expect(estimates.find((e) => e.layer === 'rss')!.note).toBeUndefined();
    expect(renderReport(buildReport(samples, versions))).toMatch(/note: other native in use per connection/);
  });
});

describe('leakTrends', () => {
  it('names OpenSSL growing while connections stay flat (the netty-tcnative shape)', () => {
    const samples = Array.from({ length: 120 }, (_, i) => makeSample(i * 30, { tls: 500 + (i % 5), opensslLive: 20e6 + 100_000 * i + 30_000 * noise(i) }));
    const trends = leakTrends(samples);
    expect(trends.map((t) => t.layer)).toEqual(['openssl']);
    expect(trends[0].bytesPerHour).toBeGreaterThan(0.9 * 100_000 * 120);
    expect(trends[0].bytesPerHour).toBeLessThan(1.1 * 100_000 * 120);
  });

  it('names a steady climb of an exact layer (OpenSSL live bytes) within 30 s at a flat connection count', () => {
    // 10 flat minutes, then OpenSSL live bytes climb 1 MiB/s with 500 connections open, sampled every second.
    const flat = Array.from({ length: 600 }, (_, i) => makeSample(i, { tls: 500 + (i % 3), opensslLive: 8e6 + 20_000 * noise(i) }));
    const climb = (seconds: number) =>
      Array.from({ length: seconds }, (_, i) => makeSample(600 + i, { tls: 500 + (i % 3), opensslLive: 8e6 + MiB * (i + 1) + 20_000 * noise(i) }));
    const firstAt = [5, 10, 15, 20, 25, 30].find((seconds) => leakTrends([...flat, ...climb(seconds)]).some((t) => t.layer === 'openssl'));
    expect(firstAt).toBeDefined();
    expect(firstAt!).toBeLessThanOrEqual(30);
    const report = buildReport([...flat, ...climb(30)], versions);
    const finding = report.findings.find((f) => f.kind === 'leak')!;
    expect(finding.layer).toBe('openssl');
    expect(finding.summary).toMatch(/OpenSSL live bytes \(an exact count\) grew .* in \d+ s .*a steady climb/);
    // The same climb on a noisy layer (allocator in use) is not named in seconds: GC and caching look like that.
    const noisy = [...flat, ...climb(30)].map((sample) => ({ ...sample, opensslLive: 8e6, nativeAllocated: 5e6 + (sample.opensslLive! - 8e6) }));
    expect(leakTrends(noisy)).toEqual([]);
  });

  it('raises the severity as an exact-layer climb goes on', () => {
    const run = (seconds: number, bytesPerSecond: number) =>
      buildReport(
        Array.from({ length: seconds }, (_, i) => makeSample(i, { tls: 200, opensslLive: 4e6 + bytesPerSecond * i + 5_000 * noise(i) })),
        versions,
      ).findings.find((f) => f.kind === 'leak')?.severity;
    expect(run(25, 300_000)).toBe('info'); // ~7 MiB in 25 s
    expect(run(60, 400_000)).toBe('warning'); // ~23 MiB in a minute
    expect(run(200, 500_000)).toBe('critical'); // ~95 MiB
  });

  it('stays quiet on an exact layer that climbs and falls back at a flat count, and on healthy churn', () => {
    // A sawtooth: contexts that live until a GC frees them every 15 s.
    const sawtooth = Array.from({ length: 120 }, (_, i) => makeSample(i, { tls: 300, opensslLive: 5e6 + 600_000 * (i % 15) }));
    expect(leakTrends(sawtooth)).toEqual([]);
    // Churn: connections closed and reopened, OpenSSL following them exactly.
    const churn = Array.from({ length: 120 }, (_, i) => {
      const tls = i % 6 < 3 ? 300 : 0;
      return makeSample(i, { tls, opensslLive: 1e6 + 18_000 * tls + 10_000 * noise(i) });
    });
    expect(leakTrends(churn)).toEqual([]);
  });

  it('stays quiet when memory follows connections up and down', () => {
    const samples = Array.from({ length: 200 }, (_, i) => {
      const tls = Math.round(1000 * Math.abs(Math.sin(i / 15)));
      return makeSample(i, { tls, opensslLive: 1e6 + 14_000 * tls, nativeAllocated: 5e6 + 20_000 * tls, heapUsed: 8e6 + 3_000 * tls + 500_000 * noise(i) });
    });
    expect(leakTrends(samples)).toEqual([]);
  });
});

describe('retentionAfterSpike', () => {
  it('splits what stays after a spike into V8 heap, releasable native and the rest, summing to what RSS retained', () => {
    const samples = [
      ...Array.from({ length: 5 }, (_, i) => makeSample(i, { tls: 0, rss: 60 * MiB, nativeFree: 1 * MiB, heapUsed: 6 * MiB, heapPhysical: 10 * MiB })),
      ...Array.from({ length: 5 }, (_, i) => makeSample(5 + i, { tls: 5000, rss: 260 * MiB, nativeFree: 5 * MiB, heapUsed: 25 * MiB, heapPhysical: 30 * MiB })),
      ...Array.from({ length: 5 }, (_, i) => makeSample(10 + i, { tls: 0, rss: 180 * MiB, nativeFree: 90 * MiB, heapUsed: 20 * MiB, heapPhysical: 28 * MiB })),
    ];
    const retention = retentionAfterSpike(samples)!;
    expect(retention.peakConnections).toBe(5000);
    expect(retention.retainedBytes).toBe(120 * MiB);
    // V8: resident heap now (28) − heap used before the spike (6): what a heap-shrinking GC leaves is the live heap.
    expect(retention.split).toEqual({ jsHeap: 22 * MiB, nativeFree: 89 * MiB, other: 9 * MiB });
    expect(retention.methods.nativeFree).toMatch(/RssAnon/);
    const report = buildReport(samples, versions);
    expect(report.findings.map((f) => [f.kind, f.layer])).toEqual([['retention', 'nativeFree']]);
    expect(renderReport(report)).toMatch(
      /retention \(nativeFree\): After a spike to 5000 connections.*22\.0 MiB V8 heap.*89\.0 MiB free native.*9\.0 MiB other/,
    );
  });

  it('takes the V8 part first, so a free count larger than what is left cannot crowd it out (the issue-11 case)', () => {
    // Measured shape: JS heap 13.3 → 59.5 MiB resident, an allocator free count far above what RSS retained.
    const samples = [
      ...Array.from({ length: 4 }, (_, i) => makeSample(i, { tls: 0, rss: 70 * MiB, nativeFree: 2 * MiB, heapUsed: 11 * MiB, heapPhysical: 13.3 * MiB })),
      ...Array.from({ length: 4 }, (_, i) => makeSample(4 + i, { tls: 5000, rss: 330 * MiB, nativeFree: 5 * MiB, heapUsed: 50 * MiB, heapPhysical: 61 * MiB })),
      ...Array.from({ length: 4 }, (_, i) =>
        makeSample(8 + i, { tls: 0, rss: 200 * MiB, nativeFree: 128 * MiB, heapUsed: 30 * MiB, heapPhysical: 59.5 * MiB }),
      ),
    ];
    const { split, retainedBytes } = retentionAfterSpike(samples)!;
    expect(split.jsHeap).toBeCloseTo(48.5 * MiB, -3);
    expect(split.nativeFree).toBeCloseTo(retainedBytes - split.jsHeap, -3);
    expect(split.jsHeap + split.nativeFree! + split.other).toBeCloseTo(retainedBytes, -3);
  });

  it('reports nothing for a spike whose memory went back', () => {
    const samples = [0, 0, 0, 3000, 3000, 0, 0, 0].map((tls, i) => makeSample(i, { tls, rss: 60 * MiB + tls * 30_000 }));
    expect(buildReport(samples, versions).findings).toEqual([]);
  });
});

describe('residentFree', () => {
  it("caps an allocator's free count at the anonymous RSS nothing else explains", () => {
    // glibc keeps trimmed pages in its free lists: 572 MB counted free at RSS 86 MiB (seen at 5000 connections).
    const figures = { rssAnon: 50 * MiB, heapPhysical: 12 * MiB, external: 2 * MiB, nativeAllocated: 20 * MiB };
    expect(residentFree(572e6, figures)).toBe(18 * MiB);
    expect(residentFree(3 * MiB, figures)).toBe(3 * MiB);
    // What a release keeps (tcmalloc's caches, jemalloc's slab fragmentation, metadata) is not releasable.
    expect(residentFree(572e6, { ...figures, unreleasable: 10 * MiB })).toBe(8 * MiB);
    expect(residentFree(572e6, { ...figures, nativeAllocated: 60 * MiB })).toBe(0);
    expect(residentFree(null, figures)).toBeNull();
  });
});
describe('socket findings', () => {
  it('flags idle connections, CLOSE_WAIT pile-ups and fd headroom with evidence', () => {
    const sockets = makeSockets({
      byState: { ESTABLISHED: 300, CLOSE_WAIT: 120 },
      closeWaitByPort: { '9000': 100, '9001': 20 },
      idle: { count: 250, kernelBytes: 2 * MiB, thresholdMs: 60_000 },
      fds: { open: 19_500, limit: 20_000 },
    });
    const report = buildReport([makeSample(0, { sockets })], versions);
    expect(report.findings.map((f) => `${f.kind}:${f.severity}`).sort()).toEqual(['close-wait:critical', 'fd-headroom:critical', 'idle-connections:warning']);
    const closeWait = report.findings.find((f) => f.kind === 'close-wait')!;
    expect(closeWait.evidence).toMatchObject({ closeWait: 120, 'port 9000': 100 });
  });
});

describe('AutoReleasePolicy', () => {
  it('releases once when a spike has ended and memory looks releasable, then rate-limits', () => {
    const policy = new AutoReleasePolicy({ minIntervalMs: 30_000 });
    const counts = [0, 2000, 5000, 5000, 2500, 0, 0, 0];
    const decisions = counts.map((tls, i, all) => {
      // RSS stays up after the spike (retention); free native memory shows once connections are gone.
      const sample = makeSample(i, { tls, rss: i === 0 ? 60 * MiB : 200 * MiB, nativeFree: tls === 0 && i > 3 ? 100 * MiB : MiB });
      const previous = i ? makeSample(i - 1, { tls: all[i - 1] }) : undefined;
      const decision = policy.consider(sample, previous);
      if (decision.release) policy.released(sample, 62 * MiB);
      return decision.release;
    });
    // Index 5 is still falling (2500 → 0); the first quiet sample after the fall releases.
    expect(decisions).toEqual([false, false, false, false, false, false, true, false]);
  });

  it('never expects more than RSS gained since before the spike, however large the free count', () => {
    const policy = new AutoReleasePolicy();
    policy.consider(makeSample(0, { tls: 0, rss: 60 * MiB }), undefined);
    policy.consider(makeSample(1, { tls: 3000, rss: 250 * MiB }), makeSample(0, { tls: 0, rss: 60 * MiB }));
    const decision = policy.consider(makeSample(3, { tls: 0, rss: 140 * MiB, nativeFree: 500 * MiB }), makeSample(2, { tls: 0 }));
    expect(decision.release).toBe(true);
    expect(decision.release && decision.expectedBytes).toBe(80 * MiB);
    expect(decision.reason).toMatch(
      /80\.0 MiB looks releasable \(resident free native 500\.0 MiB \+ V8 heap grown 0\.0 MiB, at most RSS above its pre-spike level 80\.0 MiB\)/,
    );
  });

  it('waits while the event loop is busy', () => {
    const policy = new AutoReleasePolicy();
    policy.consider(makeSample(0, { tls: 1000 }), undefined);
    const decision = policy.consider(makeSample(1, { tls: 0, nativeFree: 200 * MiB, eventLoopDelayMaxMs: 500 }), makeSample(0, { tls: 0 }));
    expect(decision).toEqual({ release: false, reason: 'the event loop is busy' });
  });
});

describe('paced release options', () => {
  it('autoRelease pace: true is 64 MiB/s; unpaced passes releaseToOS() defaults', () => {
    expect(new AutoReleasePolicy().releaseOptions).toEqual({});
    expect(new AutoReleasePolicy({ pace: true }).releaseOptions).toEqual({ pace: { bytesPerSecond: DEFAULT_PACE_BYTES_PER_SECOND } });
    expect(new AutoReleasePolicy({ pace: { bytesPerSecond: 8 * MiB } }).releaseOptions.pace).toEqual({ bytesPerSecond: 8 * MiB });
  });

  it('refuses a pace it cannot keep or read, with coded errors', async () => {
    expect(() => new AutoReleasePolicy({ pace: { bytesPerSecond: 1000 } })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => new AutoReleasePolicy({ pace: 'fast' as unknown as boolean })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    await expect(releaseToOS({ pace: { bytesPerSecond: NaN } })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(releaseToOS({ pace: { bytesPerSecond: 4096 } })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(releaseToOS({ pace: 'slow' as unknown as false })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  });

  it('sizes the threadpool rendezvous as libuv sizes its pool', () => {
    expect(threadpoolSize({})).toBe(4);
    expect(threadpoolSize({ UV_THREADPOOL_SIZE: '16' })).toBe(16);
    expect(threadpoolSize({ UV_THREADPOOL_SIZE: '5000' })).toBe(1024);
    expect(threadpoolSize({ UV_THREADPOOL_SIZE: 'x' })).toBe(4);
  });
});

describe('RingBuffer', () => {
  it('keeps the newest `capacity` items in order', () => {
    const ring = new RingBuffer<number>(3);
    for (let i = 0; i < 7; i++) ring.push(i);
    expect(ring.toArray()).toEqual([4, 5, 6]);
    expect(ring.last()).toBe(6);
  });
});

describe('createProbe with a fake native seam', () => {
  /** Sources whose figures a test sets: the allocator counts free pages glibc already returned. */
  function fakeSources(state: { connections: number; rss: number; freeRaw: number; heapPhysical: number }) {
    let snapshots = 0;
    const releaseOptions: unknown[] = [];
    const sources: ProbeSources = {
      memory: () => ({
        rss: state.rss,
        rssAnon: state.rss - 40 * MiB,
        heapUsed: 8 * MiB,
        heapTotal: 20 * MiB,
        heapPhysical: state.heapPhysical,
        external: 2 * MiB,
        arrayBuffers: MiB,
      }),
      allocator: async () => ({ allocated: 10 * MiB, free: state.freeRaw, releasable: state.freeRaw }),
      opensslLive: () => null,
      connections: () => ({ tls: { server: state.connections, client: 0 }, tcp: { server: 0, client: 0 } }),
      sockets: () => {
        snapshots++;
        return Promise.resolve(makeSockets({ takenAt: Date.now() + snapshots }));
      },
      release: async (options) => {
        releaseOptions.push(options);
        const rssBeforeBytes = state.rss;
        state.rss -= 60 * MiB;
        state.heapPhysical = 10 * MiB;
        const stats = {
          allocator: 'glibc' as const,
          allocatedBytes: 10 * MiB,
          freeBytes: state.freeRaw,
          threadCacheBytes: null,
          residentBytes: null,
          mappedBytes: null,
          metadataBytes: null,
          raw: {},
        };
        return {
          allocator: 'glibc',
          method: 'malloc_trim(0)',
          durationMs: 4.4,
          cpuMs: 4,
          slices: 1,
          onThreadpool: true,
          allocatorSaysReleased: true,
          gc: {
            method: 'MemoryPressureNotification(kModerate)',
            fallbackReason: null,
            durationMs: 31.5,
            wallMs: 60,
            shrunkHeap: true,
            completed: true,
            releasedBytes: 20 * MiB,
          },
          rssBeforeBytes,
          rssAfterBytes: state.rss,
          releasedBytes: 60 * MiB,
          trimReleasedBytes: 40 * MiB,
          before: stats,
          after: stats,
          jsThread: {
            longestStallMs: 33.2,
            totalMs: 36.1,
            longestStallMsByStep: { gc: 33.2, trim: 1.1 },
            longestGcPauseMs: 30.2,
            loopDelay: { addedP99Ms: 1, p99Ms: 2, baselineP99Ms: 1, windowMs: 40, baselineWindowMs: 200, source: 'fake', note: null },
          },
          paced: null,
          threadpoolThreads: 4,
          threadpoolNote: null,
          note: null,
          wallMs: 70,
        };
      },
      allocatorName: () => 'glibc',
    };
    return { sources, snapshots: () => snapshots, releaseOptions };
  }

  it('keeps free native memory within RSS in every sample, the raw count under its own name', async () => {
    const state = { connections: 0, rss: 86 * MiB, freeRaw: 572e6, heapPhysical: 12 * MiB };
    const probe = createProbe({ sources: fakeSources(state).sources });
    const sample = await probe.sample();
    expect(sample.allocatorFreeRaw).toBe(572e6);
    // RssAnon 46 MiB − V8 heap 12 MiB − in use 10 MiB.
    expect(sample.nativeFree).toBe(24 * MiB);
    expect(probe.report().latest!.nativeFree!).toBeLessThanOrEqual(sample.rss);
    expect(probe.renderReport()).toMatch(/free native 24\.0 MiB resident; allocator's raw free count 545\.5 MiB \(not all resident\)/);
  });

  /** A spike to 3000 connections and back to 0, sampled, then time for the autoRelease it triggers. */
  async function spikeThenFall(probe: ReturnType<typeof createProbe>, state: { connections: number; rss: number; freeRaw: number; heapPhysical: number }) {
    await probe.sample();
    Object.assign(state, { connections: 3000, rss: 250 * MiB, heapPhysical: 40 * MiB });
    await probe.sample();
    Object.assign(state, { connections: 0, rss: 190 * MiB, freeRaw: 400 * MiB });
    await probe.sample();
    await probe.sample();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }

  it('puts what autoRelease did in report() and the text: when, why, bytes back, trim and GC time on the JS thread', async () => {
    const state = { connections: 0, rss: 60 * MiB, freeRaw: MiB, heapPhysical: 10 * MiB };
    const probe = createProbe({ sources: fakeSources(state).sources, autoRelease: { minIntervalMs: 1 } });
    await spikeThenFall(probe, state);
    const [record] = probe.report().releases;
    expect(record.result).toMatchObject({
      releasedBytes: 60 * MiB,
      trimReleasedBytes: 40 * MiB,
      trimMs: 4.4,
      onThreadpool: true,
      gc: { durationMs: 31.5, releasedBytes: 20 * MiB },
      jsThreadMs: 36.1,
      jsThread: { longestStallMs: 33.2, totalMs: 36.1 },
    });
    expect(record.expectedBytes).toBeLessThanOrEqual(130 * MiB);
    expect(record.reason).toMatch(/connections fell from 3000 to 0/);
    const text = probe.renderReport();
    expect(text).toMatch(
      /autoRelease \(1, 60\.0 MiB back in all\):\n {2}\d{4}-\d\d-\d\dT[\d:.]+Z connections fell from 3000 to 0; .* → 60\.0 MiB back \(40\.0 MiB by malloc_trim\(0\) in 4\.4 ms on the threadpool; heap-shrinking GC 31\.5 ms on the JS thread \(gave back 20\.0 MiB\)\); JS thread held 36\.1 ms in all, longest event-loop stall 33\.2 ms, loop p99 delay \+1\.0 ms \(2\.0 ms against 1\.0 ms before\)/,
    );
  });

  it('a paced autoRelease hands its pace to the release', async () => {
    const state = { connections: 0, rss: 60 * MiB, freeRaw: MiB, heapPhysical: 10 * MiB };
    const fake = fakeSources(state);
    const probe = createProbe({ sources: fake.sources, autoRelease: { minIntervalMs: 1, pace: { bytesPerSecond: 8 * MiB } } });
    await spikeThenFall(probe, state);
    expect(fake.releaseOptions).toEqual([{ pace: { bytesPerSecond: 8 * MiB } }]);
  });

  it('takes a socket snapshot sooner when connections have moved, so kernel memory has readings at varied counts', async () => {
    vi.useFakeTimers();
    const state = { connections: 0, rss: 60 * MiB, freeRaw: MiB, heapPhysical: 10 * MiB };
    const fake = fakeSources(state);
    const probe = createProbe({ sources: fake.sources, intervalMs: 1, socketIntervalMs: 5000 });
    await probe.sample();
    expect(fake.snapshots()).toBe(1);
    state.connections = 500;
    await probe.sample(); // moved, but a second has not passed: the JS thread is spared
    expect(fake.snapshots()).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    await probe.sample(); // moved, a second later: long before the 5 s cadence
    expect(fake.snapshots()).toBe(2);
    await vi.advanceTimersByTimeAsync(1000);
    await probe.sample(); // nothing moved since: not due
    expect(fake.snapshots()).toBe(2);
    vi.useRealTimers();
  });
});
