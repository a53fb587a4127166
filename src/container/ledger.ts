import * as fs from 'node:fs';
import * as path from 'node:path';
import { SockprobeError, SockprobeTypeError } from '../errors';
import { memoryBreakdown } from '../memory/breakdown';
import { parseProcStatus } from '../memory/proc';
import { socketSnapshot } from '../net/snapshot';
import type { ContainerMemory } from './interpret';
import { containerMemory, containerMemoryOf, readSmall } from './memory';
import { reconcileLedger, type ContainerLedger, type LedgerLine, type OtherProcessesReading, type ProcessReading } from './reconcile';

export interface ContainerLedgerOptions {
  /** Add this process's kernel socket memory (a socket snapshot on the threadpool). Default true. */
  sockets?: boolean;
}

/** Groups walked below the process's own for cgroup.procs; a container has a handful. */
const MAX_GROUPS = 256;

/** Pids in the group and its descendants (v1 and v2 both keep cgroup.procs in each group). */
function groupPids(directory: string): { pids: number[]; reason?: string } {
  const pids: number[] = [];
  const pending = [directory];
  for (let visited = 0; pending.length > 0 && visited < MAX_GROUPS; visited++) {
    const dir = pending.pop()!;
    const procs = readSmall(path.join(dir, 'cgroup.procs'));
    if (typeof procs !== 'string') {
      if (dir === directory) return { pids, reason: `cgroup.procs could not be read (${procs.error})` };
      continue;
    }
    for (const word of procs.split('\n')) if (/^\d+$/.test(word)) pids.push(Number(word));
    try {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) pending.push(path.join(dir, entry.name));
    } catch {
      /* a group removed while walking: its processes left with it */
    }
  }
  return { pids };
}

function otherProcesses(directory: string, self = process.pid): OtherProcessesReading {
  const { pids, reason } = groupPids(directory);
  if (reason) return { count: 0, anonBytes: 0, unreadable: 0, reason };
  let count = 0;
  let anonBytes = 0;
  let unreadable = 0;
  for (const pid of pids) {
    if (pid === self) continue;
    const status = readSmall(`/proc/${pid}/status`);
    const anon = typeof status === 'string' ? parseProcStatus(status).rssAnonBytes : NaN;
    // Kernel threads and zombies have no RssAnon line; an exited pid has no status.
    if (Number.isNaN(anon)) {
      if (typeof status !== 'string') unreadable++;
      continue;
    }
    count++;
    anonBytes += anon;
  }
  return { count, anonBytes, unreadable };
}

function ownReading(): ProcessReading {
  const status = readSmall('/proc/self/status');
  const anonBytes = typeof status === 'string' ? parseProcStatus(status).rssAnonBytes : NaN;
  let layers: Pick<ProcessReading, 'jsHeap' | 'external' | 'nativeInUse' | 'nativeFree'>;
  try {
    const b = memoryBreakdown();
    layers = { jsHeap: b.jsHeap, external: b.external, nativeInUse: b.nativeInUse, nativeFree: b.nativeFree };
  } catch (error) {
    const why = `memoryBreakdown() failed: ${(error as Error).message}`;
    layers = {
      jsHeap: { bytes: null, source: why },
      external: { bytes: null, source: why },
      nativeInUse: { bytes: null, source: why },
      nativeFree: { bytes: null, source: why },
    };
  }
  return { pid: process.pid, anonBytes: Number.isNaN(anonBytes) ? 0 : anonBytes, ...layers };
}

async function ownSocketBytes(wanted: boolean): Promise<LedgerLine> {
  if (!wanted) return { bytes: null, source: 'not measured (options.sockets is false)' };
  try {
    const snapshot = await socketSnapshot();
    let bytes = 0;
    for (let i = 0; i < snapshot.sockets.length; i++) bytes += snapshot.sockets.kernelBytes(i);
    return { bytes, source: `socketSnapshot() skmem of ${snapshot.sockets.length} TCP sockets (rmem_alloc + wmem_queued + fwd_alloc + optmem)` };
  } catch (error) {
    return { bytes: null, source: `socketSnapshot() failed: ${(error as Error).message}` };
  }
}

/**
 * containerLedger(): the memory cgroup's usage split into this process's layers (JS heap,
 * external, native in use, native free, stacks and other), the group's socket buffers, page
 * cache and kernel memory, the other processes in the group, and what is left unexplained.
 * Rejects with ERR_UNSUPPORTED (the reason in words) when the process is in no readable
 * memory cgroup. The socket snapshot runs on the threadpool; the rest is a few small reads.
 */
export async function containerLedger(options: ContainerLedgerOptions = {}): Promise<ContainerLedger & { container: ContainerMemory }> {
  if (options === null || typeof options !== 'object') throw new SockprobeTypeError('options', 'an object', options);
  if (options.sockets !== undefined && typeof options.sockets !== 'boolean') throw new SockprobeTypeError('options.sockets', 'a boolean', options.sockets);
  // The snapshot first: the figures read after it are then close together in time.
  const sockets = await ownSocketBytes(options.sockets !== false);
  const container = containerMemory();
  if (container.version === null || container.directory === null || container.usageBytes === null) {
    throw new SockprobeError('ERR_UNSUPPORTED', `no memory cgroup usage to reconcile: ${container.missing.usageBytes ?? container.missing.version}`);
  }
  const own = ownReading();
  const others = otherProcesses(container.directory);
  const ledger = reconcileLedger(container, own, others, sockets)!;
  return { ...ledger, container };
}

/**
 * The ledger of another process (the CLI's snapshot --pid): its RssAnon, its sockets' kernel
 * memory, the group's page cache and kernel memory, and the other processes; its layers (V8
 * heap, Buffers, allocator) are read from inside a process only, so they are null with that reason.
 */
export async function containerLedgerOf(pid: number): Promise<ContainerLedger & { container: ContainerMemory }> {
  let sockets: LedgerLine;
  try {
    const snapshot = await socketSnapshot({ pid });
    let bytes = 0;
    for (let i = 0; i < snapshot.sockets.length; i++) bytes += snapshot.sockets.kernelBytes(i);
    sockets = { bytes, source: `socketSnapshot({ pid: ${pid} }) skmem of ${snapshot.sockets.length} TCP sockets` };
  } catch (error) {
    sockets = { bytes: null, source: `socketSnapshot({ pid: ${pid} }) failed: ${(error as Error).message}` };
  }
  const container = containerMemoryOf(pid);
  if (container.version === null || container.directory === null || container.usageBytes === null) {
    throw new SockprobeError('ERR_UNSUPPORTED', `no memory cgroup usage to reconcile: ${container.missing.usageBytes ?? container.missing.version}`);
  }
  const status = readSmall(`/proc/${pid}/status`);
  const anonBytes = typeof status === 'string' ? parseProcStatus(status).rssAnonBytes : NaN;
  const inside: LedgerLine = { bytes: null, source: `read from inside the process only (createProbe() or containerLedger() in process ${pid})` };
  const reading: ProcessReading = {
    pid,
    anonBytes: Number.isNaN(anonBytes) ? 0 : anonBytes,
    jsHeap: inside,
    external: inside,
    nativeInUse: inside,
    nativeFree: inside,
  };
  const ledger = reconcileLedger(container, reading, otherProcesses(container.directory, pid), sockets)!;
  return { ...ledger, container };
}
