/**
 * The limit-aware autoRelease (memoryLimit: 'cgroup' | bytes), on synthetic samples: when the
 * working set nears the limit it releases what looks releasable, paced, and says why; below the
 * share, or with nothing releasable, or with no limit to read, it does not.
 */
import { describe, expect, it } from 'vitest';
import {
  AutoReleasePolicy,
  considerMemoryLimit,
  DEFAULT_PACE_BYTES_PER_SECOND,
  LOOP_WATCH_MARGIN,
  MEMORY_LIMIT_INTERVAL_MS,
  releaseRecord,
} from '../../src/probe/auto-release';
import { createProbe } from '../../src/probe/probe';
import { renderReport } from '../../src/probe/report';
import type { ContainerReading, Sample } from '../../src/probe/sample';
import type { ProbeSources } from '../../src/probe/sources';
import type { ReleaseResult } from '../../src/memory/release';
import type { LoopWatch } from '../../src/memory/loop-watch';
import { makeSample } from '../helpers/samples';

const MiB = 1024 * 1024;
const LIMIT = 512 * MiB;
const group = (workingSet: number, limit: number | null = LIMIT): ContainerReading => ({
  limitBytes: limit,
  usageBytes: workingSet + 8 * MiB,
  workingSetBytes: workingSet,
  limitSource: limit === null ? null : 'memory.limit_in_bytes',
});
/** Steady connections (no spike): only the limit can call for a release. */
const at = (i: number, workingSet: number, fields: Partial<Sample> = {}) =>
  makeSample(i, {
    tls: 1000,
    rss: workingSet - 20 * MiB,
    container: group(workingSet),
    heapUsed: 40 * MiB,
    heapPhysical: 50 * MiB,
    nativeFree: 30 * MiB,
    ...fields,
  });
const policyFor = { minReleasableBytes: 16 * MiB, maxEventLoopDelayMs: 100, sinceReleaseMs: Infinity, intervalMs: MEMORY_LIMIT_INTERVAL_MS };

describe('considerMemoryLimit', () => {
  it("releases past 90% of the cgroup's limit: free native plus unused V8 heap, with the limit and working set in the decision", () => {
    const decision = considerMemoryLimit(at(0, 470 * MiB), { limit: 'cgroup', share: 0.9 }, policyFor);
    expect(decision).toMatchObject({
      release: true,
      trigger: 'memory-limit',
      expectedBytes: 40 * MiB,
      memoryLimit: { limitBytes: LIMIT, limitSource: 'memory.limit_in_bytes', measuredBytes: 470 * MiB, measure: 'working set', threshold: 0.9 },
    });
    expect(decision!.reason).toMatch(
      /^working set 470\.0 MiB is 92% of the 512\.0 MiB limit \(memory\.limit_in_bytes\), past the 90% release share: releasing before the kernel reclaims or OOM-kills; 40\.0 MiB looks releasable \(resident free native 30\.0 MiB \+ V8 heap resident but unused 10\.0 MiB\)$/,
    );
  });

  it('says nothing below the share, so the spike policy speaks', () => {
    expect(considerMemoryLimit(at(0, 400 * MiB), { limit: 'cgroup', share: 0.9 }, policyFor)).toBeNull();
    expect(considerMemoryLimit(at(0, 400 * MiB), { limit: 'cgroup', share: 0.75 }, policyFor)?.release).toBe(true);
  });

  it('declines, saying why: nothing releasable, a busy loop, a recent release, no limit, no cgroup', () => {
    const near = { limit: 'cgroup' as const, share: 0.9 };
    expect(considerMemoryLimit(at(0, 480 * MiB, { nativeFree: 2 * MiB, heapPhysical: 41 * MiB }), near, policyFor)).toEqual({
      release: false,
      reason: expect.stringMatching(/only 3\.0 MiB looks releasable .*: what holds it is in use$/),
    });
    expect(considerMemoryLimit(at(0, 480 * MiB, { eventLoopDelayMaxMs: 300 }), near, policyFor)?.reason).toMatch(/the event loop is busy$/);
    expect(considerMemoryLimit(at(0, 480 * MiB), near, { ...policyFor, sinceReleaseMs: 2000 })?.reason).toMatch(/released 2\.0 s ago$/);
    expect(considerMemoryLimit(at(0, 480 * MiB, { container: group(480 * MiB, null) }), near, policyFor)).toEqual({
      release: false,
      reason: 'memoryLimit "cgroup": the memory cgroup sets no limit',
    });
    expect(considerMemoryLimit(at(0, 480 * MiB, { container: null }), near, policyFor)).toEqual({
      release: false,
      reason: 'memoryLimit "cgroup": this process is in no readable memory cgroup',
    });
  });

  it('a byte limit: held against the working set in a cgroup, against RSS outside one', () => {
    const inGroup = considerMemoryLimit(at(0, 300 * MiB), { limit: 320 * MiB, share: 0.9 }, policyFor);
    expect(inGroup).toMatchObject({
      release: true,
      memoryLimit: { limitBytes: 320 * MiB, limitSource: 'autoRelease.memoryLimit', measure: 'working set', measuredBytes: 300 * MiB },
    });
    const outside = considerMemoryLimit(at(0, 300 * MiB, { container: null, rss: 310 * MiB }), { limit: 320 * MiB, share: 0.9 }, policyFor);
    expect(outside).toMatchObject({ release: true, memoryLimit: { measure: 'RSS', measuredBytes: 310 * MiB } });
    expect(outside!.reason).toMatch(/^RSS 310\.0 MiB is 97% of the 320\.0 MiB limit \(autoRelease\.memoryLimit\)/);
  });
});

