import { afterEach, describe, expect, it, vi } from 'vitest';
import { siteCategory } from '../../src/native-heap/pprof';
import type { NativeHeapProfile } from '../../src/native-heap/profile';
import { createProbe } from '../../src/probe/probe';
import { reportSteps } from '../../src/probe/report-steps';
import { defaultMaxHeldBytes, profileBytes, trimProfile } from '../../src/probe/native-heap';
import type { NativeHeapSource, ProbeSources } from '../../src/probe/sources';
import { makeProfile, site, STACKS } from '../helpers/native-heap';
import { makeSockets } from '../helpers/samples';

const MiB = 1024 * 1024;

/**
 * A process whose allocator in-use count and native heap profile follow `state`: OpenSSL 14 KiB and
 * a read buffer 64 KiB per connection, plus `leaked` bytes at an addon site.
 */
function fakeProcess(nativeHeap: Partial<NativeHeapSource> | null = {}) {
  const state = { connections: 0, leaked: 0, active: false, rate: 0, users: 0, starts: 0, stops: 0, profiles: 0, asked: [] as number[] };
  const profileNow = (): NativeHeapProfile => {
    const sites = [
      site(STACKS.ssl, 14_000 * state.connections + 100_000),
      site(STACKS.readBuffer, 65_536 * state.connections + 50_000),
      site(STACKS.v8, 2 * MiB),
    ];
    if (state.leaked) sites.push(site(STACKS.addon, state.leaked));
    return makeProfile(sites, { takenAt: Date.now() }, (s) => siteCategory(s.stack));
  };
  const source: NativeHeapSource = {
    support: async () => true,
    session: ({ sampleBytes }) => {
      state.asked.push(sampleBytes);
      if (state.active && state.rate !== sampleBytes) {
        throw Object.assign(new Error(`a native heap session already runs in this process sampling every ${state.rate} bytes`), {
          code: 'ERR_SESSION_CONFLICT',
        });
      }
      if (!state.active) state.starts++;
      state.active = true;
      state.rate = sampleBytes;
      state.users++;
      let ended: { atMs: number; reason: string } | null = null;
      return {
        session: 1,
        sinceMs: 1_700_000_000_000,
        sampleBytes,
        get active() {
          return ended === null;
        },
        get ended() {
          return ended;
        },
        stop(reason = 'stop() was called on this session') {
          if (ended) return;
          ended = { atMs: Date.now(), reason };
          if (--state.users === 0) {
            state.active = false;
            state.stops++;
          }
        },
      };
    },
    runningSampleBytes: () => (state.active ? state.rate : null),
    profile: async () => {
      state.profiles++;
      return profileNow();
    },
    ...nativeHeap,
  };
  const sources: ProbeSources = {
    memory: () => ({ rss: 100 * MiB, heapUsed: 8 * MiB, heapTotal: 20 * MiB, external: 2 * MiB, arrayBuffers: MiB }),
    allocator: async () => ({ allocated: 20 * MiB + 80_000 * state.connections + state.leaked, free: MiB }),
    opensslLive: () => null,
    connections: () => ({ tls: { server: state.connections, client: 0 }, tcp: { server: 0, client: 0 } }),
    sockets: () => Promise.resolve(makeSockets({ takenAt: Date.now() })),
    release: () => Promise.reject(new Error('no release here')),
    allocatorName: () => 'glibc',
    ...(nativeHeap === null ? {} : { nativeHeap: source }),
  };
  return { state, sources };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('createProbe({ nativeHeapProfile })', () => {
  afterEach(() => vi.restoreAllMocks());

  it('starts the profiler with the sample rate asked for, stops only what it started', async () => {
    const { state, sources } = fakeProcess();
    const probe = createProbe({ sources, nativeHeapProfile: { sampleBytes: 32768 } }).start();
    await settle();
    expect(state.asked).toEqual([32768]);
    expect(probe.report().nativeHeap).toMatchObject({ sampleBytes: 32768, sinceMs: 1_700_000_000_000, stopped: null, joined: null });
    probe.stop();
    expect(state.stops).toBe(1);
    expect(probe.report().nativeHeap!.stopped).toMatchObject({ reason: 'probe.stop() was called' });
    // Already running (the user's own session at the same rate): the probe joins and leaves it running.
    const other = fakeProcess();
    Object.assign(other.state, { active: true, rate: 512 * 1024, users: 1 });
    const second = createProbe({ sources: other.sources, nativeHeapProfile: true }).start();
    await settle();
    second.stop();
    expect([other.state.starts, other.state.stops, other.state.active, other.state.users]).toEqual([0, 0, true, 1]);
  });

  it('joins a session running at another rate and reports that rate, unless given its own rate', async () => {
    const { state, sources } = fakeProcess();
    Object.assign(state, { active: true, rate: 4096, users: 1 });
    const probe = createProbe({ sources, nativeHeapProfile: true }).start();
    await settle();
    expect(state.asked).toEqual([512 * 1024, 4096]);
    expect(probe.report().nativeHeap).toMatchObject({
      sampleBytes: 4096,
      unavailable: null,
      joined: 'joined a session already running at 4096 bytes between samples (asked: 524288)',
    });
    expect(probe.renderReport()).toMatch(/Native heap profile: counted since .*joined a session already running at 4096/);
    probe.stop();
    expect([state.active, state.users]).toEqual([true, 1]);
    const warnings = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const strict = createProbe({ sources, nativeHeapProfile: { sampleBytes: 65536 } }).start();
    await settle();
    expect(strict.report().nativeHeap).toMatchObject({
      sampleBytes: null,
      unavailable: expect.stringMatching(/sampling every 4096 bytes/),
      sinceMs: null,
      stopped: null,
    });
    strict.stop();
    warnings.mockRestore();
  });

  it('takes profiles at its cadence, not at every sample, and keeps a bounded number of them', async () => {
    const { state, sources } = fakeProcess();
    const probe = createProbe({ sources, nativeHeapProfile: { intervalMs: 60_000 } }).start();
    await settle();
    for (let i = 0; i < 10; i++) await probe.sample();
    await settle();
    expect(state.profiles).toBe(1);
    for (let i = 0; i < 4; i++) await probe.profileNativeHeap();
    const held = probe.ownMemoryBytes();
    for (let i = 0; i < 40; i++) await probe.profileNativeHeap();
    expect(state.profiles).toBe(45);
    expect(probe.report().nativeHeap!.profiles).toBe(45);
    // Only the first and the newest three profiles stay: 40 more profiles add their small readings only (650 B each with holder tallies).
    expect(probe.ownMemoryBytes() - held).toBeLessThan(40 * 650 + 45 * 350);
    probe.stop();
  });

  it('says why when profiling is unavailable, once as a warning and in the report', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => warnings.push(`${w.code}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const { sources } = fakeProcess({ support: async () => 'the executable is a static PIE: no GOT to patch' });
      const probe = createProbe({ sources, nativeHeapProfile: true }).start();
      await settle();
      await probe.sample();
      const report = probe.report();
      expect(report.nativeHeap).toMatchObject({ requested: true, unavailable: 'the executable is a static PIE: no GOT to patch', profiles: 0 });
      expect(probe.renderReport()).toContain('Native heap profile: off — the executable is a static PIE: no GOT to patch');
      await expect(probe.profileNativeHeap()).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED', message: /static PIE/ });
      probe.stop();
      const none = createProbe({ sources: fakeProcess(null).sources, nativeHeapProfile: true }).start();
      await settle();
      expect(none.report().nativeHeap!.unavailable).toBe('this build of sockprobe has no native heap profiler');
      none.stop();
      await settle();
      expect(warnings.filter((w) => w.startsWith('SOCKPROBE_NATIVE_HEAP_UNAVAILABLE'))).toHaveLength(2);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('splits native bytes per connection by category, fitted against connection counts', async () => {
    const { state, sources } = fakeProcess();
    const probe = createProbe({ sources, nativeHeapProfile: true }).start();
    await settle();
    for (const connections of [0, 100, 250, 400, 300, 150, 500]) {
      state.connections = connections;
      await probe.profileNativeHeap();
    }
    const rows = probe.report().nativeHeap!.perConnection;
    const row = (category: string) => rows.find((r) => r.category === category && r.kind === 'tls')!;
    expect(row('openssl').bytesPerConnection).toBeCloseTo(14_000, 0);
    expect(row('node').bytesPerConnection).toBeCloseTo(65_536, 0);
    expect(row('total').bytesPerConnection).toBeCloseTo(79_536, 0);
    // V8's 2 MiB does not move with connections: a slope of zero explains none of a flat series.
    expect(row('v8').bytesPerConnection ?? 0).toBeLessThan(1);
    expect(probe.renderReport()).toMatch(/Native heap by category \(sampled every 524288 B, \d+ profiles; estimates\):\n {2}openssl, tls\s+13\.7 KiB/);
    // Each row's error is 1/√ the newest profile's sampled allocations in its category: more samples, smaller error.
    const newest = makeProfile([site(STACKS.ssl, 14_000 * 500 + 100_000), site(STACKS.readBuffer, 65_536 * 500 + 50_000), site(STACKS.v8, 2 * MiB)]);
    const counted = (stack: typeof STACKS.ssl) => newest.sites.find((s) => s.stack === stack)!.samples;
    expect(row('openssl').sampledAllocations).toBe(counted(STACKS.ssl));
    expect(row('node').sampledAllocations).toBe(counted(STACKS.readBuffer));
    expect(row('total').sampledAllocations).toBe(newest.sites.reduce((a, s) => a + s.samples, 0));
    for (const category of ['openssl', 'node', 'total']) expect(row(category).relativeError).toBeCloseTo(1 / Math.sqrt(row(category).sampledAllocations!), 12);
    expect(row('openssl').relativeError!).toBeGreaterThan(2 * row('node').relativeError!);
    const percent = (e: number) => `±${Math.round(e * 100)}%`;
    expect(probe.renderReport()).toMatch(
      new RegExp(
        `openssl, tls\\s+13\\.7 KiB  \\(R² \\d\\.\\d\\d, \\d+ ` +
          `profiles, ${percent(row('openssl').relativeError!)} from ${row('openssl').sampledAllocations} ` +
          `sampled allocations\\)`,
      ),
    );
    expect(probe.renderReport()).toMatch(new RegExp(`node, tls\\s+64\\.0 KiB  \\(R² \\d\\.\\d\\d, \\d+ profiles, ${percent(row('node').relativeError!)} from`));
    probe.stop();
  });

  it('gives the same report built a fit iteration at a time (sockprobe/register) as in one call, the native heap part included', async () => {
    const { state, sources } = fakeProcess();
    const probe = createProbe({ sources, nativeHeapProfile: true }).start();
    await settle();
    for (const connections of [0, 100, 250, 400, 300, 150, 500]) {
      state.connections = connections;
      await probe.profileNativeHeap();
      await probe.sample();
    }
    await settle(); // the holders are matched in slices after each profile
    const steps = reportSteps(probe);
    const parts: string[] = [];
    let next = steps.next();
    for (; !next.done; next = steps.next()) parts.push(next.value);
    const stepped = next.value;
    expect(stepped).toEqual(probe.report());
    expect(stepped.nativeHeap!.perConnection.length).toBeGreaterThan(0);
    // The native heap part is many turns, not one: each category's fit an iteration a turn, then the holders, then findings.
    expect(parts.filter((part) => part === 'native heap fit (openssl)').length).toBeGreaterThan(1);
    expect(parts.indexOf('native heap fit (openssl)')).toBeGreaterThan(parts.indexOf('findings'));
    expect(parts.at(-1)).toBe('native heap findings');
    probe.stop();
  });

  it("takes each category's error from the profile's own counts, the omitted sites' included", async () => {
    const { NativeHeapProfiles } = await import('../../src/probe/native-heap');
    const { makeSample } = await import('../helpers/samples');
    const kept = new NativeHeapProfiles(1000);
    const counts = [0, 100, 250, 400, 300, 150, 500];
    const sampled = (n: number, i: number) => makeSample(i, { tls: n });
    for (const [i, n] of counts.entries()) {
      const profile = makeProfile([site(STACKS.ssl, 14_000 * n + 100_000)], { takenAt: 1000 * (i + 1) }, (s) => siteCategory(s.stack));
      // As decode.ts counts them: the sites kept and the ones maxSites left out.
      profile.categorySamples = { ...Object.fromEntries(Object.keys(profile.categories).map((c) => [c, 0])), openssl: 40 + 10 * i } as never;
      kept.record(profile, sampled(n, i));
    }
    const rows = kept.perConnection(counts.map(sampled));
    const openssl = rows.find((r) => r.category === 'openssl')!;
    expect(openssl.sampledAllocations).toBe(100);
    expect(openssl.relativeError).toBeCloseTo(0.1, 12);
  });

  it('names the top growing call sites in an other-native leak finding', async () => {
    const { state, sources } = fakeProcess();
    const probe = createProbe({ sources, nativeHeapProfile: true, thresholds: { leakWindowMs: 1, leakGrowthBytes: MiB } }).start();
    await settle();
    state.connections = 100;
    for (let i = 0; i < 12; i++) {
      state.leaked = i * MiB;
      await probe.profileNativeHeap();
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const leak = probe.report().findings.find((f) => f.kind === 'leak' && f.layer === 'otherNative');
    expect(leak, JSON.stringify(probe.report().findings)).toBeDefined();
    if (leak?.kind !== 'leak') return;
    expect(leak.evidence.topSites![0]).toMatchObject({ site: 'fancy.node+0x1234 ← napi_call_function', category: 'addons', growthBytes: 11 * MiB, new: true });
    expect(leak.summary).toMatch(/top growing call sites fancy\.node\+0x1234 ← napi_call_function \[addons\] \+11264\.0 KiB ±8% \(new\)/);
    expect(leak.advice).toMatch(/nativeHeap\.toPprof\(\)/);
    expect(probe.renderReport()).toMatch(
      /grew 11\d{3}\.\d KiB between the first profile and the newest \(profile of \d\d:\d\d:\d\d UTC, \d+ s ago, RSS about the same since; profile of \d\d:\d\d:\d\d UTC, \d+ s ago, RSS about the same since\); most:\n\s+11264\.0 KiB {3}±8% \[addons\] fancy\.node\+0x1234/,
    );
    // A new site's growth error is 1/√ its samples now (11 MiB at one sample per 64 KiB: 176, ±8%).
    expect(leak.evidence.topSites![0].relativeError).toBeCloseTo(1 / Math.sqrt(Math.round((11 * MiB) / 65536)), 12);
    probe.stop();
  });

  it('rejects bad options with coded errors', () => {
    const { sources } = fakeProcess();
    expect(() => createProbe({ sources, nativeHeapProfile: 'yes' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => createProbe({ sources, nativeHeapProfile: { sampleBytes: -1 } })).toThrow(/options\.nativeHeapProfile\.sampleBytes/);
    expect(() => createProbe({ sources, nativeHeapProfile: { intervalMs: 10 } })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
});

describe('the profiles a probe keeps', () => {
  it('diffs earlier → later whatever order the profiles resolve in', async () => {
    const { NativeHeapProfiles } = await import('../../src/probe/native-heap');
    const { makeSample } = await import('../helpers/samples');
    const kept = new NativeHeapProfiles(1000);
    const at = (takenAt: number, bytes: number) => makeProfile([site(STACKS.readBuffer, bytes, 1)], { takenAt });
    // A periodic profile (t=2000) resolves first, one asked for earlier (t=1000) after it, then a later one.
    kept.record(at(2000, 2e6), makeSample(0));
    kept.record(at(1000, 1e6), makeSample(1));
    kept.record(at(1500, 1.5e6), makeSample(2));
    kept.record(at(3000, 4e6), makeSample(3));
    const growth = kept.growth()!;
    expect([growth.fromTakenAt, growth.toTakenAt]).toEqual([1000, 3000]);
    expect(growth.growthBytes).toBe(3e6);
  });

  it('bounds what its kept profiles hold by maxHeldBytes: asks for at most a share of sites, trims what holds more', async () => {
    const many = (n: number) =>
      Array.from({ length: n }, (_, i) =>
        site([...STACKS.ssl, { name: `f${i}`, module: null, address: `0x${(0x9000 + i).toString(16)}`, kind: 'javascript' as const }], 10_000 - i),
      );
    const asked: Array<number | undefined> = [];
    const { sources } = fakeProcess({
      profile: async (options) => {
        asked.push(options?.maxSites);
        return makeProfile(many(5000), { takenAt: Date.now() }, (s) => siteCategory(s.stack));
      },
    });
    const maxHeldBytes = 1024 * 1024;
    const probe = createProbe({ sources, nativeHeapProfile: { maxHeldBytes } }).start();
    await settle();
    for (let i = 0; i < 6; i++) {
      const kept = await probe.profileNativeHeap();
      expect(profileBytes(kept)).toBeLessThanOrEqual(maxHeldBytes / 4);
      expect(kept.sites.length + kept.omitted!.sites).toBe(5000);
      expect(kept.omitted!.bytes + kept.sites.reduce((a, s) => a + s.bytes, 0)).toBe(kept.totalBytes);
    }
    expect(asked.every((n) => n === Math.floor(maxHeldBytes / 4 / (100 + 120 * 40)))).toBe(true);
    expect(probe.ownMemoryBytes()).toBeLessThanOrEqual(maxHeldBytes + 10 * 350 + 6 * 150);
    probe.stop();
    expect(() => createProbe({ sources, nativeHeapProfile: { maxHeldBytes: 1000 } })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => createProbe({ sources, nativeHeapProfile: { maxHeldBytes: '1' as never } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
  });

  it("defaults maxHeldBytes to 2% of V8's heap limit, within 1–16 MiB", () => {
    expect(defaultMaxHeldBytes(112 * MiB)).toBe(Math.round(0.02 * 112 * MiB));
    expect(defaultMaxHeldBytes(16 * MiB)).toBe(MiB);
    expect(defaultMaxHeldBytes(4096 * MiB)).toBe(16 * MiB);
    expect(defaultMaxHeldBytes()).toBeGreaterThanOrEqual(MiB);
  });

  it('trims a profile by its smallest sites, counting them in omitted', () => {
    const profile = makeProfile([site(STACKS.ssl, 9000), site(STACKS.zlib, 5000), site(STACKS.addon, 100)]);
    const trimmed = trimProfile(profile, profileBytes(profile) - 1);
    expect(trimmed.sites.map((s) => s.bytes)).toEqual([9000, 5000]);
    expect(trimmed.omitted).toEqual({ sites: 1, bytes: 100, count: 1 });
    expect(trimProfile(profile, profileBytes(profile))).toBe(profile);
  });
});

describe('profile figures that say how old they are', () => {
  it('names the sites of the profiles that bracket a spike, not growth to a peak that is gone, with when each was taken and how RSS moved since', async () => {
    const { NativeHeapProfiles } = await import('../../src/probe/native-heap');
    const { retentionFinding, DEFAULT_THRESHOLDS } = await import('../../src/probe/findings');
    const { makeSample } = await import('../helpers/samples');
    const kept = new NativeHeapProfiles(1000);
    const t0 = 1_700_000_000_000;
    const sample = (s: number, tls: number, rss: number) => makeSample(0, { time: t0 + s * 1000, tls, rss });
    // Before the spike; at its peak (read buffers of 2000 connections); after it ended (read buffers gone, an addon kept 40 MiB).
    const before = makeProfile([site(STACKS.readBuffer, 2 * MiB), site(STACKS.v8, 2 * MiB)], { takenAt: t0 + 10_000 });
    const peak = makeProfile([site(STACKS.readBuffer, 130 * MiB), site(STACKS.v8, 2 * MiB)], { takenAt: t0 + 60_000 });
    const after = makeProfile([site(STACKS.readBuffer, 2 * MiB), site(STACKS.v8, 2 * MiB), site(STACKS.addon, 40 * MiB)], { takenAt: t0 + 200_000 });
    kept.record(before, sample(10, 20, 100 * MiB));
    kept.record(peak, sample(60, 2000, 700 * MiB));
    kept.record(after, sample(200, 20, 230 * MiB));
    await kept.holdersMatching;
    const retention = {
      peakConnections: 2000,
      baselineConnections: 20,
      rssBefore: 100 * MiB,
      rssPeak: 700 * MiB,
      rssAfter: 230 * MiB,
      retainedBytes: 130 * MiB,
      split: { nativeFree: 20 * MiB, jsHeap: 10 * MiB, other: 100 * MiB },
      methods: { jsHeap: 'x', nativeFree: 'y' },
      spikeStartedAt: t0 + 20_000,
      spikeEndedAt: t0 + 180_000,
    };
    const finding = retentionFinding(retention, DEFAULT_THRESHOLDS)!;
    const samples = [sample(10, 20, 100 * MiB), sample(60, 2000, 700 * MiB), sample(200, 20, 230 * MiB), sample(218, 20, 180 * MiB)];
    const report = kept.report(true, null, 524288, samples);
    const [named] = kept.findings([finding], report, retention, samples).filter((f) => f.kind === 'retention');
    if (named.kind !== 'retention') throw new Error('no retention finding');
    expect(named.evidence.topSites![0]).toMatchObject({ site: 'fancy.node+0x1234 ← napi_call_function', growthBytes: 40 * MiB });
    expect(named.evidence.profilesTakenAt).toEqual([before.takenAt, after.takenAt]);
    expect(named.summary).toMatch(
      /Native heap profiles \d\d:\d\d:\d\d UTC \(3\.5 min ago, RSS has since risen 80\.0 MiB\) → \d\d:\d\d:\d\d UTC \(18 s ago, RSS has since fallen 50\.0 MiB\), before the spike and after it ended/,
    );
    // No profile after the spike ended: the finding says so instead of quoting growth to the peak.
    const early = new NativeHeapProfiles(1000);
    early.record(before, sample(10, 20, 100 * MiB));
    early.record(peak, sample(60, 2000, 700 * MiB));
    const [unnamed] = early.findings([finding], early.report(true, null, 524288, samples), retention, samples);
    expect(unnamed.summary).toMatch(/No kept native heap profile brackets the spike/);
    expect(unnamed.kind === 'retention' && unnamed.evidence.topSites).toBeUndefined();
  });
});
