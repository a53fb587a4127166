/**
 * What a probe keeps of the native heap profiler: profiles taken at a bounded cadence (the
 * symbolization runs on the threadpool; what the probe does with a profile on the JS thread is
 * O(categories)), at most a few whole profiles (the first and the newest few), and per profile a
 * small reading (categories and total, tied to the sample whose connection counts it was taken at)
 * for the per-connection fit.
 */
import * as v8 from 'node:v8';
import { CATEGORIES } from '../native-heap/categories';
import { diffProfiles, diffProfilesSteps, siteGrowthError, siteTitle, type NativeHeapDiff } from '../native-heap/diff';
import { categorySamples, relativeError } from '../native-heap/sampling-error';
import type { NativeHeapCategory, NativeHeapProfile } from '../native-heap/profile';
import { estimateSteps, kindsPresent, type PerConnectionEstimate, type Retention } from './correlate';
import { withGrowingSites, type Finding, type ProfileMoment } from './findings';
import { holderFinding } from './holders/finding';
import { estimateHoldersSteps, type HolderEstimate, type HolderReading } from './holders/estimate';
import { drain, named } from './regression';
import { holderTotalsSliced, type HolderSite, type HolderTotals } from './holders/match';
import type { HolderId } from './holders/signatures';
import { RingBuffer } from './ring-buffer';
import type { Sample } from './sample';

export interface NativeHeapProfileOptions {
  /** Mean bytes between sampled allocations (Poisson). Default 512 KiB, the profiler's own default. */
  sampleBytes?: number;
  /** How often the probe takes a profile, ms. Default 60 000; at least 1000. */
  intervalMs?: number;
  /** The most JS heap the profiles the probe keeps may take, bytes (as ownMemoryBytes() counts
   *  them). Each profile is read with at most a share of it in sites (the largest; the others
   *  count in its totals and categories), and trimmed further if it holds more. Default: 2% of
   *  V8's heap limit (v8.getHeapStatistics().heap_size_limit), within 1–16 MiB: the profiles live
   *  in the JS heap, so their bound is counted against that heap's limit. At least 256 KiB. */
  maxHeldBytes?: number;
}

const MiB = 1024 * 1024;
/** The default maxHeldBytes: a small share of the heap limit the profiles count against. */
export function defaultMaxHeldBytes(heapLimit = v8.getHeapStatistics().heap_size_limit): number {
  return Math.round(Math.min(16 * MiB, Math.max(1 * MiB, 0.02 * heapLimit)));
}

/** Rough heap bytes of a profile's sites as kept (about 100 B per site and 120 per frame). */
export function profileBytes(profile: NativeHeapProfile): number {
  return profile.sites.reduce((sum, s) => sum + siteBytes(s), 0);
}
const siteBytes = (site: NativeHeapProfile['sites'][number]) => 100 + 120 * site.stack.length;
/** Frames a site's stack is read at, to size how many sites a share of the budget holds. */
const TYPICAL_FRAMES = 40;

/** `profile` with its smallest sites moved into `omitted` until its sites take at most `bytes`. */
export function trimProfile(profile: NativeHeapProfile, bytes: number): NativeHeapProfile {
  let held = profileBytes(profile);
  if (held <= bytes) return profile;
  const sites = profile.sites.slice();
  const omitted = { ...(profile.omitted ?? { sites: 0, bytes: 0, count: 0 }) };
  while (sites.length > 0 && held > bytes) {
    const site = sites.pop()!;
    held -= siteBytes(site);
    omitted.sites++;
    omitted.bytes += site.bytes;
    omitted.count += site.count;
  }
  return { ...profile, sites, omitted };
}

/** Per-category (and total) bytes per connection, from the profiles' readings, with the sampled
 *  allocations in the category in the newest profile and their Poisson error, 1/√ of them (null
 *  where the profile carried no counts). */
export type NativeCategoryEstimate = Omit<PerConnectionEstimate, 'layer' | 'note'> & {
  category: NativeHeapCategory | 'total';
  sampledAllocations: number | null;
  relativeError: number | null;
};

/** A call site that grew, as findings name it. */
export interface GrowingSite {
  /** The innermost frames past the allocator, e.g. `CRYPTO_malloc ← SSL_new ← node::crypto::TLSWrap::TLSWrap`. */
  site: string;
  category: NativeHeapCategory;
  growthBytes: number;
  growthCount: number;
  new: boolean;
  /** Poisson relative error of growthBytes: √(samples after + before) ÷ (after − before); null where the profiles carry no counts. */
  relativeError: number | null;
}

