import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ReleaseResult } from '../../src/memory/release';
import { createProbe } from '../../src/probe/probe';
import type { ProbeSources } from '../../src/probe/sources';
import { makeSockets } from '../helpers/samples';

const MiB = 1024 * 1024;

/** Sources whose figures a test moves, counting each call; release() and sockets() can be held open or made to fail. */
function fakeSources() {
  const state = { connections: 0, rss: 100 * MiB, free: 1 * MiB, heapPhysical: 20 * MiB, opensslLive: 0 as number | null };
  const calls = { memory: 0, sockets: 0, release: 0, trackOn: 0, trackOff: 0 };
  const control = {
    opensslSupport: true as true | string,
    trackThrows: null as Error | null,
    socketsSupported: true,
    socketsFail: false,
    releaseFail: false,
    /** Resolves the release in progress (held until called when set). */
    holdRelease: false,
    finishRelease: () => {},
  };
  const result = (): ReleaseResult => {
    const stats = {
      allocator: 'glibc' as const,
      allocatedBytes: 10 * MiB,
      freeBytes: state.free,
      threadCacheBytes: null,
      residentBytes: null,
      mappedBytes: null,
      metadataBytes: null,
      raw: {},
    };
    const before = state.rss;
    state.rss -= 50 * MiB;
    state.free = MiB;
    return {
      allocator: 'glibc',
      method: 'malloc_trim(0)',
      durationMs: 3,
      cpuMs: 3,
      slices: 1,
      onThreadpool: true,
      allocatorSaysReleased: true,
      gc: {
        method: 'MemoryPressureNotification(kModerate)',
        fallbackReason: null,
        durationMs: 2,
        wallMs: 40,
        shrunkHeap: true,
        completed: true,
        releasedBytes: 10 * MiB,
      },
      jsThread: {
        longestStallMs: 4,
        totalMs: 5,
        longestStallMsByStep: { gc: 4, trim: 1 },
        longestGcPauseMs: 2,
        loopDelay: { addedP99Ms: 1, p99Ms: 2, baselineP99Ms: 1, windowMs: 40, baselineWindowMs: 200, source: 'fake', note: null },
      },
      paced: null,
      threadpoolThreads: 4,
      threadpoolNote: null,
      note: null,
      wallMs: 45,
      rssBeforeBytes: before,
      rssAfterBytes: state.rss,
      releasedBytes: 50 * MiB,
      trimReleasedBytes: 40 * MiB,
      before: stats,
      after: stats,
    };
  };
  const sources: ProbeSources = {
    memory: () => {
      calls.memory++;
      return {
        rss: state.rss,
        rssAnon: state.rss - 30 * MiB,
        heapUsed: 10 * MiB,
        heapTotal: 30 * MiB,
        heapPhysical: state.heapPhysical,
        external: 1 * MiB,
        arrayBuffers: MiB,
      };
    },
    allocator: async () => ({ allocated: 10 * MiB, free: state.free }),
    opensslLive: () => state.opensslLive,
    connections: () => ({ tls: { server: state.connections, client: 0 }, tcp: { server: 0, client: 0 } }),
    sockets: () => {
      if (!control.socketsSupported) return null;
      calls.sockets++;
      if (control.socketsFail) return Promise.reject(new Error('netlink went away'));
      return Promise.resolve(makeSockets({ takenAt: Date.now(), kernelBytes: calls.sockets }));
    },
    release: () => {
      calls.release++;
      if (control.releaseFail) return Promise.reject(new Error('trim failed'));
      if (!control.holdRelease) return Promise.resolve(result());
      return new Promise((resolve) => (control.finishRelease = () => resolve(result())));
    },
    opensslSupport: async () => control.opensslSupport,
    opensslSession: () => {
      if (control.trackThrows) throw control.trackThrows;
      calls.trackOn++;
      let stopped: { atMs: number; reason: string } | null = null;
      return {
        session: 1,
        sinceMs: 1_700_000_000_000,
        get active() {
          return stopped === null;
        },
        get ended() {
          return stopped;
        },
        stop(reason = 'stop() was called on this session') {
          if (stopped) return;
          stopped = { atMs: Date.now(), reason };
          calls.trackOff++;
        },
      };
    },
    allocatorName: () => 'glibc',
  };
  return { sources, state, calls, control };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_700_000_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('sampling cadence', () => {
  it('samples once per interval while running, and not at all after stop()', async () => {
    const fake = fakeSources();
    const probe = createProbe({ sources: fake.sources, intervalMs: 250 });
    expect(probe.running).toBe(false);
    probe.start();
    probe.start(); // idempotent: one timer
    expect(probe.running).toBe(true);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(probe.samples()).toHaveLength(8);
    expect(probe.samples().map((s) => s.time - 1_700_000_000_000)).toEqual([250, 500, 750, 1000, 1250, 1500, 1750, 2000]);
    probe.stop();
    expect(probe.running).toBe(false);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(probe.samples()).toHaveLength(8);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('takes one sample at a time: a slow read does not let samples pile up', async () => {
    const fake = fakeSources();
    let release!: () => void;
    fake.sources.allocator = () => new Promise((resolve) => (release = () => resolve({ allocated: 10 * MiB, free: MiB })));
    const probe = createProbe({ sources: fake.sources, intervalMs: 100 }).start();
    await vi.advanceTimersByTimeAsync(1_000); // ten ticks, all while the first read hangs
    expect(fake.calls.memory).toBe(0);
    expect(probe.sample()).toBe(probe.sample());
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(probe.samples()).toHaveLength(1);
    probe.stop();
  });

  it('keeps at most `capacity` samples, the newest', async () => {
    const probe = createProbe({ sources: fakeSources().sources, intervalMs: 10, capacity: 5 }).start();
    await vi.advanceTimersByTimeAsync(200);
    expect(probe.samples()).toHaveLength(5);
    expect(probe.samples().at(-1)!.time).toBe(1_700_000_000_000 + 200);
    probe.stop();
  });

  it('refuses bad options with coded errors', () => {
    const sources = fakeSources().sources;
    expect(() => createProbe({ sources, intervalMs: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringContaining('options.intervalMs') }),
    );
    expect(() => createProbe({ sources, capacity: 100_001 })).toThrow(/options\.capacity/);
    expect(() => createProbe({ sources, opensslTracking: 'yes' as never })).toThrow(/options\.opensslTracking/);
    expect(() => createProbe({ sources, autoRelease: 5 as never })).toThrow(/options\.autoRelease/);
    expect(() => createProbe(null as never)).toThrow(/options/);
  });
});

describe('socket snapshot cadence', () => {
  it('snapshots every socketIntervalMs while connections hold still, carrying the last one in between', async () => {
    const fake = fakeSources();
    const probe = createProbe({ sources: fake.sources, intervalMs: 1_000, socketIntervalMs: 10_000 }).start();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(fake.calls.sockets).toBe(3); // at 1 s, 11 s, 21 s
    const carried = probe.samples().map((s) => s.sockets!.kernelBytes);
    expect(carried.slice(0, 10)).toEqual(new Array(10).fill(1));
    expect(carried[10]).toBe(2);
    probe.stop();
  });

  it('snapshots sooner when connections have moved, but not before a fifth of the interval', async () => {
    const fake = fakeSources();
    const probe = createProbe({ sources: fake.sources, intervalMs: 1_000, socketIntervalMs: 30_000 }).start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fake.calls.sockets).toBe(1);
    fake.state.connections = 500;
    await vi.advanceTimersByTimeAsync(5_000); // moved, but the soonest is 30 s / 5 = 6 s after the last
    expect(fake.calls.sockets).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fake.calls.sockets).toBe(2);
    fake.state.connections = 510; // under 10% of 500 and under 20: not a move
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fake.calls.sockets).toBe(2);
    probe.stop();
  });

  it('keeps the last summary when a snapshot fails, and samples without one where snapshots are unsupported', async () => {
    const fake = fakeSources();
    const probe = createProbe({ sources: fake.sources, intervalMs: 1_000, socketIntervalMs: 2_000 }).start();
    await vi.advanceTimersByTimeAsync(1_000);
    fake.control.socketsFail = true;
    await vi.advanceTimersByTimeAsync(4_000);
    expect(fake.calls.sockets).toBe(3);
    expect(probe.samples().map((s) => s.sockets?.kernelBytes)).toEqual([1, 1, 1, 1, 1]);
    probe.stop();

    const unsupported = fakeSources();
    unsupported.control.socketsSupported = false;
    const other = createProbe({ sources: unsupported.sources, intervalMs: 1_000 }).start();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(other.samples().map((s) => s.sockets)).toEqual([null, null, null]);
    other.stop();
  });
});

