import { afterEach, describe, expect, it } from 'vitest';
import { CATEGORIES, categorize } from '../../src/native-heap/categories';
import { decodeProfile } from '../../src/native-heap/decode';
import { nativeHeap } from '../../src/native-heap/index';
import type { NativeHeapCategory, NativeHeapFrame, NativeHeapProfile } from '../../src/native-heap/profile';
import { SOURCE } from '../../src/native-heap/profile';
import { TurnSlicer } from '../../src/native-heap/slicer';
import { setNativeForTesting } from '../../src/native';
import { installFakeNative } from '../helpers/fake-native';
import { rawProfile, type ReadableSite } from '../helpers/heap-raw';
import { frame, jsFrame, STACKS } from '../helpers/native-heap';

/** The profile the contract asks for, built in one go and in plain terms: merged by stack,
 *  sorted by bytes, rounded, categorized with the public categorize(). */
function expected(sites: ReadableSite[], executable: string, fields: Partial<NativeHeapProfile>): NativeHeapProfile {
  const merged = new Map<string, ReadableSite>();
  for (const site of sites) {
    const key = site.stack.map((f) => f.address).join(',');
    const existing = merged.get(key);
    if (existing) Object.assign(existing, { bytes: existing.bytes + site.bytes, count: existing.count + site.count, samples: existing.samples + site.samples });
    else merged.set(key, { ...site });
  }
  const ordered = [...merged.values()]
    .sort((a, b) => b.bytes - a.bytes)
    .map((s) => ({ bytes: Math.round(s.bytes), count: Math.round(s.count * 100) / 100, samples: s.samples, stack: s.stack }));
  const categories = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<NativeHeapCategory, number>;
  const categorySamples = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<NativeHeapCategory, number>;
  for (const s of ordered) categories[categorize(s.stack, executable)] += s.bytes;
  for (const s of ordered) categorySamples[categorize(s.stack, executable)] += s.samples;
  return {
    sampleBytes: 65536,
    totalBytes: ordered.reduce((a, s) => a + s.bytes, 0),
    startedAt: 1_700_000_000_000,
    takenAt: 1_700_000_060_000,
    sites: ordered,
    categories,
    categorySamples,
    dropped: 0,
    source: SOURCE,
    ...fields,
  };
}

/** A heavy profile: `frameCount` distinct frames (native in three modules, and JIT code), `siteCount` sites of 40 frames. */
function heavySites(frameCount: number, siteCount: number): ReadableSite[] {
  const names = ['CRYPTO_malloc', 'node::StreamBase::ReadStart', 'v8::internal::Heap::Allocate', 'uv__read', 'deflateInit2_', null];
  const pool: NativeHeapFrame[] = Array.from({ length: frameCount }, (_, i) =>
    i % 7 === 6
      ? jsFrame(`js${i}`, 0x3a00_0000_0000 + i * 16)
      : frame(names[i % names.length] && `${names[i % names.length]}${i % 50}`, 0x1000 + i * 8, (['exe', 'libc', 'addon'] as const)[i % 3]),
  ).map((f) => (f.kind === 'javascript' ? { ...f, name: null } : f));
  return Array.from({ length: siteCount }, (_, s) => ({
    bytes: 1000 + ((s * 7919) % 100_000) + 0.37,
    count: 1 + (s % 13) / 3,
    samples: 1 + (s % 5),
    // Every 50th site repeats an earlier stack: the addon merges them.
    stack: Array.from({ length: 40 }, (_, j) => pool[((s % 50 === 49 ? s - 1 : s) * 31 + j * 17) % frameCount]),
  }));
}

