import { setTimeout as sleep } from 'node:timers/promises';
import { spawnLoadClients } from '../load/clients';
import { startServer, type ConnectionKind } from '../load/server';
import { allocator, type AllocatorIdentity } from '../memory/detect';
import { fullGc } from '../memory/gc';
import { releaseToOS, type ReleaseResult } from '../memory/release';
import { createProbe, type AutoReleaseRecord } from '../probe/probe';
import { realSources } from '../probe/real-sources';
import type { ProbeReport } from '../probe/report';
import { totalConnections, type ConnectionCounts, type Sample } from '../probe/sample';
import type { ProbeSources } from '../probe/sources';
import { diffProfiles, type NativeHeapDiff } from '../native-heap/diff';
import type { NativeHeapProfile } from '../native-heap/profile';
import type { ContainerMemory } from '../container/interpret';
import { containerMemory } from '../container/memory';

export interface PulseOptions {
  /** Connections in each big pulse. */
  connections: number;
  /** Connections in each small pulse (the seed's 1k after 10k). */
  smallConnections: number;
  bigPulses: number;
  smallPulses: number;
  /** How long each pulse holds its connections open, ms. */
  lingerMs: number;
  /** Pause after each pulse closes, ms. */
  gapMs: number;
  kind: ConnectionKind;
  /** Clients send a small message every second (the server echoes) instead of sitting idle. */
  chatty: boolean;
  /** Let the probe give memory back when a pulse ends. */
  autoRelease: boolean;
  /** Count OpenSSL's live bytes during the run (where capabilities() allows). */
  opensslTracking: boolean;
  /** Call releaseToOS() once at the end and report what came back. */
  releaseAtEnd: boolean;
  intervalMs: number;
  /** The embedded server's port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Profile the native heap by call site at this mean sampling interval in bytes (null: off): a profile
   *  after every phase, the pair before the first big pulse and at its top kept for the per-connection view. */
  nativeProfileSampleBytes: number | null;
  /** Extra probe sources (OpenSSL tracking, socket snapshots) layered over the memory ones. */
  sources?: Partial<ProbeSources>;
}

export const DEFAULT_PULSE: PulseOptions = {
  connections: 2000,
  smallConnections: 200,
  bigPulses: 2,
  smallPulses: 2,
  lingerMs: 2000,
  gapMs: 1500,
  kind: 'tls',
  chatty: false,
  autoRelease: false,
  opensslTracking: true,
  releaseAtEnd: true,
  nativeProfileSampleBytes: null,
  intervalMs: 250,
  port: 0,
};

export interface PulsePhase {
  label: string;
  start: number;
  end: number;
  /** RSS and OpenSSL live bytes sampled as the phase ended. */
  rss: number;
  opensslLive: number | null;
}

export interface PulseResult {
  options: PulseOptions;
  allocator: AllocatorIdentity;
  samples: Sample[];
  phases: PulsePhase[];
  report: ProbeReport;
  rss: { baseline: number; peak: number; afterPulses: number; afterRelease: number | null };
  release: ReleaseResult | null;
  autoReleases: AutoReleaseRecord[];
  /** Connections opened per second in the big pulses (TLS: handshakes per second). */
  connectionsPerSecond: number;
  /** With nativeProfileSampleBytes: the profiles before the first big pulse and at its top, what grew
   *  between them and the connections opened meanwhile; or why profiling was unavailable. */
  nativeHeap: PulseNativeHeap | null;
  /** The memory cgroup as the pulse ended (containerMemory()): the limit the plots draw, its file and
   *  the working set; where there is no limit (or no readable group), `reason` says why. */
  container: PulseContainer;
}

export interface PulseContainer {
  limitBytes: number | null;
  limitSource: string | null;
  workingSetBytes: number | null;
  reason: string | null;
}

/** containerMemory()'s limit, its source, or why there is none. Never throws (containerMemory() does not). */
export function pulseContainer(c: ContainerMemory = containerMemory()): PulseContainer {
  const reason =
    c.version === null ? (c.missing.version ?? 'no memory cgroup readable') : c.limitBytes === null ? (c.missing.limitBytes ?? 'no limit set') : null;
  return { limitBytes: c.limitBytes, limitSource: c.sources.limitBytes ?? null, workingSetBytes: c.workingSetBytes, reason };
}

export interface PulseNativeHeap {
  unavailable: string | null;
  before: NativeHeapProfile | null;
  top: NativeHeapProfile | null;
  /** Connections open at the top minus before. */
  connections: number;
  diff: NativeHeapDiff | null;
}

export type PulseProgress = (event: { phase: string; open: number; rss: number }) => void;

/**
 * The seed's pulse.go, in-process: an embedded server here, clients in a child process, big
 * pulses of N connections held for a linger time, then small pulses; every layer sampled.
 */
