import { LAYERS, readingsOf, type Layer } from './layers';
import { designFitSteps, drain, named, type Fit } from './regression';
import { RESIDENT_FREE_METHOD, totalConnections, type Sample } from './sample';
import { kibOrBytes as kib } from '../format/bytes';

export interface PerConnectionEstimate {
  layer: Layer;
  kind: 'tls' | 'tcp';
  /** Bytes this layer grows per open connection of this kind; null when declined. */
  bytesPerConnection: number | null;
  /** R² of the fit (0–1); how much of the layer's variation connection counts explain. */
  quality: number | null;
  samples: number;
  /** `regression` over every reading, or `rising-edge`: only readings that set a new connection
   *  high-water mark (RSS keeps freed memory, so only first-time growth shows what a connection costs). */
  method: 'regression' | 'rising-edge';
  /** Why no estimate was made (connection counts did not vary enough, too few samples, a fit that
   *  explains too little, memory that fell as connections rose, …). Estimates are never negative. */
  declined?: string;
  /** Set when this in-use layer costs more per connection than RSS does: what that means. */
  note?: string;
}

/** Below this R² a per-connection figure is noise, not a cost: declined. */
export const MIN_PER_CONNECTION_R2 = 0.3;

/** In-use layers whose per-connection cost can be compared with RSS per connection (kernel memory is not in RSS). */
const RESIDENT_COMPARABLE: Layer[] = ['openssl', 'otherNative', 'jsHeap'];

/**
 * A bound a declined layer still gives: it cannot cost more per connection than it held at its
 * busiest readings, divided by the connections then open (the layer is a count of bytes, never below 0).
 */
function atMost(kind: 'tls' | 'tcp', readings: Array<{ sample: Sample; value: number }>): string {
  const busiest = Math.max(...readings.map((r) => totalConnections(r.sample.connections, kind)));
  let best: { value: number; count: number } | null = null;
  for (const r of readings) {
    const count = totalConnections(r.sample.connections, kind);
    if (count < Math.max(MIN_CONNECTION_RANGE, busiest / 2) || r.value < 0) continue;
    if (!best || r.value / count < best.value / best.count) best = { value: r.value, count };
  }
  return best ? `; it held ${kib(best.value)} with ${best.count} ${kind} connections open, so at most ${kib(best.value / best.count)} per connection` : '';
}

function inUseNote(layer: Layer, bytes: number, rss: number): string {
  return (
    `${LAYERS[layer].label} per connection (${kib(bytes)}) exceeds RSS per connection ` +
    `(${kib(rss)}): the allocator counts bytes handed out, RSS only pages touched. Buffers allocated ` +
    `per connection at their full size but filled only in part — Node's per-connection read buffers ` +
    `and TLS record buffers are the likely bulk — keep untouched pages out of RSS, so this is ` +
    `allocated-but-untouched memory, not a contradiction.`
  );
}

/** How much a kind's connection count must vary before a per-connection figure means anything. */
export const MIN_CONNECTION_RANGE = 20;
const MIN_DISTINCT = 3;

function variation(values: number[]) {
  return { range: Math.max(...values) - Math.min(...values), distinct: new Set(values).size };
}

/** Layers that keep memory after connections close: their per-connection cost is read on rising edges. */
const RETAINING_LAYERS: Layer[] = ['rss'];

/** Readings taken while connections climbed past every earlier count, and the last one before the first climb. */
function risingEdge(readings: Array<{ sample: Sample; value: number }>) {
  let highWater = -1;
  const kept: typeof readings = [];
  for (let i = 0; i < readings.length; i++) {
    const count = totalConnections(readings[i].sample.connections);
    if (count > highWater) {
      if (kept.length === 0 && i > 0) kept.push(readings[i - 1]);
      kept.push(readings[i]);
      highWater = count;
    }
  }
  return kept;
}

/** The connection kinds a window has seen at all: a kind never open gets no row. */
export const kindsPresent = (samples: Sample[]): Array<'tls' | 'tcp'> =>
  (['tls', 'tcp'] as const).filter((kind) => samples.some((s) => totalConnections(s.connections, kind) > 0));

