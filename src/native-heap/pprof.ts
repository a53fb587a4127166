/**
 * A NativeHeapProfile as a gzipped pprof protobuf (profile.proto), so `go tool pprof`, the
 * `pprof` CLI, Speedscope or a continuous profiler draw it with what users already know.
 * Encoding is pprof-format's (Datadog's encoder for @datadog/pprof); gzip runs on the threadpool.
 */
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { Function as PprofFunction, Line, Location, Mapping, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import { SockprobeTypeError } from '../errors';
import { categorize } from './categories';
import type { NativeHeapCategory } from './profile';
import type { NativeHeapFrame, NativeHeapProfile } from './profile';

const gzip = promisify(zlib.gzip);

let executable: string | undefined;

/** A site's category as the profiler counts it: categorize() with this process's executable (the realpath of /proc/self/exe, as the profiler resolves it). */
export function siteCategory(stack: NativeHeapFrame[]): NativeHeapCategory {
  if (executable === undefined) {
    try {
      executable = fs.realpathSync('/proc/self/exe');
    } catch {
      executable = process.execPath;
    }
  }
  return categorize(stack, executable);
}

/** The name a frame goes by in pprof and in diffs: its symbol, else module+offset, else its address. */
export function frameLabel(frame: NativeHeapFrame): string {
  // JIT code has no symbol the profiler can read, and its addresses move: unnamed JavaScript frames are one.
  if (frame.kind === 'javascript') return frame.name ? `${frame.name} [JS]` : '[JavaScript]';
  return frame.name ?? (frame.module ? `${moduleName(frame.module)}+0x${(frame.offset ?? 0).toString(16)}` : frame.address);
}

export const moduleName = (module: string) => module.slice(module.lastIndexOf('/') + 1);

/** Throws the coded TypeError a bad profile deserves, before anything is encoded. */
export function checkProfile(name: string, value: unknown): asserts value is NativeHeapProfile {
  const p = value as NativeHeapProfile | null;
  const ok =
    typeof p === 'object' &&
    p !== null &&
    Number.isFinite(p.sampleBytes) &&
    Number.isFinite(p.takenAt) &&
    Number.isFinite(p.startedAt) &&
    Array.isArray(p.sites) &&
    p.sites.every(
      (s) =>
        typeof s === 'object' &&
        s !== null &&
        Number.isFinite(s.bytes) &&
        Number.isFinite(s.count) &&
        Array.isArray(s.stack) &&
        s.stack.every((f) => typeof f === 'object' && f !== null && typeof f.address === 'string'),
    );
  if (!ok) throw new SockprobeTypeError(name, 'a native heap profile (from nativeHeap.profile())', value);
}

/** A mapping of a module as pprof wants it: the sampled frames' range, and the file offset at its start. */
interface ModuleSpan {
  id: number;
  file: string;
  /** address − offset: where the module's offset 0 lies in this mapping. */
  base: bigint;
  low: bigint;
  limit: bigint;
}

const PAGE = 4096n;

const JS_FILE = '[JavaScript (JIT code)]';

/**
 * Builds the pprof Profile: two sample types, inuse_objects/count and inuse_space/bytes (Go's
 * heap-profile names, so `-sample_index=inuse_space` works), each site one sample whose stack is
 * its frames innermost first (pprof's order); one location per frame address, one function per
 * symbol, one mapping per module; JavaScript frames named `… [JS]` in the file `[JavaScript (JIT code)]`;
 * each sample labelled with its category.
 */
export function toPprofProfile(profile: NativeHeapProfile): Profile {
  checkProfile('profile', profile);
  const strings = new StringTable();
  // One span per module and load base: V8's embedded builtins run from a second mapping of
  // the executable file (CodeRange::RemapEmbeddedBuiltins) whose frames carry the executable's
  // offsets at another base; they get a mapping of their own, not one stretched over the libraries.
  const modules = new Map<string, ModuleSpan>();
  const spanKey = (frame: NativeHeapFrame) => `${frame.module}@${(BigInt(frame.address) - BigInt(frame.offset ?? 0)).toString(16)}`;
  for (const site of profile.sites) {
    for (const frame of site.stack) {
      if (!frame.module || frame.kind === 'javascript' || frame.offset === undefined) continue;
      const address = BigInt(frame.address);
      const key = spanKey(frame);
      const span = modules.get(key) ?? { id: modules.size + 1, file: frame.module, base: address - BigInt(frame.offset), low: address, limit: address + 1n };
      if (address < span.low) span.low = address;
      if (address + 1n > span.limit) span.limit = address + 1n;
      modules.set(key, span);
    }
  }
  // pprof takes the first mapping for the main binary: the executable's loader mapping (its
  // lowest base) when it has frames. A module's loader mapping starts at its base, file offset 0;
  // a second mapping of its file starts at the page of its lowest frame, at that file offset.
  const lowestBase = new Map<string, bigint>();
  for (const span of modules.values()) if (!lowestBase.has(span.file) || span.base < lowestBase.get(span.file)!) lowestBase.set(span.file, span.base);
  const main = (span: ModuleSpan) => Number(span.file === process.execPath && span.base === lowestBase.get(span.file));
  const ordered = [...modules.values()].sort((x, y) => main(y) - main(x) || x.id - y.id);
  // hasFunctions: every location carries its function (module+offset where there is no symbol),
  // so pprof does not look for the binaries to symbolize them again.
  const mapping = ordered.map((span) => {
    const start = span.base === lowestBase.get(span.file) ? span.base : span.low - ((span.low - span.base) % PAGE);
    return new Mapping({
      id: span.id,
      memoryStart: start,
      memoryLimit: span.limit,
      fileOffset: start - span.base,
      filename: strings.dedup(span.file),
      hasFunctions: true,
    });
  });
  const functions = new Map<string, PprofFunction>();
  const locations = new Map<string, Location>();
  // A profile's sites share frame objects: each is looked up once, not once per site.
  const byFrame = new WeakMap<NativeHeapFrame, number>();
  const locationOf = (frame: NativeHeapFrame): number => {
    const known = byFrame.get(frame);
    if (known !== undefined) return known;
    const id = newLocation(frame);
    byFrame.set(frame, id);
    return id;
  };
  const newLocation = (frame: NativeHeapFrame): number => {
    const label = frameLabel(frame);
    // JIT code moves and is reused: a JS frame is its name, not its address.
    const key = frame.kind === 'javascript' ? `js:${label}` : `${frame.address}:${label}`;
    let location = locations.get(key);
    if (!location) {
      let fn = functions.get(label);
      if (!fn) {
        const file = frame.kind === 'javascript' ? JS_FILE : (frame.module ?? '');
        fn = new PprofFunction({
          id: functions.size + 1,
          name: strings.dedup(label),
          systemName: strings.dedup(frame.name ?? label),
          filename: strings.dedup(file),
        });
        functions.set(label, fn);
      }
      const span = frame.module && frame.kind !== 'javascript' && frame.offset !== undefined ? modules.get(spanKey(frame)) : undefined;
      location = new Location({
        id: locations.size + 1,
        mappingId: span?.id ?? 0,
        address: frame.kind === 'javascript' ? 0 : BigInt(frame.address),
        line: [new Line({ functionId: fn.id })],
      });
      locations.set(key, location);
    }
    return location.id as number;
  };
  const categoryKey = strings.dedup('category');
  const samples = profile.sites
    .filter((site) => site.bytes > 0 || site.count > 0)
    .map(
      (site) =>
        new Sample({
          locationId: site.stack.map(locationOf),
          value: [Math.round(site.count), Math.round(site.bytes)],
          label: [{ key: categoryKey, str: strings.dedup(siteCategory(site.stack)) }],
        }),
    );
  const comment = [
    `sockprobe native heap profile: live allocations sampled since start(), ${profile.source}`,
    `sampleBytes ${profile.sampleBytes}; estimated live bytes ${Math.round(profile.totalBytes)}`,
    ...(profile.dropped > 0 ? [`${profile.dropped} sampled allocations found the table full and are not counted`] : []),
    ...(profile.omitted
      ? [
          `${profile.omitted.sites} smaller sites (${Math.round(profile.omitted.bytes)} bytes) were left ` +
            `out by maxSites: in the estimated live bytes, not in the samples`,
        ]
      : []),
  ].map((text) => strings.dedup(text));
  return new Profile({
    sampleType: [
      new ValueType({ type: strings.dedup('inuse_objects'), unit: strings.dedup('count') }),
      new ValueType({ type: strings.dedup('inuse_space'), unit: strings.dedup('bytes') }),
    ],
    sample: samples,
    mapping,
    location: [...locations.values()],
    function: [...functions.values()],
    stringTable: strings,
    timeNanos: BigInt(Math.round(profile.takenAt)) * 1_000_000n,
    durationNanos: BigInt(Math.max(0, Math.round(profile.takenAt - profile.startedAt))) * 1_000_000n,
    periodType: new ValueType({ type: strings.dedup('space'), unit: strings.dedup('bytes') }),
    period: Math.round(profile.sampleBytes),
    comment,
    defaultSampleType: strings.dedup('inuse_space'),
  });
}

/** The profile as a gzipped pprof protobuf (`.pb.gz`): encoded in slices, compressed on the threadpool. */
export async function encodePprof(profile: NativeHeapProfile): Promise<Buffer> {
  const encoded = await toPprofProfile(profile).encodeAsync();
  return gzip(encoded);
}