export interface NativeHeapReport {
  requested: boolean;
  /** Why profiling is off when it was asked for (unsupported here, or it failed to start); null when on. */
  unavailable: string | null;
  /** The rate of the session the probe's profiles come from (the running session's, when it joined one). */
  sampleBytes: number | null;
  /** Date.now() when the session the probe holds began (profiles count blocks allocated since); null when none. */
  sinceMs?: number | null;
  /** null while the probe's profiling runs (or never started: see unavailable); else when and why it stopped. */
  stopped?: { atMs: number; reason: string } | null;
  /** Set when the probe joined a session already running at another rate than it asked. */
  joined?: string | null;
  /** Profiles taken in this probe's life (at most KEPT_PROFILES + 1 are kept). */
  profiles: number;
  latest: { takenAt: number; totalBytes: number; categories: Record<NativeHeapCategory, number>; dropped: number } | null;
  /** What grew between the first profile kept and the newest: top sites and categories. */
  growth: {
    fromTakenAt: number;
    toTakenAt: number;
    growthBytes: number;
    categories: NativeHeapDiff['categories'];
    topSites: GrowingSite[];
    /** RSS at the samples the two profiles are tied to (null where the reading was not kept): how far RSS has moved since. */
    fromRss: number | null;
    toRss: number | null;
  } | null;
  perConnection: NativeCategoryEstimate[];
  /** Known holders (zlib contexts, TLS buffers, OpenSSL state, SecureContexts, JS Buffers) worth naming: cost per connection, error, fix; warnings first. */
  holders: HolderEstimate[];
}

/** The newest profiles kept beside the first: enough for a diff and a pulse's before/top pair. */
export const KEPT_PROFILES = 3;
/** Readings kept (about 650 B each with five holder tallies: 193 B without, 553 B with four, measured with heapUsed after GC). */
const READINGS = 2000;
export const TOP_SITES = 5;

interface Reading {
  sample: Sample;
  takenAt: number;
  sampleBytes: number;
  totalBytes: number;
  categories: Record<NativeHeapCategory, number>;
  /** Filled once the profile's sites are matched to holders (in slices of the event loop's turns). */
  holders: HolderTotals | null;
}

export function growingSites(diff: NativeHeapDiff, top = TOP_SITES): GrowingSite[] {
  return diff.grown.slice(0, top).map((s) => ({
    site: siteTitle(s.stack),
    category: s.category,
    growthBytes: Math.round(s.growthBytes),
    growthCount: Math.round(s.growthCount),
    new: s.change === 'new',
    relativeError: siteGrowthError(s),
  }));
}

export class NativeHeapProfiles {
  private first: NativeHeapProfile | null = null;
  private readonly recent = new RingBuffer<NativeHeapProfile>(KEPT_PROFILES);
  private readonly readings = new RingBuffer<Reading>(READINGS);
  private lastAt = -Infinity;
  private taken = 0;
  pending = false;

  /** The share of maxHeldBytes each kept profile may take (the first and KEPT_PROFILES newest). */
  readonly profileBudget: number;

  constructor(
    readonly intervalMs: number,
    readonly maxHeldBytes: number = defaultMaxHeldBytes(),
  ) {
    this.profileBudget = Math.floor(maxHeldBytes / (KEPT_PROFILES + 1));
  }

  /** How many sites to ask a profile for: what a profile's share holds at a typical stack depth. */
  maxSites(): number {
    return Math.max(1, Math.floor(this.profileBudget / (100 + 120 * TYPICAL_FRAMES)));
  }

  due(now: number): boolean {
    return !this.pending && now - this.lastAt >= this.intervalMs;
  }

  /** Marks a profile as asked for now (so the cadence holds however long symbolization takes). */
  asked(now: number): void {
    this.lastAt = now;
    this.pending = true;
  }

