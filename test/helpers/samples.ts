import type { Sample, SocketSummary } from '../../src/probe/sample';

/** Builds a synthetic sample: `tls`/`tcp` server connections and layer values, the rest plausible. */
export function makeSample(i: number, fields: Partial<Sample> & { tls?: number; tcp?: number } = {}): Sample {
  const { tls = 0, tcp = 0, ...rest } = fields;
  const sample: Sample = {
    time: 1_700_000_000_000 + i * 1000,
    rss: 60e6,
    rssAnon: NaN,
    heapUsed: 8e6,
    heapTotal: 12e6,
    heapPhysical: NaN,
    external: 2e6,
    arrayBuffers: 1e6,
    nativeAllocated: 5e6,
    nativeFree: 1e6,
    allocatorFreeRaw: null,
    opensslLive: 1e6,
    connections: { tls: { server: tls, client: 0 }, tcp: { server: tcp, client: 0 } },
    sockets: null,
    eventLoopDelayMaxMs: 2,
    probeMs: 0.1,
    ...rest,
  };
  // Unless given: code and libraries take 40 MB of RSS, V8's heap is resident as far as it is committed.
  if (Number.isNaN(sample.rssAnon)) sample.rssAnon = sample.rss - 40e6;
  if (Number.isNaN(sample.heapPhysical)) sample.heapPhysical = sample.heapTotal;
  if (!('allocatorFreeRaw' in fields)) sample.allocatorFreeRaw = sample.nativeFree;
  return sample;
}

export function makeSockets(fields: Partial<SocketSummary> = {}): SocketSummary {
  return {
    byState: { ESTABLISHED: 10, LISTEN: 1 },
    closeWaitByPort: {},
    kernelBytes: 100_000,
    idle: { count: 0, kernelBytes: 0, thresholdMs: 60_000 },
    fds: { open: 50, limit: 20_000 },
    takenAt: 1,
    durationMs: 1,
    mainThreadMs: 0.5,
    ...fields,
  };
}

/** Deterministic noise in [-1, 1) so tests are repeatable. */
export function noise(i: number): number {
  const x = Math.sin(i * 12.9898) * 43758.5453;
  return 2 * (x - Math.floor(x)) - 1;
}