describe('autoRelease', () => {
  /** Connections climb to a peak and fall to zero; RSS and free memory stay up after the fall. */
  async function spike(fake: ReturnType<typeof fakeSources>, peak: number) {
    fake.state.connections = peak;
    fake.state.rss += 150 * MiB;
    await vi.advanceTimersByTimeAsync(3_000);
    fake.state.connections = 0;
    fake.state.free = 120 * MiB;
    await vi.advanceTimersByTimeAsync(3_000);
  }

  it('releases once when a spike ends, records what came back, then waits out minIntervalMs', async () => {
    const fake = fakeSources();
    const probe = createProbe({ sources: fake.sources, intervalMs: 1_000, autoRelease: { minIntervalMs: 60_000 } }).start();
    await vi.advanceTimersByTimeAsync(2_000);
    await spike(fake, 2_000);
    expect(fake.calls.release).toBe(1);
    const [record] = probe.releases();
    expect(record.reason).toMatch(/^connections fell from 2000 to 0; /);
    expect(record.result).toMatchObject({
      releasedBytes: 50 * MiB,
      trimReleasedBytes: 40 * MiB,
      jsThreadMs: 5,
      gc: { durationMs: 2, releasedBytes: 10 * MiB },
    });
    expect(record.time).toBe(1_700_000_000_000 + 7_000); // the first quiet sample after the fall
    // A second spike 10 s later: the policy holds off until a minute has passed since the release.
    await vi.advanceTimersByTimeAsync(4_000);
    await spike(fake, 2_000);
    expect(fake.calls.release).toBe(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fake.calls.release).toBe(2);
    expect(probe.releases()[1].time - record.time).toBeGreaterThanOrEqual(60_000);
    probe.stop();
  });

  it('never runs two releases at once, and records a failed one with its error', async () => {
    const fake = fakeSources();
    fake.control.holdRelease = true;
    const probe = createProbe({ sources: fake.sources, intervalMs: 1_000, autoRelease: { minIntervalMs: 1 } }).start();
    await vi.advanceTimersByTimeAsync(2_000);
    await spike(fake, 3_000);
    await vi.advanceTimersByTimeAsync(10_000); // the release is still running
    expect(fake.calls.release).toBe(1);
    fake.control.finishRelease();
    await vi.advanceTimersByTimeAsync(0);
    expect(probe.releases()).toHaveLength(1);

    fake.control.holdRelease = false;
    fake.control.releaseFail = true;
    await spike(fake, 3_000);
    expect(fake.calls.release).toBe(2);
    expect(probe.releases()[1]).toMatchObject({ result: null, error: 'trim failed' });
    probe.stop();
  });

  it("does nothing when off, and nothing for a fall too small to be a spike's end", async () => {
    const off = fakeSources();
    const quiet = createProbe({ sources: off.sources, intervalMs: 1_000 }).start();
    await spike(off, 2_000);
    expect(off.calls.release).toBe(0);
    quiet.stop();

    const small = fakeSources();
    // A tenth of the peak is enough here; the fall must still be 50 connections.
    const probe = createProbe({ sources: small.sources, intervalMs: 1_000, autoRelease: { dropFraction: 0.1 } }).start();
    await vi.advanceTimersByTimeAsync(2_000);
    small.state.connections = 100;
    small.state.rss += 150 * MiB;
    await vi.advanceTimersByTimeAsync(3_000);
    small.state.connections = 70; // fell by 30
    small.state.free = 200 * MiB;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(small.calls.release).toBe(0);
    small.state.connections = 40; // fell by 60
    await vi.advanceTimersByTimeAsync(3_000);
    expect(small.calls.release).toBe(1);
    probe.stop();
  });
});

