import { describe, expect, it } from 'vitest';
import { runFixture } from '../helpers/child';

interface Soak {
  cycles: number;
  connections: number;
  ownMemory: {
    first: { bytes: number; samples: number };
    firstFull?: { bytes: number; samples: number };
    last: { bytes: number; samples: number };
    capacity: number;
  };
  probeCost: { meanMs: number; medianMs: number; maxMs: number };
  samples: number;
  snapshots: number;
  autoReleases: number;
  baseline: { rss: number; openssl: number | null };
  end: { rss: number; openssl: number | null };
}

// The short form (12 s and at least 4 cycles of 300 connections); `npm run soak` runs the
// same churn for five minutes.
describe('soak: TLS churn with the probe sampling, snapshots and autoRelease on', () => {
  it('survives, keeps its own memory bounded, and costs the JS thread little', async () => {
    const run = await runFixture<Soak>('soak.js', { args: ['12', '300', '4'], timeoutMs: 120_000 });
    expect(run.code).toBe(0);
    const soak = run.json;
    expect(soak.cycles).toBeGreaterThanOrEqual(4);
    expect(soak.snapshots).toBeGreaterThanOrEqual(10);
    // The ring wrapped: the probe holds `capacity` samples, and its footprint stopped growing.
    expect(soak.samples).toBe(soak.ownMemory.capacity);
    expect(soak.ownMemory.last.samples).toBe(soak.ownMemory.capacity);
    // Samples are capped; once the ring is full (measured after a churn cycle; on a loaded
    // machine that may be a late one) only the (64-entry) autoRelease log can still add a little.
    expect(soak.ownMemory.firstFull).toBeDefined();
    expect(soak.ownMemory.last.bytes - soak.ownMemory.firstFull!.bytes).toBeLessThanOrEqual(soak.autoReleases * 400);
    expect(soak.ownMemory.last.bytes).toBeLessThan(64 * 1024);
    expect(soak.probeCost.medianMs).toBeLessThan(1);
    expect(soak.autoReleases).toBeGreaterThanOrEqual(1);
    expect(soak.end.rss).toBeLessThan(1.3 * soak.baseline.rss);
  });
});
