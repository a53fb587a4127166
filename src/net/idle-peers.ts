import { SockprobeTypeError } from '../errors';
import type { SocketSnapshot } from './snapshot';
import { SocketRows } from './snapshot-rows';
import type { TcpStateName } from './tcp-states';

/** One connection as an operator chasing idle peers (seed 000) wants to see it. */
export interface IdlePeer {
  fd: number | null;
  side: 'server' | 'client';
  state: TcpStateName;
  local: string;
  remote: string;
  /** Milliseconds since data last moved either way. */
  idleMs: number;
  inqBytes: number | null;
  outqBytes: number | null;
  /** rmem_alloc + wmem_queued + fwd_alloc + optmem. */
  kernelBytes: number;
}

const endpoint = (address: string, port: number) => (address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`);

/**
 * The `count` connections of a snapshot idle longest (listeners and sockets without tcp_info
 * left out), oldest first, at least `minIdleMs` idle. Reads packed rows and builds objects
 * only for the ones kept: one pass, O(rows × count) at worst, with count ≤ 1000.
 */
export function oldestIdlePeers(snapshot: Pick<SocketSnapshot, 'sockets'>, count = 20, minIdleMs = 0): IdlePeer[] {
  if (typeof snapshot !== 'object' || snapshot === null || !(snapshot.sockets instanceof SocketRows))
    throw new SockprobeTypeError('snapshot', 'a result of socketSnapshot()', snapshot);
  if (!Number.isInteger(count) || count < 1 || count > 1000) throw new SockprobeTypeError('count', 'a whole number from 1 to 1000', count);
  if (typeof minIdleMs !== 'number' || !(minIdleMs >= 0)) throw new SockprobeTypeError('minIdleMs', 'a number of milliseconds ≥ 0', minIdleMs);
  const rows: SocketRows<unknown> = snapshot.sockets;
  // Kept sorted by idle time, longest first; a row enters only if it beats the shortest kept.
  const kept: Array<{ index: number; idleMs: number }> = [];
  for (let i = 0; i < rows.length; i++) {
    const idleMs = rows.idleMs(i);
    if (idleMs === null || idleMs < minIdleMs || rows.side(i) === 'listener') continue;
    if (kept.length === count && idleMs <= kept[kept.length - 1].idleMs) continue;
    let at = kept.length;
    while (at > 0 && kept[at - 1].idleMs < idleMs) at--;
    kept.splice(at, 0, { index: i, idleMs });
    if (kept.length > count) kept.pop();
  }
  return kept.map(({ index, idleMs }) => {
    const row = rows.at(index);
    return {
      fd: row.fd,
      side: row.side === 'server' ? 'server' : 'client',
      state: row.state,
      local: endpoint(row.localAddress, row.localPort),
      remote: endpoint(row.remoteAddress, row.remotePort),
      idleMs,
      inqBytes: row.inqBytes,
      outqBytes: row.outqBytes,
      kernelBytes: rows.kernelBytes(index),
    };
  });
}