describe('OpenSSL tracking', () => {
  it('turns tracking on at start() and off at stop(), and samples live bytes', async () => {
    const fake = fakeSources();
    fake.state.opensslLive = 123_456;
    const probe = createProbe({ sources: fake.sources, intervalMs: 1_000, opensslTracking: true }).start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fake.calls.trackOn).toBe(1);
    expect(probe.samples()[0].opensslLive).toBe(123_456);
    expect(probe.report().openssl).toEqual({ requested: true, unavailable: null, sinceMs: 1_700_000_000_000, stopped: null });
    probe.stop();
    expect(fake.calls.trackOff).toBe(1);
    expect(probe.report().openssl).toEqual({
      requested: true,
      unavailable: null,
      sinceMs: 1_700_000_000_000,
      stopped: { atMs: Date.now(), reason: 'probe.stop() was called' },
    });
  });

  it('never asks when the option is off', async () => {
    const fake = fakeSources();
    let asked = 0;
    fake.sources.opensslSupport = async () => {
      asked++;
      return true;
    };
    const probe = createProbe({ sources: fake.sources, intervalMs: 1_000 }).start();
    await vi.advanceTimersByTimeAsync(2_000);
    probe.stop();
    expect([asked, fake.calls.trackOn, fake.calls.trackOff]).toEqual([0, 0, 0]);
    expect(probe.report().openssl).toEqual({ requested: false, unavailable: null, sinceMs: null, stopped: null });
  });

  it('says once why tracking is unavailable, as a coded process warning and in the report', async () => {
    const fake = fakeSources();
    fake.control.opensslSupport = 'node was built without a symbol table';
    const warnings = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      fake.state.connections = 10;
      const probe = createProbe({ sources: fake.sources, intervalMs: 1_000, opensslTracking: true }).start();
      await vi.advanceTimersByTimeAsync(3_000);
      probe.stop();
      probe.start();
      await vi.advanceTimersByTimeAsync(1_000);
      probe.stop();
      expect(fake.calls.trackOn).toBe(0);
      expect(warnings).toHaveBeenCalledTimes(1);
      expect(warnings).toHaveBeenCalledWith('OpenSSL tracking is off: node was built without a symbol table', { code: 'SOCKPROBE_OPENSSL_UNAVAILABLE' });
      expect(probe.report().openssl).toEqual({ requested: true, unavailable: 'node was built without a symbol table', sinceMs: null, stopped: null });
      expect(probe.renderReport()).toContain('OpenSSL live bytes: not tracked — node was built without a symbol table');
    } finally {
      warnings.mockRestore();
    }
  });

  it('is off, with the reason, when turning it on throws (another hook installed first)', async () => {
    const fake = fakeSources();
    fake.control.trackThrows = Object.assign(new Error('malloc_impl holds something else'), { code: 'ERR_OPENSSL_SELF_CHECK' });
    const warnings = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const probe = createProbe({ sources: fake.sources, intervalMs: 1_000, opensslTracking: true }).start();
      await vi.advanceTimersByTimeAsync(1_000);
      probe.stop();
      expect(probe.report().openssl!.unavailable).toBe('malloc_impl holds something else');
      expect(fake.calls.trackOff).toBe(0); // nothing was turned on, so nothing is turned off
    } finally {
      warnings.mockRestore();
    }
  });

  it('does not turn tracking on when stop() came before the support answer', async () => {
    const fake = fakeSources();
    let answer!: (value: true) => void;
    fake.sources.opensslSupport = () => new Promise((resolve) => (answer = resolve));
    const probe = createProbe({ sources: fake.sources, intervalMs: 1_000, opensslTracking: true }).start();
    probe.stop();
    answer(true);
    await vi.advanceTimersByTimeAsync(0);
    expect([fake.calls.trackOn, fake.calls.trackOff]).toEqual([0, 0]);
  });
});
