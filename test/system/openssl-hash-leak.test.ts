import { describe, expect, it } from 'vitest';
import { runFixture } from '../helpers/child';

interface Step {
  label: string;
  liveBytes: number;
  connections: number;
}

const K = 500;

describe('OpenSSL growth without connection change (native leak shape)', () => {
  it('shows crypto.createHash objects kept alive as OpenSSL live bytes, with TLS connections unchanged', async () => {
    const { json } = await runFixture<{ steps: Step[]; error?: string }>('openssl-hash-leak.js', { args: [String(K)] });
    expect(json.error).toBeUndefined();
    const [baseline, k, twoK, released] = json.steps;
    for (const step of json.steps) expect(step.connections).toBe(baseline.connections);
    const perHash = (k.liveBytes - baseline.liveBytes) / K;
    // A SHA-256 EVP_MD_CTX plus its digest state: tens to hundreds of bytes each.
    expect(perHash).toBeGreaterThan(32);
    expect(perHash).toBeLessThan(4096);
    expect(Math.abs((twoK.liveBytes - baseline.liveBytes) / (2 * K) - perHash)).toBeLessThanOrEqual(perHash * 0.02);
    expect(Math.abs(released.liveBytes - baseline.liveBytes)).toBeLessThanOrEqual(1024);
  });
});
