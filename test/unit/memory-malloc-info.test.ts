import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseMallocInfo } from '../../src/memory/malloc-info';
import type { FakeNative } from '../helpers/fake-native';
import { recordedMeta, recordedText } from '../helpers/recorded';
import type { NativeMallinfo2 } from '../../src/binding/malloc';

// malloc_info of node after 400 TLS connections closed, with mallinfo2() read just before and
// after it (equal): glibc's other account of the same arenas.
const xml = recordedText('malloc-info-tls-spike.xml');
const { mallinfo2 } = recordedMeta<{ mallinfo2: NativeMallinfo2 }>('malloc-info-tls-spike');
const attribute = (element: string, name: string) => [...xml.matchAll(new RegExp(`<${element}[^>]*\\b${name}="(\\d+)"`, 'g'))].map((m) => Number(m[1]));

afterEach(async () => (await import('../../src/native')).setNativeForTesting(undefined));

describe('parseMallocInfo on recorded glibc XML after a TLS spike', () => {
  const info = parseMallocInfo(xml);

  it('finds every arena the XML lists', () => {
    expect(info.arenas.map((a) => a.index)).toEqual([...xml.matchAll(/<heap nr="(\d+)">/g)].map((m) => Number(m[1])));
    expect(info.arenas.length).toBeGreaterThan(1);
  });

  it('totals agree with mallinfo2 read at the same moment', () => {
    expect(info.total.systemBytes).toBe(mallinfo2.arena);
    expect(info.total.mmapBytes).toBe(mallinfo2.hblkhd);
    expect(info.total.mmapCount).toBe(mallinfo2.hblks);
    expect(info.total.fastFreeBytes).toBe(mallinfo2.fsmblks);
    // malloc_info writes into a memory stream it grows while it walks the arenas: the free
    // total it prints differs from mallinfo2's by at most that stream's buffer.
    expect(Math.abs(info.total.freeBytes - mallinfo2.fordblks)).toBeLessThan(2 * xml.length);
    expect(info.total.freeBytes).toBeGreaterThan(50 * 1024 * 1024); // the spike left tens of MiB free
  });

  it('per-arena figures sum to the totals glibc wrote, and in use is system minus free', () => {
    const sum = (key: 'systemBytes' | 'freeBytes' | 'freeChunks' | 'addressSpaceBytes') => info.arenas.reduce((total, arena) => total + arena[key], 0);
    expect(sum('systemBytes')).toBe(info.total.systemBytes);
    expect(sum('freeBytes')).toBe(info.total.freeBytes);
    expect(sum('freeChunks')).toBe(info.total.freeChunks);
    for (const arena of info.arenas) expect(arena.inUseBytes).toBe(arena.systemBytes - arena.freeBytes);
  });

  it('reads each arena from its own summary lines, not from its <size> list', () => {
    // Arena 0's `rest` line, found by position in the raw text: the first <total type="rest"> after <heap nr="0">.
    const heap0 = xml.slice(xml.indexOf('<heap nr="0">'), xml.indexOf('</heap>'));
    const rest = Number(/<total type="rest" count="\d+" size="(\d+)"/.exec(heap0)![1]);
    const fast = Number(/<total type="fast" count="\d+" size="(\d+)"/.exec(heap0)![1]);
    expect(info.arenas[0].freeBytes).toBe(rest + fast);
    expect(info.arenas[0].systemMaxBytes).toBe(Number(/<system type="max" size="(\d+)"/.exec(heap0)![1]));
    expect(attribute('size', 'total').length).toBeGreaterThan(10);
  });

  it('keeps the XML and reads nothing from an empty document', () => {
    expect(info.xml).toBe(xml);
    const empty = parseMallocInfo('<malloc version="1">\n</malloc>\n');
    expect(empty.arenas).toEqual([]);
    expect(empty.total.systemBytes).toBe(0);
  });
});

describe('mallocInfo() through the native seam', () => {
  /** The allocator is resolved once per process: load the modules afresh over a fake that `configure` sets up. */
  async function load(configure: (fake: FakeNative) => void) {
    vi.resetModules();
    const fake = (await import('../helpers/fake-native')).installFakeNative(configure);
    return { fake, mallocInfo: (await import('../../src/memory/malloc-info')).mallocInfo };
  }

  it('parses what the addon returns when glibc serves malloc', async () => {
    const { mallocInfo } = await load((fake) => (fake.mallocXml = xml));
    expect(mallocInfo().total).toEqual(parseMallocInfo(xml).total);
  });

  it('refuses with ERR_NOT_GLIBC when another allocator serves malloc', async () => {
    const { fake, mallocInfo } = await load(
      (f) => (f.owner = { ...f.owner, glibc: false, path: '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', jemalloc: true, jemallocVersion: '5.3.0' }),
    );
    expect(() => mallocInfo()).toThrow(
      expect.objectContaining({ code: 'ERR_NOT_GLIBC', message: expect.stringMatching(/jemalloc \(\/usr\/lib.*libjemalloc\.so\.2\)/) }),
    );
    expect(fake.count('mallocInfoXml')).toBe(0);
  });
});
