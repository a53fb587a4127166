import { execFileSync } from 'node:child_process';
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
  unnamed: { frameShare: number; nativeFrameShare: number; byKind: Record<string, number> };
  executable: string;
  builtins: Array<{ name: string; address: string; offset: number; module: string }>;
  exeMappings: Array<{ start: string; end: string; perms: string; offset: number }>;
  libcNames: Array<string | null>;
}

/** The executable's function symbols from binutils' readelf (.symtab), a reader the project did not write. */
function readelfFunctions(file: string): Array<{ value: bigint; size: bigint; name: string }> {
  const text = execFileSync('readelf', ['-sW', file], { maxBuffer: 512 * 1024 * 1024 }).toString();
  const out: Array<{ value: bigint; size: bigint; name: string }> = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[3] === 'FUNC' && f.length >= 8) out.push({ value: BigInt(`0x${f[1]}`), size: BigInt(f[2].startsWith('0x') ? f[2] : Number(f[2])), name: f[7] });
  }
  return out;
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
    const { json } = await runFixture<Result>('native-heap-categories.js', {
      env: { STREAMS: String(STREAMS), CONNECTIONS: '16', BUFFERS: String(BUFFERS), SAMPLE_BYTES: '8192' },
    });
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

  it('names every native frame: V8 builtins where they run from the remapped copy of the executable, libc from its debug file', async () => {
    const { json } = await runFixture<Result>('native-heap-categories.js', { env: { STREAMS: '16', CONNECTIONS: '8', BUFFERS: '4', SAMPLE_BYTES: '8192' } });
    // Frames with no name: none but JIT code's (labelled [JavaScript] by kind), under 1% of the sampled bytes.
    expect(json.unnamed.nativeFrameShare).toBeLessThan(0.01);
    expect(Object.keys(json.unnamed.byKind).filter((k) => !k.startsWith('javascript:'))).toEqual([]);
    // Each builtin's name is the one binutils reads at its offset in the executable, wherever it ran.
    const base = BigInt(json.exeMappings.find((m) => m.offset === 0)!.start);
    const symbols = readelfFunctions(json.executable);
    let remapped = 0;
    for (const frame of json.builtins) {
      expect(frame.module).toBe(json.executable);
      const at = base + BigInt(frame.offset) - 1n;
      expect(symbols.filter((s) => s.value <= at && at < s.value + s.size).map((s) => s.name)).toContain(frame.name);
      const mapping = json.exeMappings.find((m) => BigInt(m.start) <= BigInt(frame.address) && BigInt(frame.address) <= BigInt(m.end))!;
      if (BigInt(mapping.start) - BigInt(mapping.offset) !== base) remapped++;
    }
    // JIT code calls builtins in V8's second mapping of the executable (short builtin calls).
    expect(remapped).toBeGreaterThan(0);
    // The threadpool's frames end in libc's start_thread, which only its .symtab names (libc6-dbg).
    expect(json.libcNames).toContain('start_thread');
    expect(json.libcNames).not.toContain(null);
  }, 120_000);

  it("names an addon's local function from its .symtab, and never from a file renamed over it since it was loaded", async () => {
    const { json } = await runFixture<{ asLoaded: AddonFrame | null; afterReplace: AddonFrame | null }>('native-heap-addon-symbols.js');
    // Hold is in an anonymous namespace: .dynsym does not have it, .symtab does.
    expect(json.asLoaded?.name).toMatch(/^\(anonymous namespace\)::Hold\(/);
    // The same frame, the path now another build's: module+offset, not a name from the wrong file.
    expect(json.afterReplace?.offset).toBe(json.asLoaded?.offset);
    expect(json.afterReplace?.name).toBeNull();
  }, 120_000);
});

interface AddonFrame {
  name: string | null;
  offset: number;
  bytes: number;
}
