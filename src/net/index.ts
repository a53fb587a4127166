/** Socket probes: TCP_INFO, kernel socket memory, snapshots, connection tracking. */
import * as diagnosticsChannel from 'node:diagnostics_channel';
import type { NetBinding } from '../binding/net';
import { native } from '../native';
import { runtimeLimits } from '../runtime';
import { netSupport } from './support';

export { tcpInfo, type SocketOrFd } from './tcp-info';
export { tcpStateName, tcpOptionNames, type TcpStateName, type TcpCaStateName } from './tcp-states';
export { socketSnapshot, type SocketSnapshot, type SocketSnapshotOptions, type StateCounts } from './snapshot';
export { SocketRows, type SocketRow, type SocketSide } from './snapshot-rows';
export { oldestIdlePeers, type IdlePeer } from './idle-peers';
export {
  ConnectionTracker,
  trackConnections,
  track,
  connectionCounts,
  type ConnectionCounts,
  type ConnectionKind,
  type ConnectionSide,
  type KindCounts,
  type SideCounts,
} from './tracking';
export type { TcpInfoFields, TcpSocketInfo, TcpInfoOptions, SocketMemory } from './types';

/**
 * Each socket feature: `true` where it works here, or why not. capabilities() includes these
 * once the platform and the addon check out; the addon's net functions are what is probed.
 */
export function netCapabilities(): Record<string, true | string> {
  const channels =
    typeof diagnosticsChannel.subscribe === 'function'
      ? true
      : `diagnostics_channel.subscribe is missing in Node ${process.versions.node} (needs >= 18.7): count connections with track()`;
  let addon: NetBinding | undefined;
  try {
    addon = native();
  } catch {
    addon = undefined;
  }
  const built = addon && typeof addon.tcpProbe === 'function' ? true : 'the native addon was built without the socket probes (native/net)';
  const answers = built === true ? netSupport() : { tcpInfo: built, socketSnapshot: built };
  return {
    tcpInfo: answers.tcpInfo === true ? (runtimeLimits()?.socketFd ?? true) : answers.tcpInfo,
    socketSnapshot: answers.socketSnapshot,
    connectionTracking: channels,
  };
}
