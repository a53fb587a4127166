/** Socket probes: TCP_INFO, kernel socket memory, snapshots, connection tracking. */
export { tcpInfo } from './tcp-info';
export { tcpStateName, tcpOptionNames, type TcpStateName, type TcpCaStateName } from './tcp-states';
export type { TcpInfoFields, TcpSocketInfo, TcpInfoOptions, SocketMemory } from './types';

export function netCapabilities(): Record<string, true | string> {
  return {};
}
