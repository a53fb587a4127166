/** Socket probes: TCP_INFO, kernel socket memory, snapshots, connection tracking. */
export { tcpInfo } from './tcp-info';
export { tcpStateName, tcpOptionNames, type TcpStateName, type TcpCaStateName } from './tcp-states';
export { socketSnapshot, type SocketSnapshot, type SocketSnapshotOptions, type StateCounts } from './snapshot';
export { SocketRows, type SocketRow, type SocketSide } from './snapshot-rows';
export { ConnectionTracker, trackConnections, track, connectionCounts, type ConnectionCounts, type ConnectionKind, type ConnectionSide, type KindCounts, type SideCounts } from './tracking';
export type { TcpInfoFields, TcpSocketInfo, TcpInfoOptions, SocketMemory } from './types';

export function netCapabilities(): Record<string, true | string> {
  return {};
}