/**
 * Bytes per connection of one series of readings (each tied to the sample whose connection counts
 * it was read at), per kind, from a robust regression on both kinds' counts; declined with the reason
 * when counts did not vary enough, explain too little, or the series fell as connections rose.
 */
export function estimateFromReadings(
  label: string,
  readings: Array<{ sample: Sample; value: number }>,
  present: Array<'tls' | 'tcp'>,
  method: PerConnectionEstimate['method'] = 'regression',
): Array<Omit<PerConnectionEstimate, 'layer'>> {
  return drain(estimateSteps(label, readings, present, method));
}

/** estimateFromReadings() a fit iteration at a time (see robustFitSteps). */
export function* estimateSteps(
  label: string,
  readings: Array<{ sample: Sample; value: number }>,
  present: Array<'tls' | 'tcp'>,
  method: PerConnectionEstimate['method'] = 'regression',
): Generator<void, Array<Omit<PerConnectionEstimate, 'layer'>>, void> {
  const counts = {
    tls: readings.map((r) => totalConnections(r.sample.connections, 'tls')),
    tcp: readings.map((r) => totalConnections(r.sample.connections, 'tcp')),
  };
  const varying = (['tls', 'tcp'] as const).filter((kind) => {
    const v = variation(counts[kind].length ? counts[kind] : [0]);
    return v.range >= MIN_CONNECTION_RANGE && v.distinct >= MIN_DISTINCT;
  });
  let fit: Fit | null = null;
  if (varying.length && readings.length >= varying.length + 3) {
    const design = { x: new Float64Array(readings.length * varying.length), columns: varying.length, y: new Float64Array(readings.length) };
    for (let i = 0; i < readings.length; i++) {
      for (let c = 0; c < varying.length; c++) design.x[i * varying.length + c] = counts[varying[c]][i];
      design.y[i] = readings[i].value;
    }
    yield; // the readings, counts and design: a turn of their own
    fit = yield* designFitSteps(design);
  }
  // A declined kind keeps the fit's R² where there was a fit, so the reader sees how far it fell short.
  const decline = (kind: 'tls' | 'tcp', quality: number | null, declined: string): Omit<PerConnectionEstimate, 'layer'> => ({
    kind,
    method,
    bytesPerConnection: null,
    quality,
    samples: readings.length,
    declined,
  });
  return present.map((kind) => {
    const column = varying.indexOf(kind);
    if (readings.length < 4) return decline(kind, null, `only ${readings.length} readings of ${label}`);
    if (column < 0) {
      const v = variation(counts[kind]);
      return decline(
        kind,
        null,
        `${kind} connections varied by ${v.range} over ${v.distinct} distinct counts (need ${MIN_CONNECTION_RANGE} over ${MIN_DISTINCT})`,
      );
    }
    if (!fit) return decline(kind, null, 'the regression had no solution (tls and tcp counts moved together)');
    if (fit.r2 < MIN_PER_CONNECTION_R2)
      return decline(
        kind,
        fit.r2,
        `connection counts explain ` +
          `only ${belowThreshold(fit.r2 * 100, MIN_PER_CONNECTION_R2 * 100, 0)}% of ${label}'s variation ` +
          `(R² ${belowThreshold(fit.r2, MIN_PER_CONNECTION_R2, 2)}, ` +
          `need ${MIN_PER_CONNECTION_R2})${atMost(kind, readings)}`,
      );
    if (fit.coefficients[column] < 0)
      return decline(
        kind,
        fit.r2,
        `${label} fell ${kib(-fit.coefficients[column])} per ${kind} connection as connections rose ` +
          `(R² ${fit.r2.toFixed(2)}): memory freed or reused while connections opened, not a cost per ` +
          `connection${atMost(kind, readings)}`,
      );
    return { kind, method, bytesPerConnection: fit.coefficients[column], quality: fit.r2, samples: readings.length };
  });
}

/**
 * Bytes per connection for every layer and kind, from a robust regression on both kinds' counts.
 * A kind with no connection in the window and a layer with no reading (OpenSSL untracked, no socket
 * snapshots) are left out: the service does not have them. A negative or poorly explained slope is
 * declined with the reason, never reported.
 */
export function perConnection(samples: Sample[], layers: Layer[] = Object.keys(LAYERS) as Layer[]): PerConnectionEstimate[] {
  return drain(perConnectionSteps(samples, layers));
}

