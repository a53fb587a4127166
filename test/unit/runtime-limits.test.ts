// What sockprobe says it cannot do under Bun and Deno (measured there: test/system/other-runtimes.test.ts).
import { describe, expect, it } from 'vitest';
import { runtimeLimits } from '../../src/runtime';

describe('runtime limits', () => {
  it('none under Node', () => {
    expect(runtimeLimits({ node: '20.20.2' })).toBeUndefined();
    expect(runtimeLimits()).toBeUndefined();
  });

  it('Bun: no breakdown, no native heap profile, BoringSSL; sockets work', () => {
    const bun = runtimeLimits({ node: '24.3.0', bun: '1.4.5' })!;
    expect(bun.runtime).toBe('Bun 1.4.5');
    expect(bun.memoryBreakdown).toMatch(/JavaScriptCore/);
    expect(bun.nativeHeapProfiling).toMatch(/mimalloc/);
    expect(bun.opensslTracking).toMatch(/BoringSSL/);
    expect(bun.socketFd).toBeUndefined();
  });

  it('Deno: sockets without an fd, no OpenSSL; the breakdown and the profiler work', () => {
    const deno = runtimeLimits({ node: '24.2.0', deno: '2.9.6' })!;
    expect(deno.runtime).toBe('Deno 2.9.6');
    expect(deno.socketFd).toMatch(/no file descriptor/);
    expect(deno.opensslTracking).toMatch(/rustls/);
    expect(deno.memoryBreakdown).toBeUndefined();
    expect(deno.nativeHeapProfiling).toBeUndefined();
  });
});