describe('decodeProfile (the addon tables to a NativeHeapProfile)', () => {
  afterEach(() => setNativeForTesting(undefined));

  it('gives each site its frames, rounded figures, merged duplicates and categories', async () => {
    const sites: ReadableSite[] = [
      { bytes: 14_000.4, count: 3.456, samples: 2, stack: STACKS.ssl },
      { bytes: 65_536.6, count: 1, samples: 1, stack: STACKS.readBuffer },
      { bytes: 1_000.2, count: 0.5, samples: 1, stack: STACKS.ssl },
      { bytes: 5_000, count: 2, samples: 1, stack: STACKS.v8 },
      { bytes: 300, count: 1, samples: 1, stack: STACKS.addon },
      { bytes: 7, count: 1, samples: 1, stack: [{ name: null, module: null, address: '0xffff800000001234', kind: 'unknown' }] },
    ];
    const executable = STACKS.ssl[1].module!;
    const profile = await decodeProfile(rawProfile(sites, { executable, dropped: 3 }));
    expect(profile).toEqual(expected(sites, executable, { dropped: 3 }));
    // Hand-checked: the two OpenSSL sites merged, largest first, counts to 0.01.
    expect(profile.sites.map((s) => [s.bytes, s.count, s.samples])).toEqual([
      [65_537, 1, 1],
      [15_001, 3.96, 3],
      [5_000, 2, 1],
      [300, 1, 1],
      [7, 1, 1],
    ]);
    expect(profile.categories).toMatchObject({ openssl: 15_001, node: 65_537, v8: 5_000, addons: 300, other: 7 });
    // Sampled blocks per category, for each category's Poisson error: the two OpenSSL sites' 2 + 1.
    expect(profile.categorySamples).toMatchObject({ openssl: 3, node: 1, v8: 1, addons: 1, other: 1, zlib: 0 });
    // Frames keep their shape (offset only where a module is), an address above 2^53 exact.
    expect(profile.sites[1].stack[0]).toEqual(STACKS.ssl[0]);
    expect(Object.keys(profile.sites[2].stack[2])).toEqual(['name', 'module', 'address', 'kind']);
    expect(profile.sites[4].stack[0].address).toBe('0xffff800000001234');
    // One object per distinct frame, shared by the sites reaching it.
    expect(profile.sites[1].stack[0]).toBe(profile.sites[0].stack[0]);
  });

  it('yields to the event loop on a heavy profile, and gives what one go gives', async () => {
    const sites = heavySites(3000, 2000);
    const raw = rawProfile(sites, { executable: STACKS.ssl[1].module! });
    const oneGo = new TurnSlicer(Infinity);
    const inSlices = new TurnSlicer(0.5);
    let immediates = 0;
    const ticking = setInterval(() => immediates++, 0);
    const sliced = await decodeProfile(raw, inSlices);
    clearInterval(ticking);
    const whole = await decodeProfile(raw, oneGo);
    expect(oneGo.turns).toBe(1);
    expect(inSlices.turns).toBeGreaterThan(1);
    expect(immediates).toBeGreaterThan(0);
    expect(sliced).toEqual(whole);
    expect(whole).toEqual(expected(sites, STACKS.ssl[1].module!, {}));
    expect(whole.sites).toHaveLength(2000 - 40);
  });

  it('builds the largest maxSites sites only; the others count in totals, categories and omitted', async () => {
    const sites = heavySites(3000, 2000);
    const raw = rawProfile(sites, { executable: STACKS.ssl[1].module! });
    const whole = await decodeProfile(raw);
    const bounded = await decodeProfile(raw, undefined, 100);
    expect(bounded.sites).toEqual(whole.sites.slice(0, 100));
    expect(bounded.totalBytes).toBe(whole.totalBytes);
    expect(bounded.categories).toEqual(whole.categories);
    // The omitted sites' samples still count in their categories' errors.
    expect(bounded.categorySamples).toEqual(whole.categorySamples);
    expect(Object.values(bounded.categorySamples!).reduce((a, b) => a + b, 0)).toBe(whole.sites.reduce((a, s) => a + s.samples, 0));
    const rest = whole.sites.slice(100);
    expect(bounded.omitted).toEqual({
      sites: rest.length,
      bytes: rest.reduce((a, s) => a + s.bytes, 0),
      count: Math.round(rest.reduce((a, s) => a + s.count, 0) * 100) / 100,
    });
    expect(whole.omitted).toBeUndefined();
    expect((await decodeProfile(raw, undefined, 1e9)).omitted).toBeUndefined();
  });

  it('refuses a maxSites that is not a positive integer, coded', async () => {
    installFakeNative();
    nativeHeap.start({ sampleBytes: 65536 });
    await expect(nativeHeap.profile({ maxSites: 0 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(nativeHeap.profile({ maxSites: 2.5 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(nativeHeap.profile({ maxSites: '10' as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(nativeHeap.profile(null as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    nativeHeap.stop();
  });

  it('is what nativeHeap.profile() returns from the addon', async () => {
    const sites: ReadableSite[] = [{ bytes: 4096, count: 1, samples: 1, stack: STACKS.zlib }];
    installFakeNative((fake) => {
      fake.heapRaw = rawProfile(sites, { executable: STACKS.zlib[1].module! });
    });
    nativeHeap.start({ sampleBytes: 65536 });
    expect(await nativeHeap.profile()).toEqual(expected(sites, STACKS.zlib[1].module!, {}));
  });
});
