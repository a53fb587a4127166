import { setTimeout as sleep } from 'node:timers/promises';
import { fullGc } from '../memory/gc';
import { rssBytes } from '../memory/proc';
import { releaseToOS, type ReleaseOptions, type ReleaseResult } from '../memory/release';
import { spawnLoadClients } from '../load/clients';
import { startServer, type ConnectionKind } from '../load/server';

export interface SpikeOptions {
  connections: number;
  kind?: ConnectionKind;
  /** Connections opened and closed before the baseline, so one-time TLS set-up is not counted as spike. */
  warmup?: number;
  release?: ReleaseOptions | false;
  onProgress?: (phase: string, detail: Record<string, number>) => void;
}

export interface SpikeResult {
  connections: number;
  kind: ConnectionKind;
  /** RSS in bytes at each phase: settled before the spike, all open, all closed (after GC), after release. */
  rss: { baseline: number; open: number; closed: number; released: number | null };
  openMs: number;
  release: ReleaseResult | null;
}

/**
 * The shape of every seed experiment: open N loopback connections against an embedded
 * server in this process (clients in a child process), close them all, then give memory back.
 */
export async function runSpike(options: SpikeOptions): Promise<SpikeResult> {
  const kind = options.kind ?? 'tls';
  const progress = options.onProgress ?? (() => undefined);
  const server = await startServer({ kind });
  const clients = await spawnLoadClients();
  try {
    const cycle = async (count: number) => {
      const opened = await clients.open(kind, server.port, count);
      if (opened.open < count) throw new Error(`opened ${opened.open} of ${count} connections (${opened.failed} failed: ${opened.lastError})`);
      await server.waitForOpen(count);
    };
    const closeAll = async () => {
      await clients.closeAll();
      await server.waitForClosed();
    };
    if ((options.warmup ?? 20) > 0) {
      await cycle(options.warmup ?? 20);
      await closeAll();
    }
    fullGc();
    await sleep(50);
    const baseline = rssBytes();
    progress('baseline', { rss: baseline });
    const start = performance.now();
    await cycle(options.connections);
    const openMs = performance.now() - start;
    const open = rssBytes();
    progress('open', { rss: open, connections: server.open });
    await closeAll();
    fullGc();
    await sleep(50);
    const closed = rssBytes();
    progress('closed', { rss: closed });
    const release = options.release === false ? null : await releaseToOS(options.release);
    if (release) progress('released', { rss: release.rssAfterBytes, releasedBytes: release.releasedBytes });
    return { connections: options.connections, kind, rss: { baseline, open, closed, released: release ? release.rssAfterBytes : null }, openMs, release };
  } finally {
    await clients.stop();
    await server.close();
  }
}
