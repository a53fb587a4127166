/**
 * What grew between two native heap profiles, per call site and per category: the JDK's
 * `jcmd VM.native_memory summary.diff` for a Node process. Sites are matched by their
 * symbolized stack (module+offset where no symbol; a JavaScript frame by its name), never by
 * absolute addresses alone, so a site keeps its identity across profiles.
 */
import { SockprobeTypeError } from '../errors';
import { CATEGORIES } from './categories';
import { checkProfile, frameLabel, siteCategory } from './pprof';
import type { NativeHeapCategory, NativeHeapFrame, NativeHeapProfile } from './profile';
import { categorySamples, growthRelativeError, plusMinus } from './sampling-error';
import { kibFigure, mib, signedKib } from '../format/bytes';
import { drain } from '../probe/regression';

export interface NativeHeapSiteDiff {
  /** The symbolized stack, innermost first, joined by ' ← ': the site's identity. */
  key: string;
  stack: NativeHeapFrame[];
  category: NativeHeapCategory;
  bytesBefore: number;
  bytesAfter: number;
  growthBytes: number;
  countBefore: number;
  countAfter: number;
  growthCount: number;
  /** Raw sampled blocks behind the site's bytes before and after (0 where a profile's sites carry none). */
  samplesBefore: number;
  samplesAfter: number;
  /** `new`: absent before; `gone`: absent after; `grown` / `shrunk` / `unchanged` otherwise. */
  change: 'new' | 'gone' | 'grown' | 'shrunk' | 'unchanged';
}

export interface NativeHeapDiff {
  before: { takenAt: number; totalBytes: number; sampleBytes: number };
  after: { takenAt: number; totalBytes: number; sampleBytes: number };
  intervalMs: number;
  /** after.totalBytes − before.totalBytes. */
  growthBytes: number;
  /** Per category: bytes before and after, the change, and the sampled blocks behind each (null where a profile carries no counts). */
  categories: Record<NativeHeapCategory, { before: number; after: number; growthBytes: number; samplesBefore: number | null; samplesAfter: number | null }>;
  /** Every site that grew or is new, largest growth first. */
  grown: NativeHeapSiteDiff[];
  /** Every site that shrank or is gone, largest shrink first. */
  shrunk: NativeHeapSiteDiff[];
  /** Sites present after and not before. */
  newSites: number;
  goneSites: number;
  /** Sampled allocations the profiler's table had no room for, after minus before (their bytes are not in either profile). */
  droppedDelta: number;
  /** Set when the two profiles sampled at different rates: the estimates are unbiased either way, their noise differs. */
  note?: string;
}

export const siteKey = (stack: NativeHeapFrame[]): string => stack.map(frameLabel).join(' ← ');

interface Totals {
  stack: NativeHeapFrame[];
  bytes: number;
  count: number;
  samples: number;
}

/**
 * Gives each distinct frame label a small number, so a stack's identity is a short string of
 * numbers: symbolized C++ stacks run to kilobytes, and hashing those as Map keys cost tens of ms
 * per diff. Frame objects are shared between a profile's sites: each is labelled once.
 */
class StackIds {
  private readonly ids = new Map<string, number>();
  private readonly labels: string[] = [];
  private readonly ofFrame = new WeakMap<NativeHeapFrame, number>();

  private id(frame: NativeHeapFrame): number {
    let id = this.ofFrame.get(frame);
    if (id === undefined) {
      const label = frameLabel(frame);
      id = this.ids.get(label);
      if (id === undefined) {
        id = this.labels.length;
        this.ids.set(label, id);
        this.labels.push(label);
      }
      this.ofFrame.set(frame, id);
    }
    return id;
  }

  key(stack: NativeHeapFrame[]): string {
    let key = '';
    for (const frame of stack) key += `${this.id(frame)},`;
    return key;
  }

  /** siteKey(stack), from the labels already made. */
  text(stack: NativeHeapFrame[]): string {
    return stack.map((frame) => this.labels[this.id(frame)]).join(' ← ');
  }
}

const sampled = (samples: number) => (Number.isFinite(samples) && samples > 0 ? samples : 0);

// Sites matched per turn when the diff is built in steps: at a few thousand symbolized sites a diff
// took 1-6 ms in one turn (2 cores, Node 20); a few hundred sites stay under 1 ms.
const SITES_PER_TURN = 400;

