import type { OpensslStats } from '../../src';
import { emulated, runFixture } from './child';

/** OpenSSL's live counts at one step of test/fixtures/openssl-connections.js. */
export type OpensslCounts = Pick<OpensslStats, 'liveBytes' | 'liveAllocations'>;

/** What test/fixtures/openssl-connections.js prints: the counts before, at N and 2N connections, and once they closed. */
export interface OpensslConnectionsResult {
  role: string;
  n: number;
  /** `sockprobe`, or `reference` when counted by the preloaded counting library. */
  source: string;
  baseline: OpensslCounts;
  atN: OpensslCounts;
  at2N: OpensslCounts;
  closed: OpensslCounts;
  error?: string;
}

/**
 * One side (`role`) of N then 2N real loopback TLS connections, the other side in another process.
 * With `countFile` and `preloadPath` the counts are the reference preload's, written to that file.
 */
export async function runOpensslConnections(
  role: string,
  n: number,
  reference?: { countFile: string; preloadPath: string },
): Promise<OpensslConnectionsResult> {
  const { json } = await runFixture<OpensslConnectionsResult>('openssl-connections.js', {
    args: reference ? [role, String(n), reference.countFile] : [role, String(n)],
    nodeArgs: ['--expose-gc'],
    // runFixture sets LD_PRELOAD itself; the reference replaces it with the counting library.
    env: reference ? { SOCKPROBE_COUNT_FILE: reference.countFile } : {},
    preloadPath: reference?.preloadPath,
    // Under qemu-user (test:arm64) a TLS handshake is about 13 times slower.
    timeoutMs: emulated ? 240_000 : 120_000,
  });
  return json;
}
