import * as fs from 'node:fs';
import { SockprobeError, SockprobeTypeError } from '../errors';
import { native } from '../native';
import type { NativeSnapshotRows } from '../binding/net';
import { SocketRows, type SocketRow } from './snapshot-rows';
import { socketError } from './syscall-error';
import { requireNetSupport } from './support';
import { tcpStateName, type TcpStateName } from './tcp-states';

export type StateCounts = Partial<Record<TcpStateName, number>>;

export interface SocketSnapshot<U64 = number | null> {
  /** Date.now() when the snapshot resolved. */
  takenAt: number;
  /** Every TCP socket of this process, IPv4 and IPv6; rows are built when read. */
  sockets: SocketRows<U64>;
  counts: {
    total: number;
    byState: StateCounts;
    /** Every socket by its local port (listeners, accepted, and clients' ephemeral ports). */
    byLocalPort: Record<number, StateCounts>;
    /** Client-side sockets (not on one of our listeners) by the port they connect to. */
    byRemotePort: Record<number, StateCounts>;
  };
  listeners: SocketRow<U64>[];
  fds: {
    open: number;
    /** RLIMIT_NOFILE soft limit (Infinity when unlimited): where EMFILE starts. */
    limit: number;
    hardLimit: number;
    /** limit - open. */
    headroom: number;
  };
  /**
   * TCP sockets the kernel sent, ours or not. The dumps are filtered in the kernel on this
   * process's local ports (listening ports, then the ports of its other socket fds), so other
   * processes' sockets are not sent unless they share one of those ports.
   */
  hostSockets: number;
  /** How the dumps were narrowed: distinct local ports filtered on, whether one dump walked the host
   *  unfiltered (too many ports for a filter), requests sent. */
  dump: { filterPorts: number; unfiltered: boolean; requests: number };
  /**
   * scanMs, dumpMs: the threadpool parts. totalMs: call to result. mainThreadMs: the part that
   * ran on the event loop (queueing the work, then turning rows into counts), i.e. the stall.
   * cpuMs: the threadpool thread's CPU time in the scan and dumps; well below scanMs + dumpMs,
   * the rest was waiting for a core (a loaded host), not work.
   */
  timings: { scanMs: number; dumpMs: number; cpuMs: number | null; totalMs: number; mainThreadMs: number };
}

export interface SocketSnapshotOptions {
  /** 64-bit tcp_info counters as bigint instead of number-or-null. Default false. */
  bigint?: boolean;
  /** Another process of the same user to inspect (its /proc/<pid>/fd against the dump). Default: this process. */
  pid?: number;
}

/** The pid to scan (0: this process), after checking it exists and belongs to this user. */
function targetPid(pid: unknown): number {
  if (pid === undefined || pid === process.pid) return 0;
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid < 1 || pid > 2 ** 31 - 1)
    throw new SockprobeTypeError('options.pid', 'a process id (a positive integer)', pid);
  let status: string;
  try {
    status = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    throw new SockprobeError('ERR_NO_SUCH_PROCESS', `there is no process ${pid}`, { errno: 3, syscall: 'open' });
  }
  // Only processes of the same real user: the snapshot shows their peers and ports.
  const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
  if (uid !== process.getuid?.())
    throw new SockprobeError('ERR_PROCESS_NOT_OWNED', `process ${pid} belongs to uid ${uid}, not to this user (uid ${process.getuid?.()})`);
  return pid;
}

/** The addon's [port * 16 + state, count, …] pairs as { port: { STATE: count } }. */
function byPort(pairs: number[]): Record<number, StateCounts> {
  const table: Record<number, StateCounts> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) (table[Math.floor(pairs[i] / 16)] ??= {})[tcpStateName(pairs[i] % 16)] = pairs[i + 1];
  return table;
}

/**
 * Every TCP socket of this process from NETLINK_SOCK_DIAG dumps (AF_INET and AF_INET6), with
 * state, addresses, inode, fd, tcp_info and skmem; matched to the process by the socket
 * inodes in /proc/self/fd. TIME_WAIT, SYN_RECV and orphaned sockets (closed by the app,
 * still in FIN_WAIT1/2, LAST_ACK or CLOSING) have no inode: they are counted when they sit on
 * one of this process's listening addresses and ports. Client-side ones cannot be attributed
 * to a process, by the kernel or by ss. Both scans run on the threadpool. Rejects with
 * ERR_UNSUPPORTED (capabilities().socketSnapshot's reason) where sock_diag does not answer.
 */
export function socketSnapshot(options?: SocketSnapshotOptions & { bigint?: false }): Promise<SocketSnapshot<number | null>>;
export function socketSnapshot(options: SocketSnapshotOptions & { bigint: true }): Promise<SocketSnapshot<bigint>>;
export async function socketSnapshot(options: SocketSnapshotOptions = {}): Promise<SocketSnapshot<unknown>> {
  if (options === null || typeof options !== 'object') throw new SockprobeTypeError('options', 'an object', options);
  if (options.bigint !== undefined && typeof options.bigint !== 'boolean') throw new SockprobeTypeError('options.bigint', 'a boolean', options.bigint);
  const pid = targetPid(options.pid);
  requireNetSupport('socketSnapshot', 'socketSnapshot()');
  const started = performance.now();
  let raw: NativeSnapshotRows;
  let queuedMs = 0;
  try {
    const pending = native().socketSnapshotRows(pid);
    queuedMs = performance.now() - started;
    raw = await pending;
  } catch (error) {
    socketError(error, 'socketSnapshot', -1);
  }
  const resolved = performance.now();
  const sockets = new SocketRows<unknown>(raw.rows, raw.count, options.bigint === true);
  // Counting and sides were done on the threadpool: only a few totals are left for the loop.
  const byLocalPort = byPort(raw.byLocalPort);
  const byRemotePort = byPort(raw.byRemotePort);
  const byState: StateCounts = {};
  for (const states of Object.values(byLocalPort)) {
    for (const [state, count] of Object.entries(states) as Array<[TcpStateName, number]>) byState[state] = (byState[state] ?? 0) + count;
  }
  const listeners: SocketRow<unknown>[] = [];
  for (let i = 0; i < raw.listeners; i++) listeners.push(sockets.at(i));
  const finished = performance.now();
  return {
    takenAt: Date.now(),
    sockets,
    counts: { total: sockets.length, byState, byLocalPort, byRemotePort },
    listeners,
    fds: { open: raw.fdsOpen, limit: raw.fdLimit, hardLimit: raw.fdHardLimit, headroom: raw.fdLimit - raw.fdsOpen },
    hostSockets: raw.hostSockets,
    dump: { filterPorts: raw.filterPorts, unfiltered: raw.unfiltered, requests: raw.dumps },
    timings: {
      scanMs: raw.scanNs / 1e6,
      dumpMs: raw.dumpNs / 1e6,
      cpuMs: raw.scanCpuNs === undefined || raw.dumpCpuNs === undefined ? null : (raw.scanCpuNs + raw.dumpCpuNs) / 1e6,
      totalMs: finished - started,
      mainThreadMs: queuedMs + (finished - resolved),
    },
  };
}