  /** Keeps a profile, tied to the sample taken when it was asked for. */
  record(given: NativeHeapProfile, sample: Sample): NativeHeapProfile {
    const profile = trimProfile(given, this.profileBudget);
    this.pending = false;
    this.taken++;
    // A profile asked for explicitly (probe.profileNativeHeap()) can resolve before or after a
    // periodic one taken at another time: keep `first` the earliest taken and `recent` in taking
    // order, so growth() always diffs earlier → later.
    const last = this.recent.last() ?? this.first;
    if (!this.first) this.first = profile;
    else if (last && profile.takenAt >= last.takenAt) this.recent.push(profile);
    else {
      const [earliest, ...rest] = [this.first, ...this.recent.toArray(), profile].sort((x, y) => x.takenAt - y.takenAt);
      this.first = earliest;
      this.recent.clear();
      for (const kept of rest) this.recent.push(kept);
    }
    const categories = {} as Record<NativeHeapCategory, number>;
    for (const c of CATEGORIES) categories[c] = Number.isFinite(profile.categories?.[c]) ? profile.categories[c] : 0;
    const reading: Reading = { sample, takenAt: profile.takenAt, sampleBytes: profile.sampleBytes, totalBytes: profile.totalBytes, categories, holders: null };
    this.readings.push(reading);
    this.holdersMatching = holderTotalsSliced(given).then(
      ({ totals, sites }) => {
        reading.holders = totals;
        if (!this.holderSitesAt || reading.takenAt >= this.holderSitesAt) {
          this.holderSites = sites;
          this.holderSitesAt = reading.takenAt;
        }
        this.holderVersion++;
      },
      () => undefined,
    );
    return profile;
  }

  /** Settles once the newest profile's sites are matched to holders. */
  holdersMatching: Promise<void> = Promise.resolve();
  private holderVersion = 0;
  /** The newest matched profile's largest sites per holder (a few each). */
  private holderSites: Partial<Record<HolderId, HolderSite[]>> = {};
  private holderSitesAt = 0;
  private holdersCache: { version: number; estimates: HolderEstimate[] } | null = null;

  /** Holders worth naming, from every matched reading; the fit is redone only when a profile was matched since. */
  holders(samples: Sample[]): HolderEstimate[] {
    return drain(this.holdersSteps(samples));
  }

  /** holders() a fit iteration at a time, each step named by the holder it fits. */
  *holdersSteps(samples: Sample[]): Generator<string, HolderEstimate[], void> {
    if (this.holdersCache?.version !== this.holderVersion) {
      // The version read before the steps: a profile matched between them is fitted at the next report.
      const version = this.holderVersion;
      const readings = this.readings
        .toArray()
        .filter((r): r is Reading & { holders: HolderTotals } => r.holders !== null)
        .sort((a, b) => a.takenAt - b.takenAt);
      const estimates = yield* estimateHoldersSteps(readings as HolderReading[], this.holderSites, undefined);
      this.holdersCache = { version, estimates };
    }
    const now = samples[samples.length - 1];
    return this.holdersCache.estimates.map((h) => ({ ...h, rssNow: now?.rss ?? null }));
  }

  /** When a kept profile was taken and RSS at the sample it is tied to. */
  moment(profile: NativeHeapProfile): ProfileMoment {
    const reading = this.readings.toArray().find((r) => r.takenAt === profile.takenAt);
    return { takenAt: profile.takenAt, rss: reading ? reading.sample.rss : null };
  }

  /** The kept profiles that bracket a spike: the newest taken before it rose, the first taken after it ended. */
  bracket(retention: Retention): { sites: GrowingSite[]; from: ProfileMoment; to: ProfileMoment } | null {
    const kept = this.kept();
    const before = kept.filter((p) => p.takenAt <= retention.spikeStartedAt).pop();
    const after = kept.find((p) => p.takenAt >= retention.spikeEndedAt);
    if (!before || !after) return null;
    return { sites: growingSites(diffProfiles(before, after)), from: this.moment(before), to: this.moment(after) };
  }

  /** Findings with what the profiles add: a holder finding per holder worth naming (first), growing sites on
   *  an other-native leak (first kept → newest) and on retention (the pair bracketing the spike). */
  findings(findings: Finding[], report: NativeHeapReport, retention: Retention | null, samples: Sample[]): Finding[] {
    const now = samples[samples.length - 1];
    const pair = this.pair();
    const growth = report.growth && pair ? { sites: report.growth.topSites, from: this.moment(pair[0]), to: this.moment(pair[1]) } : null;
    const bracket = retention ? this.bracket(retention) : undefined;
    const holders = report.holders.map((h) => holderFinding(h, now?.time ?? null));
    const rank = { critical: 0, warning: 1, info: 2 } as const;
    // By severity, holders first within each: what holds the memory, then what it does.
    return [...holders, ...findings.map((f) => withGrowingSites(f, growth, now, bracket))].sort((a, b) => rank[a.severity] - rank[b.severity]);
  }

  /** The kept profiles, oldest first. */
  kept(): NativeHeapProfile[] {
    return [...(this.first ? [this.first] : []), ...this.recent.toArray()];
  }

