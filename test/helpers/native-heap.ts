import * as fs from 'node:fs';
import { CATEGORIES } from '../../src/native-heap/categories';
import type { NativeHeapCategory, NativeHeapFrame, NativeHeapProfile, NativeHeapSite } from '../../src/native-heap/profile';

// categorize() tells the executable from addons by path, as the profiler resolves it.
const EXE = fs.realpathSync('/proc/self/exe');
const LIBC = '/usr/lib/x86_64-linux-gnu/libc.so.6';
const ADDON = '/srv/app/node_modules/fancy/build/Release/fancy.node';
const BASES: Record<string, number> = { [EXE]: 0x400000, [LIBC]: 0x7f0000000000, [ADDON]: 0x7f1000000000 };

/** A native frame in a module; `name: null` for an unsymbolized one. The offset fixes the address. */
export function frame(name: string | null, offset: number, module: 'exe' | 'libc' | 'addon' = 'exe'): NativeHeapFrame {
  const path = module === 'exe' ? EXE : module === 'libc' ? LIBC : ADDON;
  return { name, module: path, address: `0x${(BASES[path] + offset).toString(16)}`, offset, kind: 'native' };
}

export const jsFrame = (name: string, address: number): NativeHeapFrame => ({ name, module: null, address: `0x${address.toString(16)}`, kind: 'javascript' });

/** Stacks the tests reuse, innermost first (malloc first, as the profiler reports them). */
export const STACKS = {
  ssl: [
    frame('malloc', 0x100, 'libc'),
    frame('CRYPTO_malloc', 0x2000),
    frame('SSL_new', 0x3000),
    frame('node::crypto::TLSWrap::TLSWrap', 0x4000),
    frame('node::crypto::TLSWrap::Wrap', 0x4100),
  ],
  readBuffer: [frame('malloc', 0x100, 'libc'), frame('node::StreamBase::ReadStart', 0x5000), frame('uv__read', 0x6000), frame('uv_run', 0x6100)],
  v8: [
    frame('operator new(unsigned long)', 0x200, 'exe'),
    frame('v8::internal::AccountingAllocator::AllocateSegment(unsigned long, bool)', 0x7000),
    jsFrame('onconnection', 0x3a00_0000_1000),
  ],
  addon: [frame('malloc', 0x100, 'libc'), frame(null, 0x1234, 'addon'), frame('napi_call_function', 0x8000)],
  // As Node 26 reports a zlib.createDeflateRaw() stream's window (test/fixtures/native-heap-categories.js):
  // zlib's zalloc callback innermost, zlib's deflateInit2_ its caller.
  zlib: [
    frame('node::(anonymous namespace)::CompressionStreamMemoryOwner::AllocForZlib(void*, unsigned int, unsigned int)', 0x9000),
    frame('deflateInit2_', 0x9100),
    frame('node::(anonymous namespace)::ZlibContext::InitZlib()', 0x9200),
    frame('node::(anonymous namespace)::CompressionStream<node::(anonymous namespace)::ZlibContext>::DoThreadPoolWork()', 0x9300),
    frame('worker', 0x9400),
  ],
} satisfies Record<string, NativeHeapFrame[]>;

export function site(
  stack: NativeHeapFrame[],
  bytes: number,
  count = Math.max(1, Math.round(bytes / 4096)),
  samples = Math.max(1, Math.round(bytes / 65536)),
): NativeHeapSite {
  return { stack, bytes, count, samples };
}

/** A profile from sites, with totals and categories made the way the contract says (categories from the stacks). */
export function makeProfile(
  sites: NativeHeapSite[],
  fields: Partial<NativeHeapProfile> = {},
  categoryOf?: (s: NativeHeapSite) => NativeHeapCategory,
): NativeHeapProfile {
  const categories = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<NativeHeapCategory, number>;
  for (const s of sites) if (categoryOf) categories[categoryOf(s)] += s.bytes;
  return {
    sampleBytes: 65536,
    totalBytes: sites.reduce((a, s) => a + s.bytes, 0),
    startedAt: 1_700_000_000_000,
    takenAt: 1_700_000_060_000,
    sites: [...sites].sort((a, b) => b.bytes - a.bytes),
    categories,
    dropped: 0,
    source: 'test profile',
    ...fields,
  };
}
