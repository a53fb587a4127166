import { LAYERS, readingsOf, type Layer } from './layers';
import { robustFit } from './regression';
import { totalConnections, type Sample } from './sample';

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
  /** Why no estimate was made (connection counts did not vary enough, too few samples, …). */
  declined?: string;
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

/** Bytes per connection for every layer and kind, from a robust regression on both kinds' counts. */
export function perConnection(samples: Sample[], layers: Layer[] = Object.keys(LAYERS) as Layer[]): PerConnectionEstimate[] {
  const estimates: PerConnectionEstimate[] = [];
  for (const layer of layers) {
    const method = RETAINING_LAYERS.includes(layer) ? 'rising-edge' : 'regression';
    const all = readingsOf(samples, layer);
    const readings = method === 'rising-edge' ? risingEdge(all) : all;
    const counts = { tls: readings.map((r) => totalConnections(r.sample.connections, 'tls')), tcp: readings.map((r) => totalConnections(r.sample.connections, 'tcp')) };
    const varying = (['tls', 'tcp'] as const).filter((kind) => {
      const v = variation(counts[kind].length ? counts[kind] : [0]);
      return v.range >= MIN_CONNECTION_RANGE && v.distinct >= MIN_DISTINCT;
    });
    const fit = varying.length && readings.length >= varying.length + 3 ? robustFit(readings.map((_, i) => varying.map((k) => counts[k][i])), readings.map((r) => r.value)) : null;
    for (const kind of ['tls', 'tcp'] as const) {
      const column = varying.indexOf(kind);
      if (readings.length < 4) {
        estimates.push({ layer, kind, method, bytesPerConnection: null, quality: null, samples: readings.length, declined: `only ${readings.length} readings of ${LAYERS[layer].label}` });
      } else if (column < 0) {
        const v = variation(counts[kind]);
        estimates.push({ layer, kind, method, bytesPerConnection: null, quality: null, samples: readings.length, declined: `${kind} connections varied by ${v.range} over ${v.distinct} distinct counts (need ${MIN_CONNECTION_RANGE} over ${MIN_DISTINCT})` });
      } else if (!fit) {
        estimates.push({ layer, kind, method, bytesPerConnection: null, quality: null, samples: readings.length, declined: 'the regression had no solution (tls and tcp counts moved together)' });
      } else {
        estimates.push({ layer, kind, method, bytesPerConnection: fit.coefficients[column], quality: fit.r2, samples: readings.length });
      }
    }
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
}

/** Layers that count bytes in use: growth there is a leak; RSS growth alone may be retention. */
export const LEAK_LAYERS: Layer[] = ['openssl', 'otherNative', 'jsHeap', 'kernel'];

/**
 * Growth of each in-use layer over time once connection counts are accounted for (layer ≈
 * a + b·connections + c·hours). A trend is reported when it explains the data (R² ≥ 0.6),
 * grew by at least `minGrowthBytes` and 5% of the layer, over at least `minWindowMs`.
 */
export function leakTrends(samples: Sample[], minGrowthBytes = 4 * 1024 * 1024, minWindowMs = 5 * 60_000): LeakTrend[] {
  const trends: LeakTrend[] = [];
  for (const layer of LEAK_LAYERS) {
    const readings = readingsOf(samples, layer);
    if (readings.length < 8) continue;
    const t0 = readings[0].sample.time;
    const windowMs = readings[readings.length - 1].sample.time - t0;
    // Over seconds, GC sawtooth and allocator caching look like growth: a leak needs minutes.
    if (windowMs < minWindowMs) continue;
    const conns = readings.map((r) => totalConnections(r.sample.connections));
    const hours = readings.map((r) => (r.sample.time - t0) / 3_600_000);
    const connsVary = variation(conns).range >= MIN_CONNECTION_RANGE;
    const fit = robustFit(readings.map((_, i) => (connsVary ? [conns[i], hours[i]] : [hours[i]])), readings.map((r) => r.value));
    if (!fit) continue;
    const perHour = fit.coefficients[connsVary ? 1 : 0];
    const growth = perHour * (windowMs / 3_600_000);
    const mean = readings.reduce((a, r) => a + r.value, 0) / readings.length;
    if (growth >= minGrowthBytes && growth >= 0.05 * mean && fit.r2 >= 0.6) {
      trends.push({ layer, bytesPerHour: perHour, growthBytes: growth, windowMs, quality: fit.r2, connectionsFirst: conns[0], connectionsLast: conns[conns.length - 1] });
    }
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
  /** Split of retainedBytes: free-but-retained native (releasable), V8 heap, and the rest. */
  split: { nativeFree: number | null; jsHeap: number; other: number };
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
  const preIndexes = before.map((_, i) => i).filter(low).slice(-3);
  const postIndexes = samples.map((_, i) => i).filter((i) => i > peakIndex && low(i));
  if (!preIndexes.length || !postIndexes.length) return null;
  const recent = postIndexes.slice(-3);
  const at = (indexes: number[], read: (s: Sample) => number) => medianOf(indexes.map((i) => read(samples[i])));
  const rssBefore = at(preIndexes, (s) => s.rss);
  const rssAfter = at(recent, (s) => s.rss);
  const retained = rssAfter - rssBefore;
  const freeDelta = samples[recent[0]].nativeFree === null || samples[preIndexes[0]].nativeFree === null ? null : at(recent, (s) => s.nativeFree ?? 0) - at(preIndexes, (s) => s.nativeFree ?? 0);
  const heapDelta = at(recent, (s) => s.heapTotal) - at(preIndexes, (s) => s.heapTotal);
  const nativeFree = freeDelta === null ? null : Math.max(0, Math.min(freeDelta, retained));
  const jsHeap = Math.max(0, Math.min(heapDelta, retained - (nativeFree ?? 0)));
  return {
    peakConnections: conns[peakIndex],
    baselineConnections: base,
    rssBefore,
    rssPeak: samples[peakIndex].rss,
    rssAfter,
    retainedBytes: retained,
    split: { nativeFree, jsHeap, other: Math.max(0, retained - (nativeFree ?? 0) - jsHeap) },
    spikeEndedAt: samples[postIndexes[0]].time,
  };
}
