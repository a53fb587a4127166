/** Socket probes: TCP_INFO, kernel socket memory, snapshots, connection tracking. */
export function netCapabilities(): Record<string, true | string> {
  return {};
}
