import { describe, expect, it } from 'vitest';
import { runOpensslConnections } from '../helpers/openssl-connections';

const N = 40;

// Per-connection OpenSSL bytes on one side of N and 2N real loopback TLS connections (the
// other side in another process): linear, and back to baseline once they close.
describe.each(['server', 'client'])('OpenSSL bytes per TLS connection, %s side', (role) => {
  it('grows linearly with connections and returns to baseline when they close', async () => {
    const json = await runOpensslConnections(role, N);
    expect(json.error).toBeUndefined();
    const atN = (json.atN.liveBytes - json.baseline.liveBytes) / N;
    const at2N = (json.at2N.liveBytes - json.baseline.liveBytes) / (2 * N);
    // An idle TLS 1.3 connection holds kilobytes in OpenSSL on either side.
    expect(atN).toBeGreaterThan(4096);
    expect(Math.abs(at2N - atN) / atN).toBeLessThanOrEqual(0.02);
    expect(json.at2N.liveAllocations - json.baseline.liveAllocations).toBeGreaterThanOrEqual(2 * N);
    expect(Math.abs(json.closed.liveBytes - json.baseline.liveBytes)).toBeLessThanOrEqual(1024);
  });
});
