/**
 * The addon's profile tables (src/binding/heap.ts) as a NativeHeapProfile, built on the JS
 * thread in slices of about SLICE_MS each: a heavy profile (thousands of frames, thousands
 * of sites of ~40 frames) takes tens of ms of objects, which in one turn would hold every
 * other callback back as long.
 */
import type { NativeHeapRawProfile } from '../binding/heap';
import { CATEGORIES, frameCategory } from './categories';
import { SOURCE, type NativeHeapCategory, type NativeHeapFrame, type NativeHeapProfile } from './profile';
import type { PerfMap } from './js-names';
import { TurnSlicer } from './slicer';

/** `maxSites`: site objects are built for the largest that many only (the addon sorts sites by
 *  bytes); the others still count in totalBytes and categories, and in `omitted`. `jsNames`: V8's
 *  perf map (js-names.ts), which names JavaScript frames where the process writes one. */
export async function decodeProfile(
  raw: NativeHeapRawProfile,
  slicer: TurnSlicer = new TurnSlicer(),
  maxSites = Infinity,
  jsNames: PerfMap | null = null,
): Promise<NativeHeapProfile> {
  const strings = await readStrings(raw.strings, slicer);
  const { frames, decided } = await readFrames(raw, strings, slicer, jsNames);
  const { bytes, counts, samples, stackLengths, stackFrames } = raw.sites;
  const categories = Object.fromEntries(CATEGORIES.map((category) => [category, 0])) as Record<NativeHeapCategory, number>;
  const categorySamples = Object.fromEntries(CATEGORIES.map((category) => [category, 0])) as Record<NativeHeapCategory, number>;
  const sites: NativeHeapProfile['sites'] = [];
  let totalBytes = 0;
  const omitted = { sites: 0, bytes: 0, count: 0 };
  let at = 0;
  for (let i = 0; i < stackLengths.length; i++) {
    const kept = sites.length < maxSites;
    const stack: NativeHeapFrame[] = [];
    // categorize(): the first frame, from the innermost, that decides.
    let category: NativeHeapCategory | undefined;
    for (const end = at + stackLengths[i]; at < end; at++) {
      const index = stackFrames[at];
      if (kept) stack.push(frames[index]);
      category ??= decided[index];
    }
    const siteBytes = Math.round(bytes[i]);
    const siteCount = Math.round(counts[i] * 100) / 100;
    if (kept) sites.push({ bytes: siteBytes, count: siteCount, samples: samples[i], stack });
    else {
      omitted.sites++;
      omitted.bytes += siteBytes;
      omitted.count += siteCount;
    }
    totalBytes += siteBytes;
    categories[category ?? 'other'] += siteBytes;
    categorySamples[category ?? 'other'] += samples[i];
    if (slicer.due()) await slicer.next();
  }
  return {
    ...(omitted.sites > 0 ? { omitted: { ...omitted, count: Math.round(omitted.count * 100) / 100 } } : {}),
    sampleBytes: raw.sampleBytes,
    totalBytes,
    startedAt: raw.startedAt,
    takenAt: raw.takenAt,
    sites,
    categories,
    categorySamples,
    dropped: raw.dropped,
    source: SOURCE,
  };
}

/** The '\0'-terminated strings, in order. */
async function readStrings(joined: string, slicer: TurnSlicer): Promise<string[]> {
  const strings: string[] = [];
  for (let start = 0; start < joined.length; ) {
    const end = joined.indexOf('\0', start);
    const stop = end < 0 ? joined.length : end;
    strings.push(joined.slice(start, stop));
    start = stop + 1;
    if (slicer.due()) await slicer.next();
  }
  return strings;
}

/** One NativeHeapFrame per distinct address (shared by the sites that reach it), and the
 *  category each decides, if any. */
async function readFrames(
  raw: NativeHeapRawProfile,
  strings: readonly string[],
  slicer: TurnSlicer,
  jsNames: PerfMap | null,
): Promise<{ frames: NativeHeapFrame[]; decided: Array<NativeHeapCategory | undefined> }> {
  const { addresses, names, modules, offsets, kinds, kindNames } = raw.frames;
  const frames: NativeHeapFrame[] = [];
  const decided: Array<NativeHeapCategory | undefined> = [];
  for (let i = 0; i < kinds.length; i++) {
    const module = modules[i] < 0 ? null : strings[modules[i]];
    const frame: NativeHeapFrame = {
      name: names[i] < 0 ? null : strings[names[i]],
      module,
      address: hexAddress(addresses[2 * i], addresses[2 * i + 1]),
      kind: kindNames[kinds[i]],
    };
    if (module !== null) frame.offset = offsets[i];
    if (frame.kind === 'javascript' && frame.name === null && jsNames) frame.name = jsNames.nameAt(addresses[2 * i] * 2 ** 32 + addresses[2 * i + 1]);
    frames.push(frame);
    decided.push(frameCategory(frame, raw.executable));
    if (slicer.due()) await slicer.next();
  }
  return { frames, decided };
}

/** '0x…' in lower case without leading zeros, from the address's 32-bit halves. */
function hexAddress(high: number, low: number): string {
  return high === 0 ? `0x${low.toString(16)}` : `0x${high.toString(16)}${low.toString(16).padStart(8, '0')}`;
}
