import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATEGORIES, categorize } from '../../src/native-heap/categories';
import type { NativeHeapCategory, NativeHeapFrame } from '../../src/native-heap/profile';
import { frame, jsFrame } from '../helpers/native-heap';

// Stacks recorded from real runs of test/fixtures/native-heap-categories.js on each Node line
// (the two largest sites per path, innermost first, the first 12 frames).
const recorded: { stacks: Record<string, Record<string, string[][]>> } = JSON.parse(
  fs.readFileSync(path.join(__dirname, 'recorded', 'native-heap-stacks.json'), 'utf8'),
);

/** A recorded frame back as a NativeHeapFrame: a name is a frame of the executable; `kind:module+0x…` an unnamed one. */
function toFrame(text: string, i: number): NativeHeapFrame {
  const unnamed = /^(native|javascript|unknown):(.*)\+0x([0-9a-f]+)$/.exec(text);
  if (!unnamed) return frame(text, 0x10_0000 + i * 16);
  if (unnamed[1] === 'javascript') return jsFrame('', 0x3a00_0000_0000 + i * 16);
  if (unnamed[1] === 'native') return frame(null, parseInt(unnamed[3], 16), 'libc');
  return { name: null, module: null, address: `0x${(0x7f00_0000_0000 + i * 16).toString(16)}`, kind: 'unknown' };
}

const EXE = frame('x', 0).module!;
const categoryOf = (names: string[]) => categorize(names.map(toFrame), EXE);

const EXPECTED: Record<string, NativeHeapCategory> = { zlib: 'zlib', tlsBuffers: 'node:tls-buffers', buffers: 'node:buffers', openssl: 'openssl' };

describe('categorize (who owns a site, on stacks recorded from real allocations)', () => {
  const lines = Object.keys(recorded.stacks);

  it('has stacks from every Node line, for every path', () => {
    expect(lines.map((v) => v.split('.')[0])).toEqual(['v20', 'v22', 'v24', 'v26']);
    for (const line of lines) expect(Object.keys(recorded.stacks[line]).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const line of lines) {
    for (const [route, category] of Object.entries(EXPECTED)) {
      it(`${line}: ${route} → ${category}`, () => {
        for (const stack of recorded.stacks[line][route]) expect(categoryOf(stack)).toBe(category);
      });
    }
  }

  it(
    'puts zlib streams in zlib with AllocForZlib innermost, whichever class owns it ' +
      '(CompressionStream<…> on 20/22, CompressionStreamMemoryOwner on 24/26)',
    () => {
      const owners = new Set(lines.map((line) => recorded.stacks[line].zlib[0][0].replace(/::AllocForZlib.*/, '')));
      expect(owners.size).toBe(2);
      for (const line of lines) expect(recorded.stacks[line].zlib[0][1]).toBe('deflateInit2_');
    },
  );

  it('gives NodeBIO its own category even under OpenSSL’s BIO_write, and OpenSSL what OpenSSL allocates under NodeBIO', () => {
    const underBioWrite = lines.flatMap((line) => recorded.stacks[line].tlsBuffers).find((s) => s.includes('BIO_write'));
    expect(underBioWrite).toBeDefined();
    expect(categoryOf(underBioWrite!)).toBe('node:tls-buffers');
    expect(categoryOf(['CRYPTO_zalloc', 'BIO_new', 'node::crypto::NodeBIO::New(node::Environment*)'])).toBe('openssl');
  });

  it('leaves other V8 and Node sites where they were, and names every category once', () => {
    expect(categoryOf(['operator new(unsigned long)', 'v8::internal::AccountingAllocator::AllocateSegment(unsigned long, bool)'])).toBe('v8');
    expect(categoryOf(['node::StreamBase::ReadStart()', 'uv__read'])).toBe('node');
    expect(categoryOf(['deflate_stored', 'deflate'])).toBe('zlib');
    expect(new Set(CATEGORIES).size).toBe(CATEGORIES.length);
    expect(CATEGORIES).toEqual(expect.arrayContaining(['zlib', 'node:tls-buffers', 'node:buffers', 'openssl', 'v8', 'node', 'libuv', 'addons', 'other']));
  });
});
