/**
 * The addon's profile tables (src/binding/heap.ts) from readable sites, tabulated the way
 * native/heap/profile_tables.cc does (sites with equal stacks merged, sorted by bytes,
 * frames numbered by first use, names and modules interned), written apart from it so that
 * the decoder's tests do not lean on the code they check.
 */
import type { NativeHeapRawProfile } from '../../src/binding/heap';
import type { NativeHeapFrame } from '../../src/native-heap/profile';

export interface ReadableSite {
  bytes: number;
  count: number;
  samples: number;
  stack: NativeHeapFrame[];
}

const KIND_NAMES: NativeHeapRawProfile['frames']['kindNames'] = ['native', 'javascript', 'unknown'];

export function rawProfile(sites: ReadableSite[], fields: Partial<Omit<NativeHeapRawProfile, 'frames' | 'sites' | 'strings'>> = {}): NativeHeapRawProfile {
  const merged = new Map<string, ReadableSite>();
  for (const site of sites) {
    const key = site.stack.map((frame) => frame.address).join(',');
    const existing = merged.get(key);
    if (existing) {
      existing.bytes += site.bytes;
      existing.count += site.count;
      existing.samples += site.samples;
    } else {
      merged.set(key, { ...site });
    }
  }
  const ordered = [...merged.values()].sort((a, b) => b.bytes - a.bytes);
  const strings: string[] = [];
  const intern = (value: string | null): number => {
    if (value === null) return -1;
    const at = strings.indexOf(value);
    return at >= 0 ? at : strings.push(value) - 1;
  };
  const frameIndex = new Map<string, number>();
  const frames: NativeHeapFrame[] = [];
  const stackFrames: number[] = [];
  for (const site of ordered) {
    for (const frame of site.stack) {
      if (!frameIndex.has(frame.address)) frameIndex.set(frame.address, frames.push(frame) - 1);
      stackFrames.push(frameIndex.get(frame.address)!);
    }
  }
  const addresses = frames.flatMap((frame) => {
    const value = BigInt(frame.address);
    return [Number(value >> 32n), Number(value & 0xffffffffn)];
  });
  const names = Int32Array.from(frames.map((frame) => intern(frame.name)));
  const modules = Int32Array.from(frames.map((frame) => intern(frame.module)));
  return {
    sampleBytes: 65536,
    startedAt: 1_700_000_000_000,
    takenAt: 1_700_000_060_000,
    dropped: 0,
    patchedSlots: 40,
    executable: '/usr/bin/node',
    allocatorObject: '',
    ...fields,
    strings: strings.map((value) => `${value}\0`).join(''),
    frames: {
      addresses: Uint32Array.from(addresses),
      names,
      modules,
      offsets: Float64Array.from(frames.map((frame) => frame.offset ?? 0)),
      kinds: Uint8Array.from(frames.map((frame) => KIND_NAMES.indexOf(frame.kind))),
      kindNames: KIND_NAMES,
    },
    sites: {
      bytes: Float64Array.from(ordered.map((site) => site.bytes)),
      counts: Float64Array.from(ordered.map((site) => site.count)),
      samples: Float64Array.from(ordered.map((site) => site.samples)),
      stackLengths: Uint32Array.from(ordered.map((site) => site.stack.length)),
      stackFrames: Uint32Array.from(stackFrames),
    },
  };
}
