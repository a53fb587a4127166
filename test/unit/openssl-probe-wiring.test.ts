import { afterEach, describe, expect, it, vi } from 'vitest';
import type { NativeSnapshotRows } from '../../src/binding/net';
import type { FakeNative } from '../helpers/fake-native';
import { recordedBytes, recordedMeta } from '../helpers/recorded';

/**
 * The real probe sources (src/probe/real-sources.ts) and the openssl module over a fake addon:
 * what reaches the seam when the probe turns OpenSSL tracking on and off. Support and the
 * allocator are resolved once per process, so each test loads the modules afresh.
 */
async function load(configure: (fake: FakeNative) => void) {
  vi.resetModules();
  const { installFakeNative } = await import('../helpers/fake-native');
  const fake = installFakeNative(configure);
  const { createProbe } = await import('../../src/probe/probe');
  const { openssl } = await import('../../src/openssl/tracking');
  return { fake, createProbe, openssl };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

afterEach(async () => {
  (await import('../../src/native')).setNativeForTesting(undefined);
  vi.restoreAllMocks();
});

describe('OpenSSL tracking through the real sources', () => {
  it('starts tracking once support is known, samples live bytes, and stops what it started', async () => {
    const { fake, createProbe } = await load(() => {});
    const probe = createProbe({ opensslTracking: true, intervalMs: 60_000 }).start();
    await settle();
    expect(fake.count('opensslTrackingProblemAsync')).toBe(1);
    expect(fake.count('opensslStart')).toBe(1);
    fake.openssl = { ...fake.openssl, liveBytes: 2_345_678 };
    expect((await probe.sample()).opensslLive).toBe(2_345_678);
    probe.stop();
    expect(fake.count('opensslStop')).toBe(1);
    expect((await probe.sample()).opensslLive).toBeNull(); // tracking off: no figure, not a stale one
  });

  it("leaves tracking the service started itself running at stop(), and the service's stop() leaves the probe's", async () => {
    const { fake, createProbe, openssl } = await load(() => {});
    openssl.start();
    fake.openssl = { ...fake.openssl, liveBytes: 1000 };
    const probe = createProbe({ opensslTracking: true, intervalMs: 60_000 }).start();
    await settle();
    expect((await probe.sample()).opensslLive).toBe(1000);
    expect(fake.openssl.users).toBe(2);
    probe.stop();
    expect(openssl.stats()).toMatchObject({ tracking: true, users: 1 });
    expect(probe.report().openssl).toMatchObject({ requested: true, unavailable: null, stopped: { reason: 'probe.stop() was called' } });
    // The other order: the service stops first; the probe's data goes on.
    const second = createProbe({ opensslTracking: true, intervalMs: 60_000 }).start();
    await settle();
    openssl.stop();
    expect(openssl.stats()).toMatchObject({ tracking: true, users: 1 });
    expect((await second.sample()).opensslLive).toBe(1000);
    expect(second.report().openssl).toMatchObject({ stopped: null, sinceMs: fake.openssl.sinceMs });
    second.stop();
    expect(openssl.stats().tracking).toBe(false);
  });

  it("says when and why the probe's data stopped when its session ended from outside", async () => {
    const { fake, createProbe } = await load(() => {});
    const probe = createProbe({ opensslTracking: true, intervalMs: 60_000 }).start();
    await settle();
    expect(probe.report().openssl).toMatchObject({ stopped: null });
    fake.endOpensslSession();
    const report = probe.report();
    expect(report.openssl!.stopped).toMatchObject({ reason: expect.stringMatching(/ended without this reference being given back/) });
    expect(probe.renderReport()).toMatch(/OpenSSL live bytes: counted since .* UTC, stopped at .* UTC: the session ended without/);
    probe.stop();
  });

  it('never touches OpenSSL where tracking cannot work, and says why once', async () => {
    const warnings = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const why = 'no .symtab in /usr/bin/node (stripped)';
    const { fake, createProbe } = await load((f) => (f.opensslProblem = why));
    const probe = createProbe({ opensslTracking: true, intervalMs: 60_000 }).start();
    await settle();
    expect((await probe.sample()).opensslLive).toBeNull();
    probe.stop();
    expect([fake.count('opensslStart'), fake.count('opensslStop'), fake.count('opensslStats')]).toEqual([0, 0, 0]);
    expect(warnings).toHaveBeenCalledWith(`OpenSSL tracking is off: ${why}`, { code: 'SOCKPROBE_OPENSSL_UNAVAILABLE' });
  });
});

describe('the real sources read the allocator and sockets through the seam', () => {
  it('gives mallinfo2 figures as allocated and free, and summarises a snapshot of the recorded rows', async () => {
    const meta = recordedMeta<{ figures: Omit<NativeSnapshotRows, 'rows'> }>('socket-rows');
    const { createProbe } = await load((f) => {
      f.mallinfo = { ...f.mallinfo, uordblks: 9 * 1048576, hblkhd: 135168, fordblks: 70 * 1048576, arena: 80 * 1048576 };
      f.snapshot = { ...meta.figures, rows: recordedBytes('socket-rows.bin') };
    });
    const sample = await createProbe({ intervalMs: 60_000 }).sample();
    expect(sample.nativeAllocated).toBe(9 * 1048576 + 135168);
    expect(sample.allocatorFreeRaw).toBe(70 * 1048576);
    expect(sample.sockets!.byState).toMatchObject({ LISTEN: 2, CLOSE_WAIT: 1 });
    expect(sample.sockets!.fds).toEqual({ open: meta.figures.fdsOpen, limit: meta.figures.fdLimit });
  });
});

describe('openssl module over the seam', () => {
  it('maps the native figures, and gives null for a session never started', async () => {
    const { fake, openssl } = await load(() => {});
    expect(openssl.stats()).toMatchObject({ tracking: false, method: null, sinceMs: null, liveBytes: 0 });
    fake.openssl = {
      tracking: true,
      started: true,
      liveBytes: 5000,
      peakBytes: 9000,
      allocations: 40,
      frees: 15,
      reallocs: 3,
      sinceMs: 1_700_000_000_000,
      session: 3,
      users: 2,
    };
    expect(openssl.stats()).toEqual({
      tracking: true,
      method: 'impl-pointers',
      liveBytes: 5000,
      peakBytes: 9000,
      allocations: 40,
      frees: 15,
      reallocs: 3,
      liveAllocations: 25,
      sinceMs: 1_700_000_000_000,
      users: 2,
    });
    expect(await openssl.supported()).toBe(true);
  });

  it('rebuilds native refusals as coded SockprobeErrors', async () => {
    const { fake, openssl } = await load(() => {});
    const { nativeError } = await import('../helpers/fake-native');
    fake.opensslStartError = nativeError('ERR_OPENSSL_SELF_CHECK', "malloc_impl does not hold OpenSSL's default");
    expect(() => openssl.start()).toThrow(expect.objectContaining({ name: 'SockprobeError', code: 'ERR_OPENSSL_SELF_CHECK' }));
    fake.opensslProblem = 'BoringSSL';
    expect(() => openssl.stats()).toThrow(
      expect.objectContaining({ code: 'ERR_UNSUPPORTED', message: 'OpenSSL allocation tracking is not available: BoringSSL' }),
    );
  });
});