/** perConnection() a fit iteration at a time (see robustFitSteps). */
export function* perConnectionSteps(samples: Sample[], layers: Layer[] = Object.keys(LAYERS) as Layer[]): Generator<void, PerConnectionEstimate[], void> {
  const estimates: PerConnectionEstimate[] = [];
  const present = kindsPresent(samples);
  for (const layer of layers) {
    const method = RETAINING_LAYERS.includes(layer) ? 'rising-edge' : 'regression';
    const all = readingsOf(samples, layer);
    if (!all.length) continue;
    const readings = method === 'rising-edge' ? risingEdge(all) : all;
    yield;
    for (const estimate of yield* estimateSteps(LAYERS[layer].label, readings, present, method)) estimates.push({ layer, ...estimate });
  }
  return noteInUseAboveResident(estimates);
}

/** Notes each in-use estimate above the RSS one of its kind (they may have been fitted a layer at a time). */
export function noteInUseAboveResident(estimates: PerConnectionEstimate[]): PerConnectionEstimate[] {
  for (const e of estimates) {
    if (!RESIDENT_COMPARABLE.includes(e.layer) || e.bytesPerConnection === null) continue;
    const rss = estimates.find((r) => r.layer === 'rss' && r.kind === e.kind)?.bytesPerConnection;
    if (rss != null && e.bytesPerConnection > rss) e.note = inUseNote(e.layer, e.bytesPerConnection, rss);
  }
  return estimates;
}

export interface LeakTrend {
  layer: Layer;
  /** Growth not explained by connection counts, bytes per hour. */
  bytesPerHour: number;
  /** Growth over the window, bytes. */
  growthBytes: number;
  windowMs: number;
  quality: number;
  connectionsFirst: number;
  connectionsLast: number;
  /** True when the layer is an exact count (OpenSSL live bytes), judged over a short window. */
  exact: boolean;
}

/** Layers that count bytes in use: growth there is a leak; RSS growth alone may be retention. */
export const LEAK_LAYERS: Layer[] = ['openssl', 'otherNative', 'jsHeap', 'kernel'];

/**
 * Layers that are exact counts, not sawtooths: OpenSSL live bytes move only when OpenSSL allocates or
 * frees, so a steady climb at a flat connection count means something from seconds on.
 */
export const EXACT_LAYERS: Layer[] = ['openssl'];

/** An exact layer's climb must explain this much of its variation over a short window. */
const EXACT_MIN_R2 = 0.9;

function* fitTrend(
  layer: Layer,
  readings: Array<{ sample: Sample; value: number }>,
  minGrowthBytes: number,
  minR2: number,
  exact: boolean,
): Generator<void, LeakTrend | null, void> {
  if (readings.length < 8) return null;
  const conns = readings.map((r) => totalConnections(r.sample.connections));
  const fit = yield* growthFitSteps(readings, conns);
  if (!fit || fit.growthBytes < minGrowthBytes || fit.growthBytes < 0.05 * fit.mean || fit.r2 < minR2) return null;
  return {
    layer,
    bytesPerHour: fit.bytesPerHour,
    growthBytes: fit.growthBytes,
    windowMs: fit.windowMs,
    quality: fit.r2,
    connectionsFirst: conns[0],
    connectionsLast: conns[conns.length - 1],
    exact,
  };
}

/** A layer's growth over its readings' window, and how well it fits. */
export interface GrowthFit {
  bytesPerHour: number;
  growthBytes: number;
  windowMs: number;
  /** The readings' mean, to judge the growth against. */
  mean: number;
  r2: number;
}

/**
 * Growth over time once connections are accounted for: bytes ≈ a + b·connections + c·hours, the
 * connection term left out where `connections` (one count per reading) hardly varied. Null where
 * nothing fits.
 */
export function growthFit(readings: Array<{ sample: Sample; value: number }>, connections: number[]): GrowthFit | null {
  return drain(growthFitSteps(readings, connections));
}

