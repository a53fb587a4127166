import { describe, expect, it } from 'vitest';
import { runFixture } from '../helpers/child';
import type { NativeHeapReport } from '../../src';

interface Result {
  leak: { summary: string; evidence: { growthBytes: number; topSites?: Array<{ site: string; category: string; growthBytes: number }> } } | null;
  nativeHeap: NativeHeapReport;
  kept: number;
  text: string;
}

describe('the probe with nativeHeapProfile, in a real process', () => {
  it('names the call site of an other-native leak (SecureContexts kept: OpenSSL allocations)', async () => {
    // 36 s: a holder that grows with flat connections is named from 30 s of profiles on.
    const { json, stderr } = await runFixture<Result>('probe-native-heap.js', { args: ['36000'], timeoutMs: 120_000 });
    expect(json.nativeHeap.unavailable, stderr).toBeNull();
    expect(json.nativeHeap.profiles).toBeGreaterThanOrEqual(10);
    expect(json.leak, json.text).not.toBeNull();
    const [top] = json.leak!.evidence.topSites!;
    expect(top.category).toBe('openssl');
    // The named site is the one that grew: the leaked contexts are most of what OpenSSL gained.
    expect(top.site).toMatch(/CRYPTO_|SSL_CTX|ossl_|EVP_|X509|BN_/);
    const opensslGrowth = json.nativeHeap.growth!.categories.openssl.growthBytes;
    // ~18 KB per SecureContext; the sampled estimate within 35% of that (sampling noise at 32 KiB, contexts' size varies).
    expect(opensslGrowth / (json.kept * 18_000)).toBeGreaterThan(0.65);
    expect(opensslGrowth / (json.kept * 18_000)).toBeLessThan(1.5);
    expect(json.leak!.summary).toMatch(/top growing call sites .*\[openssl\]/);
    expect(json.text).toMatch(/Native heap by category \(sampled every 32768 B/);
    // The growth sites under it carry their Poisson error (√(after + before) ÷ (after − before) in samples).
    expect(json.text).toMatch(/most:\n +[\d.]+ KiB +±\d+% \[openssl\]/);
    // The holder, in words an operator knows, within 60 s: SecureContexts made again and again, growing.
    const contexts = json.nativeHeap.holders.find((h) => h.holder === 'secure-contexts');
    expect(contexts, json.text).toMatchObject({ severity: 'warning' });
    expect(contexts!.growth!.bytesPerHour).toBeGreaterThan(0);
    expect(json.text).toMatch(
      /\[warning\] TLS SecureContexts created per connection or per request: [\d.]+ MiB ±\d+%, growing [\d.]+ MiB\/hour with 50 TLS connections open — fix: create each SecureContext once and reuse it/,
    );
  }, 150_000);
});
