/**
 * The container ledger: the memory cgroup's usage split into who holds it, from figures the
 * kernel and the process keep independently. Pure: the readings are passed in.
 */
import type { ContainerMemory } from './interpret';

export interface LedgerLine {
  bytes: number | null;
  /** Where the figure comes from (or, for null, why there is none). */
  source: string;
}

/** What the process itself holds, read from /proc/self/status and memoryBreakdown(). */
export interface ProcessReading {
  pid: number;
  /** RssAnon: the process's anonymous resident pages, which the group counts in `anon`. */
  anonBytes: number;
  jsHeap: LedgerLine;
  external: LedgerLine;
  nativeInUse: LedgerLine;
  nativeFree: LedgerLine;
}

export interface OtherProcessesReading {
  /** Processes in the group and its descendants other than this one, read. */
  count: number;
  anonBytes: number;
  /** Listed in cgroup.procs but gone or unreadable by the time their status was read. */
  unreadable: number;
  /** Why the list could not be read at all (then count is 0). */
  reason?: string;
}

export interface ContainerLedger {
  version: 1 | 2;
  path: string;
  limitBytes: number | null;
  /** The figure the ledger explains: the group's usage (memory.current / memory.usage_in_bytes). */
  usageBytes: number;
  workingSetBytes: number | null;
  /** This process's anonymous memory, by layer; the parts add up to `anon`. */
  process: {
    pid: number;
    anon: LedgerLine;
    jsHeap: LedgerLine;
    external: LedgerLine;
    nativeInUse: LedgerLine;
    nativeFree: LedgerLine;
    /** The rest of RssAnon: thread stacks, V8's code and other anonymous mappings, allocator metadata. */
    stacksAndOther: LedgerLine;
  };
  sockets: {
    /** Socket buffers the group is charged for: v2 `sock`; 0 on v1, which charges them outside usage. */
    charged: LedgerLine;
    /** This process's kernel socket memory (skmem of its sockets, from the socket snapshot). */
    thisProcess: LedgerLine;
  };
  pageCache: {
    active: LedgerLine;
    inactive: LedgerLine;
    /** `file` pages on neither file list: shmem/tmpfs (kept on the anon lists) and unevictable ones. */
    other: LedgerLine;
  };
  kernel: LedgerLine;
  otherProcesses: LedgerLine & { count: number; unreadable: number };
  /** usage − every line above. Signed: negative means the lines count more than the group holds. */
  unexplained: LedgerLine & { bytes: number; fraction: number };
}

const line = (bytes: number | null, source: string): LedgerLine => ({ bytes, source });

/**
 * Reconciles the group's usage with the process's layers, other processes and the group's own
 * page cache, kernel and socket figures. Null when the group has no usage figure to explain
 * (the reason is then in `container.missing.usageBytes`).
 */
export function reconcileLedger(
  container: ContainerMemory,
  own: ProcessReading,
  others: OtherProcessesReading,
  socketBytes: LedgerLine,
): ContainerLedger | null {
  if (container.version === null || container.usageBytes === null || container.path === null) return null;
  const { stat, sources, missing } = container;
  const layered = [own.jsHeap, own.external, own.nativeInUse, own.nativeFree].reduce((sum, part) => sum + (part.bytes ?? 0), 0);
  const stacksAndOther = line(Math.max(0, own.anonBytes - layered), '/proc/self/status RssAnon − the layers above (at least 0)');
  const charged =
    container.version === 2
      ? line(stat.sock, stat.sock === null ? (missing['stat.sock'] ?? 'memory.stat has no sock line') : (sources['stat.sock'] ?? 'memory.stat sock'))
      : line(0, 'cgroup v1 charges socket buffers to memory.kmem.tcp.usage_in_bytes, outside memory.usage_in_bytes (mm/memcontrol.c mem_cgroup_sk_charge)');
  const fileBytes = stat.file;
  const active = line(stat.activeFile, sources['stat.activeFile'] ?? missing['stat.activeFile'] ?? '');
  const inactive = line(stat.inactiveFile, sources['stat.inactiveFile'] ?? missing['stat.inactiveFile'] ?? '');
  const otherFile =
    fileBytes === null || stat.activeFile === null || stat.inactiveFile === null
      ? line(null, 'needs file, active_file and inactive_file')
      : line(
          Math.max(0, fileBytes - stat.activeFile - stat.inactiveFile),
          `${sources['stat.file']} − active − inactive (shmem ${stat.shmem ?? '?'} B, unevictable)`,
        );
  const kernel = line(stat.kernel, sources['stat.kernel'] ?? missing['stat.kernel'] ?? '');
  const otherProcesses = {
    ...line(
      others.reason ? null : others.anonBytes,
      others.reason ?? `/proc/<pid>/status RssAnon of the ${others.count} other processes in cgroup.procs (the group and its descendants)`,
    ),
    count: others.count,
    unreadable: others.unreadable,
  };
  const explained = [
    Math.max(own.anonBytes, layered),
    charged.bytes,
    active.bytes,
    inactive.bytes,
    otherFile.bytes,
    kernel.bytes,
    otherProcesses.bytes,
  ].reduce<number>((sum, bytes) => sum + (bytes ?? 0), 0);
  const unexplainedBytes = container.usageBytes - explained;
  return {
    version: container.version,
    path: container.path,
    limitBytes: container.limitBytes,
    usageBytes: container.usageBytes,
    workingSetBytes: container.workingSetBytes,
    process: {
      pid: own.pid,
      anon: line(own.anonBytes, '/proc/self/status RssAnon'),
      jsHeap: own.jsHeap,
      external: own.external,
      nativeInUse: own.nativeInUse,
      nativeFree: own.nativeFree,
      stacksAndOther,
    },
    sockets: { charged, thisProcess: socketBytes },
    pageCache: { active, inactive, other: otherFile },
    kernel,
    otherProcesses,
    unexplained: {
      bytes: unexplainedBytes,
      fraction: container.usageBytes > 0 ? unexplainedBytes / container.usageBytes : 0,
      source: `${sources.usageBytes} − the lines above; includes the charge the kernel batches ahead per CPU and pages charged here by processes that left`,
    },
  };
}
