import { describe, expect, it } from 'vitest';
import type { NativeHeapCategory } from '../../src/native-heap/profile';
import { runFixture } from '../helpers/child';

interface Route {
  bytes: number;
  byCategory: Partial<Record<NativeHeapCategory, number>>;
  top: Array<{ bytes: number; category: NativeHeapCategory; frames: string[] }>;
}

interface Result {
  node: string;
  totalBytes: number;
  categories: Record<NativeHeapCategory, number>;
  paths: Record<'zlib' | 'tlsBuffers' | 'buffers' | 'openssl', Route>;
  unnamed: { frameShare: number; byKind: Record<string, number> };
}

const STREAMS = 48;
const BUFFERS = 12;
const MiB = 1024 * 1024;
// zlib's own figures (zconf.h): deflate takes (1 << (windowBits + 2)) + (1 << (memLevel + 9))
// bytes, inflate 1 << windowBits, at Node's defaults windowBits 15 and memLevel 8.
const ZLIB_BYTES = STREAMS * ((1 << 17) + (1 << 17) + (1 << 15));

const share = (route: Route, category: NativeHeapCategory) => (route.byCategory[category] ?? 0) / route.bytes;

describe('native heap categories, allocated for real through each path', () => {
  it('puts zlib streams in zlib, NodeBIO in node:tls-buffers, Buffers in node:buffers and SSL objects in openssl', async () => {
    const { json } = await runFixture<Result>('native-heap-categories.js', { env: { STREAMS: String(STREAMS), CONNECTIONS: '16', BUFFERS: String(BUFFERS), SAMPLE_BYTES: '8192' } });
    const { paths, categories } = json;
    // Every site under Node's zalloc callback is zlib's, and the category holds what zlib says
    // the streams take (±20%: the estimate is sampled).
    expect(paths.zlib.top[0].frames[0]).toMatch(/::AllocForZlib\(/);
    expect(share(paths.zlib, 'zlib')).toBe(1);
    expect(categories.zlib).toBeGreaterThan(ZLIB_BYTES * 0.8);
    expect(categories.zlib).toBeLessThan(ZLIB_BYTES * 1.2);
    // NodeBIO's buffers are the socket's; what OpenSSL allocates under NodeBIO::New stays OpenSSL's.
    expect(paths.tlsBuffers.top[0].category).toBe('node:tls-buffers');
    expect(share(paths.tlsBuffers, 'node:tls-buffers')).toBeGreaterThan(0.9);
    expect(categories['node:tls-buffers']).toBeGreaterThanOrEqual(paths.tlsBuffers.byCategory['node:tls-buffers']!);
    // The held 1 MiB Buffers are at least what node:buffers holds.
    expect(share(paths.buffers, 'node:buffers')).toBe(1);
    expect(categories['node:buffers']).toBeGreaterThan(BUFFERS * MiB * 0.8);
    expect(share(paths.openssl, 'openssl')).toBe(1);
    // No category is left with the bytes another owns.
    expect(categories.node).toBeLessThan(categories.zlib);
    const sum = Object.values(categories).reduce((a, b) => a + b, 0);
    expect(Math.abs(sum - json.totalBytes)).toBeLessThan(1);
  }, 120_000);
});