/** growthFit() a fit iteration at a time (see robustFitSteps). */
export function* growthFitSteps(readings: Array<{ sample: Sample; value: number }>, connections: number[]): Generator<void, GrowthFit | null, void> {
  if (readings.length === 0) return null;
  const t0 = readings[0].sample.time;
  const windowMs = readings[readings.length - 1].sample.time - t0;
  const hours = readings.map((r) => (r.sample.time - t0) / 3_600_000);
  const connsVary = variation(connections).range >= MIN_CONNECTION_RANGE;
  const columns = connsVary ? 2 : 1;
  const design = { x: new Float64Array(readings.length * columns), columns, y: new Float64Array(readings.length) };
  for (let i = 0; i < readings.length; i++) {
    if (connsVary) design.x[i * 2] = connections[i];
    design.x[i * columns + columns - 1] = hours[i];
    design.y[i] = readings[i].value;
  }
  yield; // the readings and design: a turn of their own (as in estimateSteps)
  const fit = yield* designFitSteps(design);
  if (!fit) return null;
  const perHour = fit.coefficients[connsVary ? 1 : 0];
  const mean = readings.reduce((a, r) => a + r.value, 0) / readings.length;
  return { bytesPerHour: perHour, growthBytes: perHour * (windowMs / 3_600_000), windowMs, mean, r2: fit.r2 };
}

/**
 * Growth of each in-use layer over time once connection counts are accounted for (layer ≈
 * a + b·connections + c·hours). A trend is reported when it explains the data (R² ≥ 0.6),
 * grew by at least `minGrowthBytes` and 5% of the layer, over at least `minWindowMs`. Exact
 * layers are also judged over trailing windows from `exactWindowMs` (doubling up to `minWindowMs`),
 * needing R² ≥ 0.9 there; the longest window that holds is the one reported.
 */
export function leakTrends(
  samples: Sample[],
  minGrowthBytes = 4 * 1024 * 1024,
  minWindowMs = 5 * 60_000,
  exactWindowMs = 20_000,
  layers: Layer[] = LEAK_LAYERS,
): LeakTrend[] {
  return drain(leakTrendSteps(samples, minGrowthBytes, minWindowMs, exactWindowMs, layers));
}

/** leakTrends() a fit iteration at a time (see robustFitSteps), each step named by the fit it is part of. */
export function* leakTrendSteps(
  samples: Sample[],
  minGrowthBytes: number,
  minWindowMs: number,
  exactWindowMs: number,
  layers: Layer[] = LEAK_LAYERS,
): Generator<string, LeakTrend[], void> {
  const trends: LeakTrend[] = [];
  for (const layer of layers) {
    const readings = readingsOf(samples, layer);
    if (readings.length < 8) continue;
    yield `trend readings (${layer})`;
    const windowMs = readings[readings.length - 1].sample.time - readings[0].sample.time;
    // Over seconds, GC sawtooth and allocator caching look like growth: a noisy layer needs minutes.
    const long = windowMs >= minWindowMs ? yield* named(`trend fit (${layer}, whole window)`, fitTrend(layer, readings, minGrowthBytes, 0.6, false)) : null;
    if (long || !EXACT_LAYERS.includes(layer)) {
      if (long) trends.push(long);
      continue;
    }
    const end = readings[readings.length - 1].sample.time;
    let best: LeakTrend | null = null;
    // Trailing windows of 1, 2, 4 … times exactWindowMs, short of the noisy layers' window: a slow
    // climb needs a longer one to be material. Each must really cover most of its span.
    for (let span = exactWindowMs; span < minWindowMs && 0.75 * span <= windowMs; span *= 2) {
      const recent = readings.filter((r) => r.sample.time >= end - span);
      if (recent.length < 8 || recent[recent.length - 1].sample.time - recent[0].sample.time < 0.75 * span) continue;
      best = (yield* named(`trend fit (${layer}, last ${span / 1000} s)`, fitTrend(layer, recent, minGrowthBytes, EXACT_MIN_R2, true))) ?? best;
    }
    // The whole window too, when it is shorter than the noisy layers' (a climb since the probe started).
    if (windowMs < minWindowMs && windowMs >= exactWindowMs) {
      best = (yield* named(`trend fit (${layer}, whole window)`, fitTrend(layer, readings, minGrowthBytes, EXACT_MIN_R2, true))) ?? best;
    }
    if (best) trends.push(best);
  }
  return trends;
}