/** Sites keyed by stack; two sites with the same symbolized stack (JIT code moved) are one. Yields every SITES_PER_TURN sites. */
function* byKeySteps(profile: NativeHeapProfile, ids: StackIds): Generator<void, Map<string, Totals>, void> {
  const sites = new Map<string, Totals>();
  for (let i = 0; i < profile.sites.length; i++) {
    if (i > 0 && i % SITES_PER_TURN === 0) yield;
    const site = profile.sites[i];
    const key = ids.key(site.stack);
    const known = sites.get(key);
    if (known) {
      known.bytes += site.bytes;
      known.count += site.count;
      known.samples += sampled(site.samples);
    } else sites.set(key, { stack: site.stack, bytes: site.bytes, count: site.count, samples: sampled(site.samples) });
  }
  return sites;
}

function categoryTotals(profile: NativeHeapProfile): Record<NativeHeapCategory, number> {
  const out = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<NativeHeapCategory, number>;
  for (const category of CATEGORIES) {
    const value = profile.categories?.[category];
    if (Number.isFinite(value)) out[category] = value;
  }
  return out;
}

export function diffProfiles(before: NativeHeapProfile, after: NativeHeapProfile): NativeHeapDiff {
  return drain(diffProfilesSteps(before, after));
}

/** diffProfiles() a few hundred sites a step, so a caller can hand the event loop back in between. */
export function* diffProfilesSteps(before: NativeHeapProfile, after: NativeHeapProfile): Generator<void, NativeHeapDiff, void> {
  checkProfile('before', before);
  checkProfile('after', after);
  if (after.takenAt < before.takenAt)
    throw new SockprobeTypeError(
      'after',
      `a profile taken after before's (${new Date(before.takenAt).toISOString()})`,
      new Date(after.takenAt).toISOString(),
      'ERR_INVALID_ARG_VALUE',
    );
  const ids = new StackIds();
  const old = yield* byKeySteps(before, ids);
  yield;
  const now = yield* byKeySteps(after, ids);
  yield;
  const sites: NativeHeapSiteDiff[] = [];
  for (const id of new Set([...old.keys(), ...now.keys()])) {
    if (sites.length > 0 && sites.length % SITES_PER_TURN === 0) yield;
    const a = old.get(id);
    const b = now.get(id);
    const stack = (b ?? a)!.stack;
    const growthBytes = (b?.bytes ?? 0) - (a?.bytes ?? 0);
    const change = !a ? 'new' : !b ? 'gone' : growthBytes > 0 ? 'grown' : growthBytes < 0 ? 'shrunk' : 'unchanged';
    sites.push({
      key: ids.text(stack),
      stack,
      category: siteCategory(stack),
      bytesBefore: a?.bytes ?? 0,
      bytesAfter: b?.bytes ?? 0,
      growthBytes,
      countBefore: a?.count ?? 0,
      countAfter: b?.count ?? 0,
      growthCount: (b?.count ?? 0) - (a?.count ?? 0),
      samplesBefore: a?.samples ?? 0,
      samplesAfter: b?.samples ?? 0,
      change,
    });
  }
  yield;
  const cb = categoryTotals(before);
  const ca = categoryTotals(after);
  const sb = categorySamples(before);
  const sa = categorySamples(after);
  const categories = Object.fromEntries(
    CATEGORIES.map((c) => [c, { before: cb[c], after: ca[c], growthBytes: ca[c] - cb[c], samplesBefore: sb?.[c] ?? null, samplesAfter: sa?.[c] ?? null }]),
  ) as NativeHeapDiff['categories'];
  return {
    before: { takenAt: before.takenAt, totalBytes: before.totalBytes, sampleBytes: before.sampleBytes },
    after: { takenAt: after.takenAt, totalBytes: after.totalBytes, sampleBytes: after.sampleBytes },
    intervalMs: after.takenAt - before.takenAt,
    growthBytes: after.totalBytes - before.totalBytes,
    categories,
    grown: sites.filter((s) => s.growthBytes > 0).sort((x, y) => y.growthBytes - x.growthBytes),
    shrunk: sites.filter((s) => s.growthBytes < 0).sort((x, y) => x.growthBytes - y.growthBytes),
    newSites: sites.filter((s) => s.change === 'new').length,
    goneSites: sites.filter((s) => s.change === 'gone').length,
    droppedDelta: (after.dropped ?? 0) - (before.dropped ?? 0),
    ...(before.sampleBytes !== after.sampleBytes
      ? { note: `sampled at ${before.sampleBytes} and ${after.sampleBytes} bytes: both estimates are unbiased, ` + `the coarser one is noisier` }
      : {}),
  };
}

/** A grown site's Poisson relative error, from its samples before and after; null where the profiles carry no counts. */
export const siteGrowthError = (site: NativeHeapSiteDiff): number | null =>
  site.samplesAfter > 0 ? growthRelativeError(site.samplesAfter, site.samplesBefore) : null;

