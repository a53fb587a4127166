import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FakeNative } from '../helpers/fake-native';

/** nativeHeap and openssl sessions over the fake addon: each user's references are its own. */
async function load(configure: (fake: FakeNative) => void = () => {}) {
  vi.resetModules();
  const { installFakeNative } = await import('../helpers/fake-native');
  const fake = installFakeNative(configure);
  const { nativeHeap } = await import('../../src/native-heap');
  const { openssl } = await import('../../src/openssl/tracking');
  return { fake, nativeHeap, openssl };
}

afterEach(async () => {
  (await import('../../src/native')).setNativeForTesting(undefined);
});

describe('nativeHeap sessions', () => {
  it('refuses a different sampleBytes with ERR_SESSION_CONFLICT naming the running rate, nothing changed', async () => {
    const { fake, nativeHeap } = await load();
    const probe = nativeHeap.session({ sampleBytes: 512 * 1024 });
    expect(() => nativeHeap.start({ sampleBytes: 4096 })).toThrow(
      expect.objectContaining({ name: 'SockprobeError', code: 'ERR_SESSION_CONFLICT', message: expect.stringContaining('524288') }),
    );
    expect(fake.heapState).toMatchObject({ active: true, sampleBytes: 512 * 1024, users: 1 });
    expect(nativeHeap.runningSampleBytes()).toBe(512 * 1024);
    probe.stop();
    expect(nativeHeap.runningSampleBytes()).toBeNull();
  });

  it('module stop() gives back the bare start() references only, never a session() another user holds', async () => {
    const { fake, nativeHeap } = await load();
    const own = nativeHeap.session({ sampleBytes: 4096 });
    const app = nativeHeap.start({ sampleBytes: 4096 });
    nativeHeap.start({ sampleBytes: 4096 });
    expect([app.session, app.sampleBytes, app.active, fake.heapState.users]).toEqual([own.session, 4096, true, 3]);
    nativeHeap.stop();
    expect([fake.heapState.active, fake.heapState.users, own.active, app.active]).toEqual([true, 1, true, false]);
    expect(app.ended).toMatchObject({ reason: 'nativeHeap.stop() was called' });
    nativeHeap.stop(); // idempotent: nothing of this realm's bare start() is left
    expect(fake.heapState.users).toBe(1);
    own.stop();
    own.stop(); // idempotent
    expect([fake.heapState.active, fake.count('heapStop')]).toEqual([false, 3]);
  });

  it("a handle's stop() gives back its own reference; the last one ends the session", async () => {
    const { fake, nativeHeap } = await load();
    const a = nativeHeap.start({ sampleBytes: 8192 });
    const b = nativeHeap.start({ sampleBytes: 8192 });
    a.stop();
    expect([nativeHeap.active(), b.active]).toEqual([true, true]);
    b.stop();
    expect(nativeHeap.active()).toBe(false);
    // A new session after the last user left: a fresh id; the old handles stay ended.
    const c = nativeHeap.start({ sampleBytes: 4096 });
    expect([c.session > b.session, b.active, fake.heapState.sampleBytes]).toEqual([true, false, 4096]);
    nativeHeap.stop();
  });

  it('a handle whose session ended from outside says so, with when', async () => {
    const { fake, nativeHeap } = await load();
    const own = nativeHeap.session({ sampleBytes: 4096 });
    const before = Date.now();
    fake.endHeapSession();
    expect(own.active).toBe(false);
    expect(own.ended!.atMs).toBeGreaterThanOrEqual(before);
    expect(own.ended!.reason).toMatch(/ended without this reference being given back/);
  });
});

describe('openssl sessions', () => {
  it("module stop() leaves another user's session() running; the figures count from the session's start", async () => {
    const { fake, openssl } = await load();
    const own = openssl.session();
    const app = openssl.start();
    expect(app.session).toBe(own.session);
    expect(app.sinceMs).toBe(own.sinceMs);
    openssl.stop();
    expect(openssl.stats()).toMatchObject({ tracking: true, users: 1 });
    expect(own.active).toBe(true);
    own.stop();
    expect(openssl.stats()).toMatchObject({ tracking: false, users: 0 });
    expect(fake.count('opensslStop')).toBe(2);
  });
});