export interface Retention {
  peakConnections: number;
  baselineConnections: number;
  /** RSS before the spike, at its peak, and now that connections are back down. */
  rssBefore: number;
  rssPeak: number;
  rssAfter: number;
  retainedBytes: number;
  /**
   * Split of retainedBytes, each part resident memory and the parts summing to it:
   * `jsHeap` — V8 heap pages resident now beyond the heap used before the spike (what a heap-shrinking GC gives back);
   * `nativeFree` — resident free native memory above before the spike (what a trim gives back), null
   * where the allocator counts no free bytes; `other` — the rest: native memory still in use
   * (part of it held by objects the next full GC frees), thread stacks, other mappings.
   */
  split: { nativeFree: number | null; jsHeap: number; other: number };
  /** How each part was measured. */
  methods: { jsHeap: string; nativeFree: string };
  /** The last low sample before the spike rose, and the first after it ended (ms since the epoch). */
  spikeStartedAt: number;
  spikeEndedAt: number;
}

const medianOf = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

/**
 * Memory that stayed after a connection spike ended: the first spike to the highest count, rising by at
 * least `minSpike` connections and then fell back within 10% of the rise.
 */
export function retentionAfterSpike(samples: Sample[], minSpike = 100): Retention | null {
  if (samples.length < 3) return null;
  const conns = samples.map((s) => totalConnections(s.connections));
  let peakIndex = 0;
  // The first time the peak was reached: what stays is measured against the level before it.
  for (let i = 1; i < conns.length; i++) if (conns[i] > conns[peakIndex]) peakIndex = i;
  const before = samples.slice(0, peakIndex);
  if (!before.length) return null;
  const base = Math.min(...conns.slice(0, peakIndex));
  const rise = conns[peakIndex] - base;
  if (rise < minSpike) return null;
  const low = (i: number) => conns[i] <= base + 0.1 * rise;
  const preIndexes = before
    .map((_, i) => i)
    .filter(low)
    .slice(-3);
  const postIndexes = samples.map((_, i) => i).filter((i) => i > peakIndex && low(i));
  if (!preIndexes.length || !postIndexes.length) return null;
  const recent = postIndexes.slice(-3);
  const at = (indexes: number[], read: (s: Sample) => number) => medianOf(indexes.map((i) => read(samples[i])));
  const rssBefore = at(preIndexes, (s) => s.rss);
  const rssAfter = at(recent, (s) => s.rss);
  const retained = rssAfter - rssBefore;
  // V8's part first: its resident pages are known exactly, and a heap-shrinking GC leaves about
  // the live heap resident — which, once the spike's connections are gone, is what it was before.
  const room = Math.max(0, retained);
  const jsHeap = Math.max(0, Math.min(at(recent, (s) => s.heapPhysical) - at(preIndexes, (s) => s.heapUsed), room));
  const hasFree = samples[recent[0]].nativeFree !== null && samples[preIndexes[0]].nativeFree !== null;
  const freeDelta = hasFree ? at(recent, (s) => s.nativeFree ?? 0) - at(preIndexes, (s) => s.nativeFree ?? 0) : null;
  const nativeFree = freeDelta === null ? null : Math.max(0, Math.min(freeDelta, room - jsHeap));
  return {
    peakConnections: conns[peakIndex],
    baselineConnections: base,
    rssBefore,
    rssPeak: samples[peakIndex].rss,
    rssAfter,
    retainedBytes: retained,
    split: { nativeFree, jsHeap, other: Math.max(0, room - (nativeFree ?? 0) - jsHeap) },
    methods: {
      jsHeap: 'V8 heap resident after the spike (v8 total_physical_size) − V8 heap used before it',
      nativeFree: `${RESIDENT_FREE_METHOD}, after − before the spike`,
    },
    spikeStartedAt: samples[preIndexes[preIndexes.length - 1]].time,
    spikeEndedAt: samples[postIndexes[0]].time,
  };
}

/** `value` (below `threshold`) with enough decimals that it does not print as the threshold itself (0.297 → "0.297", not "0.30" beside "need 0.3"). */
export function belowThreshold(value: number, threshold: number, decimals: number): string {
  let digits = decimals;
  while (digits < 6 && Number(value.toFixed(digits)) >= threshold) digits++;
  return value.toFixed(digits);
}
