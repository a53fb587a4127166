import { describe, expect, it } from 'vitest';
import { createProbe } from '../../src/probe/probe';
import { buildReport } from '../../src/probe/report';
import { headroomFindings } from '../../src/probe/headroom';
import type { ContainerReading, Sample } from '../../src/probe/sample';
import type { ProbeSources } from '../../src/probe/sources';
import { makeSample, noise } from '../helpers/samples';

const MiB = 1024 * 1024;
const LIMIT = 512 * MiB;
const versions = { node: '20', v8: '11', openssl: '3', uv: '1', kernel: '6', allocator: 'glibc' };

/**
 * A service whose TLS connections each cost `perConnection` bytes of external memory (session
 * buffers) and of working set, 10 s apart, from 60 MiB at no connection.
 */
function climbing(steps: number, perConnection: number, step = 200): Sample[] {
  return Array.from({ length: steps }, (_, i) => {
    const tls = i * step;
    const external = 2e6 + tls * perConnection;
    const workingSet = 60 * MiB + tls * perConnection + noise(i) * 64 * 1024;
    return makeSample(i, {
      tls,
      time: 1_700_000_000_000 + i * 10_000,
      external,
      rss: 50e6 + tls * perConnection,
      container: { limitBytes: LIMIT, usageBytes: workingSet + 4 * MiB, workingSetBytes: workingSet, limitSource: 'memory.limit_in_bytes' },
    });
  });
}

describe('memory-headroom finding', () => {
  it('fires past 80% of the limit, names the layer that grew and forecasts the connections that fit', () => {
    const perConnection = 150 * 1024;
    const samples = climbing(14, perConnection); // 2600 connections: ~441 MiB of 512
    const [finding] = headroomFindings(samples, 0.8);
    expect(finding.kind).toBe('memory-headroom');
    if (finding.kind !== 'memory-headroom') throw new Error('narrowing');
    const e = finding.evidence;
    const ws = samples[samples.length - 1].container!.workingSetBytes!;
    expect(e.share).toBeCloseTo(ws / LIMIT, 3);
    expect(e.grewMost).toBe('external');
    if ('declined' in e.forecast) throw new Error(e.forecast.declined);
    expect(e.forecast.kind).toBe('tls');
    expect(e.forecast.bytesPerConnection / perConnection).toBeCloseTo(1, 1);
    // What fits, worked out from the samples' own construction, not from the finding's arithmetic.
    const fits = (LIMIT - ws) / perConnection;
    expect(Math.abs(e.forecast.connectionsThatFit - fits) / fits).toBeLessThan(0.05);
    expect(e.timeToLimitMs).toBeGreaterThan(0);
    expect(finding.summary).toMatch(/more fit beside the 2600 open/);
    expect(finding.severity).toBe('warning');
    expect(buildReport(samples, versions).findings.map((f) => f.kind)).toContain('memory-headroom');
  });

  it('an allocator count that grew past what RssAnon shows is capped to resident growth, so Buffers still lead', () => {
    const perConnection = 150 * 1024;
    // The allocator hands out 1.5× the session bytes again, untouched: RssAnon grows by the sessions only.
    const samples = climbing(14, perConnection).map((s, i) => ({
      ...s,
      nativeAllocated: 5e6 + s.external + i * 200 * 1.5 * perConnection,
      rssAnon: 20e6 + i * 200 * perConnection * 1.1,
    }));
    const [finding] = headroomFindings(samples, 0.8);
    if (finding?.kind !== 'memory-headroom') throw new Error('no finding');
    const g = finding.evidence.growth;
    expect(finding.evidence.grewMost).toBe('external');
    expect(g.otherNative!).toBeLessThanOrEqual(samples[13].rssAnon - samples[0].rssAnon - g.external! - Math.max(0, g.jsHeap!));
  });

  it('stays quiet below the threshold, outside a limited cgroup, and with no cgroup readings', () => {
    const samples = climbing(14, 150 * 1024);
    expect(headroomFindings(samples, 0.9)).toEqual([]);
    const unlimited = samples.map((s) => ({ ...s, container: { ...s.container!, limitBytes: null } }));
    expect(headroomFindings(unlimited, 0.8)).toEqual([]);
    expect(
      headroomFindings(
        samples.map(({ container: _, ...s }) => s as Sample),
        0.8,
      ),
    ).toEqual([]);
    expect(headroomFindings([], 0.8)).toEqual([]);
  });

  it('is critical past the midpoint between threshold and limit; declines a forecast with flat connections', () => {
    const flat = Array.from({ length: 8 }, (_, i) =>
      makeSample(i, { tls: 100, container: { limitBytes: LIMIT, usageBytes: 0.95 * LIMIT, workingSetBytes: 0.95 * LIMIT, limitSource: 'memory.max' } }),
    );
    const [finding] = headroomFindings(flat, 0.8);
    expect(finding.severity).toBe('critical');
    if (finding.kind !== 'memory-headroom') throw new Error('narrowing');
    expect(finding.evidence.forecast).toEqual({ declined: expect.stringMatching(/tls: tls connections varied by 0/) });
    expect(finding.summary).toMatch(/No per-connection forecast/);
  });

  it("the share is configurable through the probe's thresholds, and checked", () => {
    expect(() => createProbe({ thresholds: { memoryHeadroomShare: 1.5 } })).toThrow(/memoryHeadroomShare/);
    expect(() => createProbe({ thresholds: { memoryHeadroomShare: 0 } })).toThrow(/above 0 and at most 1/);
    const samples = climbing(14, 150 * 1024);
    expect(buildReport(samples, versions, { memoryHeadroomShare: 0.9 } as never).findings.map((f) => f.kind)).not.toContain('memory-headroom');
  });
});

describe('the probe samples the container', () => {
  const sources = (container: ProbeSources['container']): ProbeSources => ({
    memory: () => ({ rss: 100 * MiB, heapUsed: 10 * MiB, heapTotal: 20 * MiB, external: MiB, arrayBuffers: MiB }),
    allocator: async () => ({ allocated: 10 * MiB, free: MiB }),
    opensslLive: () => null,
    connections: () => null,
    sockets: () => null,
    release: () => Promise.reject(new Error('not in this test')),
    allocatorName: () => 'glibc',
    container,
  });

  it("keeps the source's reading in each sample; a failing read leaves null, never a thrown sample", async () => {
    const reading: ContainerReading = { limitBytes: LIMIT, usageBytes: 300 * MiB, workingSetBytes: 290 * MiB, limitSource: 'memory.max' };
    expect((await createProbe({ sources: sources(async () => reading) }).sample()).container).toEqual(reading);
    expect((await createProbe({ sources: sources(() => Promise.reject(new Error('EACCES'))) }).sample()).container).toBeNull();
    expect('container' in (await createProbe({ sources: sources(undefined) }).sample())).toBe(false);
  });
});