/** The innermost frames that say where: skips allocator and libc wrappers (malloc, operator new …). */
const ALLOCATOR_FRAME =
  /^(operator new|operator delete|malloc|calloc|realloc|posix_memalign|aligned_alloc|memalign|__libc_|_Znwm|_Znam|std::__new_allocator|__gnu_cxx::new_allocator)/;

/** A frame of the allocator or its C++ wrappers: not where memory is asked for. */
export const isAllocatorFrame = (name: string | null): boolean => ALLOCATOR_FRAME.test(name ?? '');

export function siteTitle(stack: NativeHeapFrame[], frames = 3): string {
  const start = stack.findIndex((f) => !isAllocatorFrame(f.name));
  return (
    stack
      .slice(Math.max(0, start), Math.max(0, start) + frames)
      .map((f) => shortName(frameLabel(f)))
      .join(' ← ') || '(no frames)'
  );
}

/**
 * A C++ name without its parameter list (`node::TCPWrap::New(v8::FunctionCallbackInfo<…> const&)`
 * → `node::TCPWrap::New()`): titles stay readable; keys keep the whole name.
 */
export function shortName(name: string): string {
  if (!name.endsWith(')') && !name.endsWith(') const')) return name;
  const end = name.lastIndexOf(')');
  let depth = 0;
  for (let i = end; i >= 0; i--) {
    if (name[i] === ')') depth++;
    else if (name[i] === '(' && --depth === 0) return i === 0 ? name : `${name.slice(0, i)}()${name.slice(end + 1)}`;
  }
  return name;
}

/** A summary.diff-like text: totals, categories, the top sites that grew and shrank. */
export function renderDiff(diff: NativeHeapDiff, top = 10): string {
  const lines = [
    `Native heap (sampled): ${mib(diff.before.totalBytes)} ` +
      `→ ${mib(diff.after.totalBytes)} (${signedKib(diff.growthBytes)}) ` +
      `over ${(diff.intervalMs / 1000).toFixed(1)} s`,
    ...CATEGORIES.filter((c) => diff.categories[c].before || diff.categories[c].after).map(
      (c) => `  ${c.padEnd(16)} ${kibFigure(diff.categories[c].after).padStart(10)} KiB (${signedKib(diff.categories[c].growthBytes)})`,
    ),
    `  ${diff.newSites} new sites, ${diff.goneSites} gone${diff.note ? `; ${diff.note}` : ''}`,
    'Grew most:',
    ...diff.grown
      .slice(0, top)
      .map(
        (s) =>
          `  ${signedKib(s.growthBytes).padStart(14)} ${plusMinus(siteGrowthError(s)).padStart(5)} ` +
          `${s.change === 'new' ? '(new) ' : ''}[${s.category}] ${siteTitle(s.stack)}`,
      ),
  ];
  if (diff.shrunk.length)
    lines.push('Shrank most:', ...diff.shrunk.slice(0, top).map((s) => `  ${signedKib(s.growthBytes).padStart(14)} [${s.category}] ${siteTitle(s.stack)}`));
  return lines.join('\n');
}

/**
 * The sites that grew as a profile of their growth (bytes and count after − before), to encode
 * with toPprof: what a window added, in any pprof viewer. Shrunk sites are left out (pprof
 * viewers draw positive values); their total is named in `source`.
 */
export function growthProfile(diff: NativeHeapDiff): NativeHeapProfile {
  const shrunk = diff.shrunk.reduce((sum, s) => sum + s.growthBytes, 0);
  const categories = Object.fromEntries(CATEGORIES.map((c) => [c, Math.max(0, diff.categories[c].growthBytes)])) as Record<NativeHeapCategory, number>;
  return {
    sampleBytes: diff.after.sampleBytes,
    totalBytes: diff.grown.reduce((sum, s) => sum + s.growthBytes, 0),
    startedAt: diff.before.takenAt,
    takenAt: diff.after.takenAt,
    sites: diff.grown.map((s) => ({ stack: s.stack, bytes: s.growthBytes, count: Math.max(0, s.growthCount), samples: 0 })),
    categories,
    dropped: Math.max(0, diff.droppedDelta),
    source:
      `growth between two sampled native heap profiles ` +
      `(${new Date(diff.before.takenAt).toISOString()} ` +
      `→ ${new Date(diff.after.takenAt).toISOString()}); sites that shrank, ${Math.round(shrunk)} ` +
      `bytes in all, left out`,
  };
}
