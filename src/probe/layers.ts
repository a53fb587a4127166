import { otherNative, type Sample } from './sample';

/** The memory layers the probe correlates, and how each is read from a sample. */
export type Layer = 'rss' | 'jsHeap' | 'openssl' | 'otherNative' | 'kernel';

export const LAYERS: Record<Layer, { label: string; read: (s: Sample) => number | null }> = {
  rss: { label: 'RSS', read: (s) => s.rss },
  jsHeap: { label: 'JS heap (used)', read: (s) => s.heapUsed },
  openssl: { label: 'OpenSSL live bytes', read: (s) => s.opensslLive },
  otherNative: { label: 'other native in use', read: (s) => otherNative(s) },
  kernel: { label: 'kernel socket memory', read: (s) => s.sockets?.kernelBytes ?? null },
};

/**
 * Samples that carry a fresh reading of `layer`: kernel memory comes from socket snapshots
 * taken on a slower cadence, so only the sample that took each snapshot counts.
 */
export function readingsOf(samples: Sample[], layer: Layer): Array<{ sample: Sample; value: number }> {
  const out: Array<{ sample: Sample; value: number }> = [];
  let lastSnapshot = -1;
  for (const sample of samples) {
    if (layer === 'kernel') {
      if (!sample.sockets || sample.sockets.takenAt === lastSnapshot) continue;
      lastSnapshot = sample.sockets.takenAt;
    }
    const value = LAYERS[layer].read(sample);
    if (value !== null && Number.isFinite(value)) out.push({ sample, value });
  }
  return out;
}
