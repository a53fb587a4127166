import { describe, expect, it } from 'vitest';
import { siteCategory } from '../../src/native-heap/pprof';
import { diffProfiles, diffProfilesSteps, growthProfile, renderDiff, shortName, siteGrowthError, siteKey, siteTitle } from '../../src/native-heap/diff';
import { frame, jsFrame, makeProfile, site, STACKS } from '../helpers/native-heap';

const byCategory = (s: { stack: Parameters<typeof siteCategory>[0] }) => siteCategory(s.stack);

describe('nativeHeap.diff', () => {
  const before = makeProfile(
    [site(STACKS.ssl, 1_000_000, 100), site(STACKS.readBuffer, 4_000_000, 60), site(STACKS.zlib, 2_000_000, 10)],
    { takenAt: 1_700_000_010_000 },
    byCategory,
  );
  const after = makeProfile(
    [site(STACKS.ssl, 15_000_000, 1100), site(STACKS.readBuffer, 3_000_000, 45), site(STACKS.addon, 500_000, 3)],
    { takenAt: 1_700_000_070_000 },
    byCategory,
  );
  const diff = diffProfiles(before, after);

  it('is built a few hundred sites a step for a caller that hands the loop back, the same diff as in one call', () => {
    const many = (n: number, scale: number) =>
      makeProfile(
        Array.from({ length: n }, (_, i) => site([frame(`site${i}`, 0x5000 + i), ...STACKS.ssl], (i + 1) * scale)),
        { takenAt: 1_700_000_000_000 + scale },
        byCategory,
      );
    const [early, late] = [many(1500, 1000), many(2000, 1500)];
    const steps = diffProfilesSteps(early, late);
    let yields = 0;
    let next = steps.next();
    for (; !next.done; next = steps.next()) yields++;
    expect(next.value).toEqual(diffProfiles(early, late));
    expect(next.value.newSites).toBe(500);
    // 1500 + 2000 sites keyed and 2000 matched, 400 a step: not one turn.
    expect(yields).toBeGreaterThanOrEqual(8);
  });

  it('lists what grew, largest first, with new sites marked', () => {
    expect(diff.grown.map((s) => [s.growthBytes, s.change, s.category])).toEqual([
      [14_000_000, 'grown', 'openssl'],
      [500_000, 'new', 'addons'],
    ]);
    expect(diff.grown[0].growthCount).toBe(1000);
    expect(diff.grown[0].bytesBefore).toBe(1_000_000);
    expect(diff.grown[0].bytesAfter).toBe(15_000_000);
  });

  it('lists what shrank or went away, largest shrink first', () => {
    expect(diff.shrunk.map((s) => [s.growthBytes, s.change, s.category])).toEqual([
      [-2_000_000, 'gone', 'zlib'],
      [-1_000_000, 'shrunk', 'node'],
    ]);
    expect([diff.newSites, diff.goneSites]).toEqual([1, 1]);
  });

  it('sums to the change in totals, per category too', () => {
    const sum = [...diff.grown, ...diff.shrunk].reduce((a, s) => a + s.growthBytes, 0);
    expect(sum).toBe(after.totalBytes - before.totalBytes);
    expect(diff.growthBytes).toBe(after.totalBytes - before.totalBytes);
    expect(diff.categories.openssl).toMatchObject({ before: 1_000_000, after: 15_000_000, growthBytes: 14_000_000 });
    expect(diff.categories.zlib.growthBytes).toBe(-2_000_000);
    expect(diff.intervalMs).toBe(60_000);
  });

  it('carries the sampled allocations behind each site and category, and gives a grown site its Poisson error from them', () => {
    const samplesOf = (profile: typeof before, stack: typeof STACKS.ssl) => profile.sites.find((s) => s.stack === stack)!.samples;
    const ssl = diff.grown[0];
    expect([ssl.samplesBefore, ssl.samplesAfter]).toEqual([samplesOf(before, STACKS.ssl), samplesOf(after, STACKS.ssl)]);
    expect(diff.grown[1]).toMatchObject({ change: 'new', samplesBefore: 0, samplesAfter: samplesOf(after, STACKS.addon) });
    // The profiles carry no categorySamples: the sites' are summed per category.
    expect(diff.categories.openssl).toMatchObject({ samplesBefore: samplesOf(before, STACKS.ssl), samplesAfter: samplesOf(after, STACKS.ssl) });
    expect(diff.categories.zlib).toMatchObject({ samplesBefore: samplesOf(before, STACKS.zlib), samplesAfter: 0 });
    // √(after + before) ÷ (after − before): more samples, a smaller error; a new site's is 1/√after.
    const error = siteGrowthError(ssl)!;
    expect(error).toBeCloseTo(Math.sqrt(ssl.samplesAfter + ssl.samplesBefore) / (ssl.samplesAfter - ssl.samplesBefore), 12);
    expect(siteGrowthError(diff.grown[1])).toBeCloseTo(1 / Math.sqrt(diff.grown[1].samplesAfter), 12);
    expect(siteGrowthError(diff.grown[1])).not.toBeCloseTo(error, 2);
    expect(renderDiff(diff)).toContain(`±${Math.round(error * 100)}% [openssl]`);
    // Profiles whose sites carry no counts (made elsewhere) give no error rather than a made-up one.
    const bare = (p: typeof before) => ({ ...p, sites: p.sites.map((s) => ({ ...s, samples: 0 })) });
    const uncounted = diffProfiles(bare(before), bare(after));
    expect(siteGrowthError(uncounted.grown[0])).toBeNull();
    expect(uncounted.categories.openssl.samplesAfter).toBeNull();
  });

  it('keys a site by its symbolized stack: moved JIT code and merged duplicates are one site', () => {
    const a = [frame('malloc', 0x100, 'libc'), jsFrame('parse', 0x3a00_0000_1000)];
    const b = [frame('malloc', 0x100, 'libc'), jsFrame('parse', 0x3a00_0000_9000)];
    expect(siteKey(a)).toBe(siteKey(b));
    const d = diffProfiles(makeProfile([site(a, 100)]), makeProfile([site(b, 300), site(a, 50)], { takenAt: 1_700_000_070_000 }));
    expect(d.grown).toHaveLength(1);
    expect(d.grown[0].growthBytes).toBe(250);
    // Unsymbolized frames are module+offset, not absolute addresses.
    expect(siteKey([frame(null, 0x1234, 'addon')])).toBe('fancy.node+0x1234');
  });

  it('says when the two profiles sampled at different rates, and counts newly dropped samples', () => {
    const d = diffProfiles(makeProfile([], { sampleBytes: 32768 }), makeProfile([], { sampleBytes: 524288, dropped: 5, takenAt: 1_700_000_070_000 }));
    expect(d.note).toMatch(/sampled at 32768 and 524288 bytes/);
    expect(d.droppedDelta).toBe(5);
  });

  it('renders like summary.diff: totals, categories, the sites named past malloc', () => {
    const text = renderDiff(diff, 5);
    expect(text).toMatch(/Native heap \(sampled\): 6\.7 MiB → 17\.6 MiB \(\+11230\.5 KiB\) over 60\.0 s/);
    expect(text).toMatch(/openssl\s+14648\.4 KiB \(\+13671\.9 KiB\)/);
    expect(text).toMatch(/\+13671\.9 KiB\s+±\d+% \[openssl\] CRYPTO_malloc ← SSL_new ← node::crypto::TLSWrap::TLSWrap/);
    expect(text).toContain('(new) [addons] fancy.node+0x1234');
  });

  it('titles a site by its frames past the allocator, C++ parameter lists dropped', () => {
    expect(shortName('node::TCPWrap::New(v8::FunctionCallbackInfo<v8::Value> const&)')).toBe('node::TCPWrap::New()');
    expect(
      shortName('node::LibuvStreamWrap::ReadStart()::{lambda(uv_handle_s*, unsigned long, ' + 'uv_buf_t*)#1}::_FUN(uv_handle_s*, unsigned long, uv_buf_t*)'),
    ).toBe('node::LibuvStreamWrap::ReadStart()::{lambda(uv_handle_s*, unsigned long, uv_buf_t*)#1}::_FUN()');
    expect(shortName('std::vector<int>::size() const')).toBe('std::vector<int>::size() const');
    expect(shortName('CRYPTO_zalloc')).toBe('CRYPTO_zalloc');
    expect(siteTitle([frame('operator new(unsigned long)', 0x10), frame('node::TCPWrap::New(v8::FunctionCallbackInfo<v8::Value> const&)', 0x20)])).toBe(
      'node::TCPWrap::New()',
    );
  });

  it('turns what grew into a profile of its own (for toPprof), shrunk sites left out and named', () => {
    const grown = growthProfile(diff);
    expect(grown.sites.map((s) => s.bytes)).toEqual([14_000_000, 500_000]);
    expect(grown.totalBytes).toBe(14_500_000);
    expect(grown.categories.openssl).toBe(14_000_000);
    expect(grown.categories.zlib).toBe(0);
    expect(grown.source).toMatch(/sites that shrank, -3000000 bytes in all, left out/);
    expect([grown.startedAt, grown.takenAt]).toEqual([before.takenAt, after.takenAt]);
  });

  it('rejects non-profiles and profiles out of order with coded errors', () => {
    expect(() => diffProfiles({} as never, after)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => diffProfiles(after, before)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => diffProfiles(after, before)).toThrow(/Expected a profile taken after before's/);
  });
});
