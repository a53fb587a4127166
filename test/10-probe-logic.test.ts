import { describe, expect, it } from 'vitest';
import { AutoReleasePolicy } from '../src/probe/auto-release';
import { leakTrends, perConnection, retentionAfterSpike } from '../src/probe/correlate';
import { robustFit } from '../src/probe/regression';
import { buildReport, renderReport, type Versions } from '../src/probe/report';
import { RingBuffer } from '../src/probe/ring-buffer';
import { makeSample, makeSockets, noise } from './helpers/samples';

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
    expect(Math.abs(get('openssl', 'tcp').bytesPerConnection!)).toBeLessThan(50);
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

describe('leakTrends', () => {
  it('names OpenSSL growing while connections stay flat (the netty-tcnative shape)', () => {
    const samples = Array.from({ length: 120 }, (_, i) => makeSample(i * 30, { tls: 500 + (i % 5), opensslLive: 20e6 + 100_000 * i + 30_000 * noise(i) }));
    const trends = leakTrends(samples);
    expect(trends.map((t) => t.layer)).toEqual(['openssl']);
    expect(trends[0].bytesPerHour).toBeGreaterThan(0.9 * 100_000 * 120);
    expect(trends[0].bytesPerHour).toBeLessThan(1.1 * 100_000 * 120);
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
  it('splits what stays after a spike into releasable native, V8 heap and the rest', () => {
    const samples = [
      ...Array.from({ length: 5 }, (_, i) => makeSample(i, { tls: 0, rss: 60 * MiB, nativeFree: 1 * MiB, heapTotal: 10 * MiB })),
      ...Array.from({ length: 5 }, (_, i) => makeSample(5 + i, { tls: 5000, rss: 260 * MiB, nativeFree: 5 * MiB, heapTotal: 30 * MiB })),
      ...Array.from({ length: 5 }, (_, i) => makeSample(10 + i, { tls: 0, rss: 180 * MiB, nativeFree: 90 * MiB, heapTotal: 28 * MiB })),
    ];
    const retention = retentionAfterSpike(samples)!;
    expect(retention.peakConnections).toBe(5000);
    expect(retention.retainedBytes).toBe(120 * MiB);
    expect(retention.split).toEqual({ nativeFree: 89 * MiB, jsHeap: 18 * MiB, other: 13 * MiB });
    const report = buildReport(samples, versions);
    expect(report.findings.map((f) => [f.kind, f.layer])).toEqual([['retention', 'nativeFree']]);
    expect(renderReport(report)).toMatch(/retention \(nativeFree\): After a spike to 5000 connections/);
  });

  it('reports nothing for a spike whose memory went back', () => {
    const samples = [0, 0, 0, 3000, 3000, 0, 0, 0].map((tls, i) => makeSample(i, { tls, rss: 60 * MiB + tls * 30_000 }));
    expect(buildReport(samples, versions).findings).toEqual([]);
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
      const sample = makeSample(i, { tls, rss: 60 * MiB + tls * 30_000, nativeFree: tls === 0 && i > 3 ? 100 * MiB : MiB });
      const previous = i ? makeSample(i - 1, { tls: all[i - 1] }) : undefined;
      const decision = policy.consider(sample, previous);
      if (decision.release) policy.released(sample, 62 * MiB);
      return decision.release;
    });
    // Index 5 is still falling (2500 → 0); the first quiet sample after the fall releases.
    expect(decisions).toEqual([false, false, false, false, false, false, true, false]);
  });

  it('waits while the event loop is busy', () => {
    const policy = new AutoReleasePolicy();
    policy.consider(makeSample(0, { tls: 1000 }), undefined);
    const decision = policy.consider(makeSample(1, { tls: 0, nativeFree: 200 * MiB, eventLoopDelayMaxMs: 500 }), makeSample(0, { tls: 0 }));
    expect(decision).toEqual({ release: false, reason: 'the event loop is busy' });
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