export async function runPulse(options: PulseOptions, onProgress: PulseProgress = () => undefined): Promise<PulseResult> {
  const server = await startServer({ kind: options.kind, echo: options.chatty, port: options.port });
  const clients = await spawnLoadClients();
  const counts = (): ConnectionCounts => {
    const open = server.open;
    return { tls: { server: options.kind === 'tls' ? open : 0, client: 0 }, tcp: { server: options.kind === 'tcp' ? open : 0, client: 0 } };
  };
  const probe = createProbe({
    intervalMs: options.intervalMs,
    capacity: 20_000,
    socketIntervalMs: Math.max(options.intervalMs, 1000),
    autoRelease: options.autoRelease ? { minIntervalMs: 2000 } : false,
    opensslTracking: options.opensslTracking,
    // The pulse takes its profiles itself, after each phase; the probe's own cadence stays out of the way.
    nativeHeapProfile: options.nativeProfileSampleBytes === null ? false : { sampleBytes: options.nativeProfileSampleBytes, intervalMs: 3_600_000 },
    sources: { ...realSources(), connections: counts, ...options.sources },
  });
  const heap: PulseNativeHeap | null =
    options.nativeProfileSampleBytes === null ? null : { unavailable: null, before: null, top: null, connections: 0, diff: null };
  /** A profile now, or null (and the reason kept) where profiling is off. */
  const heapProfile = async (): Promise<NativeHeapProfile | null> => {
    if (!heap || heap.unavailable !== null) return null;
    try {
      return await probe.profileNativeHeap();
    } catch (error) {
      heap.unavailable = probe.report().nativeHeap?.unavailable ?? (error as Error).message;
      return null;
    }
  };
  const phases: PulsePhase[] = [];
  const phase = async (label: string, work: () => Promise<void>) => {
    const start = Date.now();
    await work();
    const end = Date.now();
    const sample = await probe.sample();
    phases.push({ label, start, end, rss: sample.rss, opensslLive: sample.opensslLive });
    onProgress({ phase: label, open: server.open, rss: sample.rss });
    // After every phase while the probe runs: readings at 0, small and big counts for the per-category fit.
    if (heap && probe.running) {
      const profile = await heapProfile();
      if (label === 'baseline') heap.before = profile;
      if (label === 'big pulse 1: hold' && profile && heap.before) {
        heap.top = profile;
        heap.connections = totalConnections(probe.samples().at(-1)!.connections) - totalConnections(beforeConnections);
        heap.diff = diffProfiles(heap.before, profile);
      }
      if (label === 'baseline') beforeConnections = probe.samples().at(-1)!.connections;
    }
  };
  let beforeConnections: ConnectionCounts | null = null;
  let openMs = 0;
  let opened = 0;
  const pulse = async (label: string, count: number, big: boolean) => {
    await phase(`${label}: open ${count}`, async () => {
      const start = performance.now();
      const result = await clients.open(options.kind, server.port, count, { chatty: options.chatty });
      if (result.open < count) throw new Error(`opened ${result.open} of ${count} connections (${result.failed} failed: ${result.lastError})`);
      await server.waitForOpen(count);
      if (big) {
        openMs += performance.now() - start;
        opened += count;
      }
    });
    await phase(`${label}: hold`, () => sleep(options.lingerMs));
    await phase(`${label}: close`, async () => {
      await clients.closeAll();
      await server.waitForClosed();
    });
    await phase(`${label}: gap`, () => sleep(options.gapMs));
  };
  try {
    await phase('warm-up', async () => {
      await clients.open(options.kind, server.port, 20);
      await server.waitForOpen(20);
      await clients.closeAll();
      await server.waitForClosed();
      fullGc();
    });
    probe.start();
    await phase('baseline', () => sleep(Math.max(500, 2 * options.intervalMs)));
    const baseline = probe.samples().at(-1)!.rss;
    for (let i = 1; i <= options.bigPulses; i++) await pulse(`big pulse ${i}`, options.connections, true);
    for (let i = 1; i <= options.smallPulses; i++) await pulse(`small pulse ${i}`, options.smallConnections, false);
    const afterPulses = (await probe.sample()).rss;
    // Judge the run as it stands after the pulses: retention shows before a release hides it.
    const report = probe.report();
    let release: ReleaseResult | null = null;
    if (options.releaseAtEnd) {
      await phase('releaseToOS()', async () => {
        release = await releaseToOS();
      });
      await phase('after release', () => sleep(Math.max(500, 2 * options.intervalMs)));
    }
    probe.stop();
    const samples = probe.samples();
    return {
      options,
      allocator: allocator(),
      samples,
      phases,
      report,
      rss: { baseline, peak: Math.max(...samples.map((s) => s.rss)), afterPulses, afterRelease: release ? (release as ReleaseResult).rssAfterBytes : null },
      release,
      autoReleases: probe.releases(),
      connectionsPerSecond: openMs > 0 ? (opened / openMs) * 1000 : 0,
      nativeHeap: heap,
      container: pulseContainer(),
    };
  } finally {
    probe.stop();
    await clients.stop();
    await server.close();
  }
}