describe('AutoReleasePolicy with memoryLimit', () => {
  it('releases as the working set nears the limit with connections steady, at most every 5 s, paced by default', () => {
    const policy = new AutoReleasePolicy({ memoryLimit: 'cgroup' });
    expect(policy.releaseOptions).toEqual({ pace: { bytesPerSecond: DEFAULT_PACE_BYTES_PER_SECOND } });
    const workingSets = [300, 400, 440, 465, 470, 468, 470, 472, 470, 466].map((m) => m * MiB);
    const released: number[] = [];
    workingSets.forEach((ws, i) => {
      const sample = at(i, ws);
      const decision = policy.consider(sample, i ? at(i - 1, workingSets[i - 1]) : undefined);
      if (decision.release) {
        released.push(i);
        policy.released(sample, sample.rss - 30 * MiB);
      }
    });
    // 1 s samples: the first past 460.8 MiB (90%), then again 5 s later.
    expect(released).toEqual([3, 8]);
  });

  it('backs off when a release near the limit gave back less than the minimum (memory in use), and recovers after one that did', () => {
    const policy = new AutoReleasePolicy({ memoryLimit: 'cgroup' });
    const times: number[] = [];
    for (let i = 0; i < 80; i++) {
      const sample = at(i, 470 * MiB);
      if (!policy.consider(sample, undefined).release) continue;
      times.push(i);
      // The first three give back 1 MiB each; then 40 MiB.
      policy.released(sample, sample.rss - (times.length <= 3 ? 1 : 40) * MiB);
    }
    // After each release that gave back 1 MiB the wait doubles (10, 20, then minIntervalMs' 30 s); after the one that gave back 40 MiB it is 5 s again.
    expect(times.slice(0, 5)).toEqual([0, 10, 30, 60, 65]);
  });

  it(`is near the limit from ${LOOP_WATCH_MARGIN * 100}% below the release share, and never without a limit to read`, () => {
    const policy = new AutoReleasePolicy({ memoryLimit: 'cgroup' });
    expect(policy.watchesMemoryLimit).toBe(true);
    expect(policy.nearMemoryLimit(at(0, 0.79 * LIMIT))).toBe(false);
    expect(policy.nearMemoryLimit(at(0, 0.81 * LIMIT))).toBe(true);
    expect(policy.nearMemoryLimit(at(0, 0.95 * LIMIT))).toBe(true);
    expect(policy.nearMemoryLimit(at(0, 0.95 * LIMIT, { container: null }))).toBe(false);
    expect(new AutoReleasePolicy().watchesMemoryLimit).toBe(false);
    expect(new AutoReleasePolicy().nearMemoryLimit(at(0, 0.95 * LIMIT))).toBe(false);
  });

  it('without memoryLimit the same samples release nothing, and pace stays off', () => {
    const policy = new AutoReleasePolicy();
    expect(policy.releaseOptions).toEqual({});
    expect([300, 470, 480].map((m, i) => policy.consider(at(i, m * MiB), undefined).release)).toEqual([false, false, false]);
  });

  it('an explicit pace: false keeps a limit-aware release unpaced; bad limits are coded errors', () => {
    expect(new AutoReleasePolicy({ memoryLimit: 256 * MiB, pace: false }).releaseOptions).toEqual({});
    expect(() => new AutoReleasePolicy({ memoryLimit: 'host' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => new AutoReleasePolicy({ memoryLimit: 1000 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => new AutoReleasePolicy({ memoryLimit: 'cgroup', memoryLimitShare: 1.5 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
});

describe('the probe records a limit-driven release as such', () => {
  it('the probe watches the loop only near the limit, and hands the running watch to a limit-driven release', async () => {
    const base = at(0, 470 * MiB);
    let reading = group(300 * MiB);
    const handed: Array<{ watch: LoopWatch | undefined; running: boolean }> = [];
    const sources: ProbeSources = {
      memory: () => ({ rss: base.rss, heapUsed: base.heapUsed, heapTotal: base.heapTotal, external: base.external, arrayBuffers: base.arrayBuffers }),
      allocator: async () => ({ allocated: 100 * MiB, free: 30 * MiB }),
      opensslLive: () => null,
      connections: () => base.connections,
      sockets: () => null,
      release: async (_options, recent) => {
        handed.push({ watch: recent, running: recent?.running ?? false });
        return { rssAfterBytes: base.rss - 30 * MiB, jsThread: { totalMs: 1 } } as unknown as ReleaseResult;
      },
      allocatorName: () => 'glibc',
      container: async () => reading,
    };
    const probe = createProbe({ sources, autoRelease: { memoryLimit: 'cgroup', minIntervalMs: 1 }, containerEvents: false });
    await probe.sample(); // 59% of the limit: no watch, no release
    reading = group(440 * MiB); // 86%: near, not past
    await probe.sample();
    expect(handed).toEqual([]);
    reading = group(470 * MiB); // 92%: past the share
    await probe.sample();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(handed).toHaveLength(1);
    expect(handed[0].running).toBe(true);
    reading = group(300 * MiB);
    await probe.sample();
    expect(handed[0].watch!.running).toBe(false);
    probe.stop();
  });

  it('record and text report name the trigger, the limit and the working set', async () => {
    const result = {
      allocator: 'glibc',
      method: 'malloc_trim(0)',
      releasedBytes: 36 * MiB,
      trimReleasedBytes: 30 * MiB,
      durationMs: 3,
      onThreadpool: true,
      gc: { durationMs: 12, releasedBytes: 6 * MiB },
      jsThread: { totalMs: 12, longestStallMs: 12 },
      wallMs: 600,
      paced: { bytesPerSecond: DEFAULT_PACE_BYTES_PER_SECOND, waitedMs: 500 },
      rssBeforeBytes: 450 * MiB,
      rssAfterBytes: 414 * MiB,
    } as unknown as ReleaseResult;
    let reading = group(470 * MiB);
    const base = at(0, 470 * MiB);
    let asked: unknown;
    const sources: ProbeSources = {
      memory: () => ({
        rss: base.rss,
        heapUsed: base.heapUsed,
        heapTotal: base.heapTotal,
        heapPhysical: base.heapPhysical,
        external: base.external,
        arrayBuffers: base.arrayBuffers,
      }),
      allocator: async () => ({ allocated: 100 * MiB, free: 30 * MiB }),
      rssAnon: async () => base.rss - 10 * MiB,
      opensslLive: () => null,
      connections: () => base.connections,
      sockets: () => null,
      release: async (options) => {
        asked = options;
        return result;
      },
      allocatorName: () => 'glibc',
      container: async () => reading,
    };
    const probe = createProbe({ sources, autoRelease: { memoryLimit: 'cgroup' }, containerEvents: false });
    await probe.sample();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const [record] = probe.releases();
    expect(asked).toEqual({ pace: { bytesPerSecond: DEFAULT_PACE_BYTES_PER_SECOND } });
    expect(record).toMatchObject({
      trigger: 'memory-limit',
      memoryLimit: { limitBytes: LIMIT, measure: 'working set', measuredBytes: 470 * MiB },
      result: { releasedBytes: 36 * MiB },
    });
    expect(renderReport(probe.report())).toMatch(/working set 470\.0 MiB is 92% of the 512\.0 MiB limit \(memory\.limit_in_bytes\).* → 36\.0 MiB back/);
    reading = group(300 * MiB);
    expect(releaseRecord(1, { reason: 'x', expectedBytes: 1 }, result)).not.toHaveProperty('trigger');
  });
});
