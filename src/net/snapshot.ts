import { SockprobeTypeError } from '../errors';
import { native } from '../native';
import { SocketRows, type SocketRow } from './snapshot-rows';
import { socketError } from './syscall-error';
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
  /** TCP sockets on the whole host the kernel reported, ours or not. */
  hostSockets: number;
  timings: { scanMs: number; dumpMs: number; totalMs: number };
}

export interface SocketSnapshotOptions {
  /** 64-bit tcp_info counters as bigint instead of number-or-null. Default false. */
  bigint?: boolean;
}

function add(counts: StateCounts, state: TcpStateName): void {
  counts[state] = (counts[state] ?? 0) + 1;
}

function bucket(table: Record<number, StateCounts>, port: number): StateCounts {
  return (table[port] ??= {});
}

/**
 * Every TCP socket of this process from NETLINK_SOCK_DIAG dumps (AF_INET and AF_INET6), with
 * state, addresses, inode, fd, tcp_info and skmem; matched to the process by the socket
 * inodes in /proc/self/fd. TIME_WAIT, SYN_RECV and orphaned sockets (closed by the app,
 * still in FIN_WAIT1/2, LAST_ACK or CLOSING) have no inode: they are counted when they sit on
 * one of this process's listening addresses and ports. Client-side ones cannot be attributed
 * to a process, by the kernel or by ss. Both scans run on the threadpool.
 */
export function socketSnapshot(options?: SocketSnapshotOptions & { bigint?: false }): Promise<SocketSnapshot<number | null>>;
export function socketSnapshot(options: SocketSnapshotOptions & { bigint: true }): Promise<SocketSnapshot<bigint>>;
export async function socketSnapshot(options: SocketSnapshotOptions = {}): Promise<SocketSnapshot<unknown>> {
  if (options === null || typeof options !== 'object') throw new SockprobeTypeError('options', 'an object', options);
  if (options.bigint !== undefined && typeof options.bigint !== 'boolean') throw new SockprobeTypeError('options.bigint', 'a boolean', options.bigint);
  const started = performance.now();
  let raw;
  try {
    raw = await native().socketSnapshotRows();
  } catch (error) {
    socketError(error, 'socketSnapshot', -1);
  }
  const sockets = new SocketRows<unknown>(raw.rows, raw.count, options.bigint === true);
  const byState: StateCounts = {};
  const byLocalPort: Record<number, StateCounts> = {};
  const byRemotePort: Record<number, StateCounts> = {};
  const listeners: SocketRow<unknown>[] = [];
  for (let i = 0; i < sockets.length; i++) {
    const state = tcpStateName(sockets.stateCode(i));
    add(byState, state);
    add(bucket(byLocalPort, sockets.localPort(i)), state);
    const side = sockets.side(i);
    if (side === 'listener') listeners.push(sockets.at(i));
    else if (side === 'client') add(bucket(byRemotePort, sockets.remotePort(i)), state);
  }
  return {
    takenAt: Date.now(),
    sockets,
    counts: { total: sockets.length, byState, byLocalPort, byRemotePort },
    listeners,
    fds: { open: raw.fdsOpen, limit: raw.fdLimit, hardLimit: raw.fdHardLimit, headroom: raw.fdLimit - raw.fdsOpen },
    hostSockets: raw.hostSockets,
    timings: { scanMs: raw.scanNs / 1e6, dumpMs: raw.dumpNs / 1e6, totalMs: performance.now() - started },
  };
}