  failed(): void {
    this.pending = false;
  }

  /** The first kept and the newest, when there are two. */
  pair(): [NativeHeapProfile, NativeHeapProfile] | null {
    const late = this.recent.last();
    return this.first && late ? [this.first, late] : null;
  }

  latest(): NativeHeapProfile | null {
    return this.recent.last() ?? this.first;
  }

  /** What grew from the first profile to the newest, or null with fewer than two. The diff
   *  (milliseconds for a large profile) is made once per new profile, not on every report(). */
  growth(): NativeHeapReport['growth'] {
    return drain(this.growthSteps());
  }

  /** growth() a few hundred sites a step (see diffProfilesSteps). */
  *growthSteps(): Generator<void, NativeHeapReport['growth'], void> {
    const pair = this.pair();
    if (!pair) return null;
    if (this.grown?.of !== pair[1]) {
      const diff = yield* diffProfilesSteps(pair[0], pair[1]);
      this.grown = {
        of: pair[1],
        growth: {
          fromTakenAt: diff.before.takenAt,
          toTakenAt: diff.after.takenAt,
          growthBytes: Math.round(diff.growthBytes),
          categories: diff.categories,
          topSites: growingSites(diff),
          fromRss: this.moment(pair[0]).rss,
          toRss: this.moment(pair[1]).rss,
        },
      };
    }
    return this.grown.growth;
  }

  private grown: { of: NativeHeapProfile; growth: NonNullable<NativeHeapReport['growth']> } | null = null;

  perConnection(samples: Sample[]): NativeCategoryEstimate[] {
    return drain(this.perConnectionSteps(samples));
  }

  /** perConnection() a fit iteration at a time, each step named by the category it fits. */
  *perConnectionSteps(samples: Sample[]): Generator<string, NativeCategoryEstimate[], void> {
    const readings = this.readings.toArray();
    if (!readings.length) return [];
    const present = kindsPresent(samples);
    // Counts from the newest kept profile only: a reading keeps none (2000 readings × 9 counts is not worth it).
    const latest = this.latest();
    const counts = latest ? categorySamples(latest) : null;
    const out: NativeCategoryEstimate[] = [];
    for (const category of [...CATEGORIES, 'total'] as const) {
      const series = readings.map((r) => ({ sample: r.sample, value: category === 'total' ? r.totalBytes : r.categories[category] }));
      // A category with nothing in it in every profile has no row.
      if (series.every((r) => r.value === 0)) continue;
      const label = category === 'total' ? 'sampled native heap' : `native heap (${category})`;
      // The figure's error: the newest profile's sampled allocations in the category (a level, 1/√n).
      const sampled = counts ? (category === 'total' ? CATEGORIES.reduce((sum, c) => sum + counts[c], 0) : counts[category]) : null;
      const error = sampled === null ? null : relativeError(sampled);
      for (const estimate of yield* named(`native heap fit (${category})`, estimateSteps(label, series, present)))
        out.push({ category, ...estimate, sampledAllocations: sampled, relativeError: error });
    }
    return out;
  }

  /** Rough heap bytes the kept profiles and readings hold (about 120 B per frame, 100 per site, 650 per reading with five holder tallies, measured). */
  ownMemoryBytes(): number {
    return (this.first ? profileBytes(this.first) : 0) + this.recent.toArray().reduce((sum, p) => sum + profileBytes(p), 0) + this.readings.size * 650;
  }

  report(requested: boolean, unavailable: string | null, sampleBytes: number | null, samples: Sample[]): NativeHeapReport {
    return drain(this.reportSteps(requested, unavailable, sampleBytes, samples));
  }

  /** report() a part at a time: the diff, then each category's and each holder's fit an iteration a turn. */
  *reportSteps(requested: boolean, unavailable: string | null, sampleBytes: number | null, samples: Sample[]): Generator<string, NativeHeapReport, void> {
    const latest = this.latest();
    const growth = yield* named('native heap growth', this.growthSteps());
    yield 'native heap growth';
    const perConnection = yield* this.perConnectionSteps(samples);
    const holders = yield* this.holdersSteps(samples);
    return {
      requested,
      unavailable,
      sampleBytes,
      profiles: this.taken,
      latest: latest ? { takenAt: latest.takenAt, totalBytes: latest.totalBytes, categories: latest.categories, dropped: latest.dropped } : null,
      growth,
      perConnection,
      holders,
    };
  }
}
