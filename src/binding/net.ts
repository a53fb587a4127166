/** The socket concern of the addon (native/net/), exactly as it behaves. */

/** Raw result of one snapshot: packed rows (layout in src/net/layout.ts) and fd figures. */
export interface NativeSnapshotRows {
  /** Packed rows, the listeners first. */
  rows: ArrayBuffer;
  count: number;
  listeners: number;
  /** [key, count, …] with key = port * 16 + state: every row by local port. */
  byLocalPort: number[];
  /** The same for client-side rows by remote port. */
  byRemotePort: number[];
  /** TCP sockets the kernel sent (after its port filter), before keeping this process's. */
  hostSockets: number;
  /** Distinct local ports in the kernel-side filters (listening ports, then unmatched fds' ports). */
  filterPorts: number;
  /** Whether a dump had to walk the host unfiltered (too many ports or unmatched fds for a filter). */
  unfiltered: boolean;
  /** Dump requests sent (two per step: AF_INET and AF_INET6). */
  dumps: number;
  /** Open fds of this process, not counting the scan's own. */
  fdsOpen: number;
  /** RLIMIT_NOFILE soft and hard limits; Infinity when unlimited. */
  fdLimit: number;
  fdHardLimit: number;
  scanNs: number;
  dumpNs: number;
  /** On-CPU time of the threadpool thread in the scan and in the dumps (absent in recordings made before they were). */
  scanCpuNs?: number;
  dumpCpuNs?: number;
  /** From queueing the work to a threadpool thread starting it. */
  queueWaitNs?: number;
  /** From the work's end to the JS thread settling it, and the settle itself (JS values from the result). */
  completeWaitNs?: number;
  settleNs?: number;
}

export interface NativeNetLayout {
  tcpInfo: Record<string, number>;
  tcpInfoSize: number;
  tcpInfoCapacity: number;
  skmemSlots: number;
  probeBytes: number;
  rowBytes: number;
  rowTcpInfo: number;
  rowSkmem: number;
}

/** What netSupport() found: TCP_INFO's length on a loopback listener, and a sock_diag lookup of it. */
export interface NativeNetSupport {
  /** Bytes of tcp_info filled, or -1 when a syscall failed (tcpInfoErrno, tcpInfoSyscall). */
  tcpInfoLength: number;
  tcpInfoErrno: number;
  tcpInfoSyscall: string | null;
  /** 0 when the lookup answered with the listener; else the errno of sockDiagStep
   *  (socket, sendmsg, recv, or sock_diag: the kernel's own error, ENOMSG for a wrong answer). */
  sockDiagErrno: number;
  sockDiagStep: string | null;
}

export interface NetBinding {
  /**
   * TCP_INFO (+ SIOCINQ/SIOCOUTQ when `what & 1`, SO_MEMINFO when `what & 2`) of `fd` into
   * `buffer` (probeBytes long); returns the tcp_info length the kernel filled. Throws
   * ERR_SYSCALL with errno and syscall on failure; does not validate `fd` beyond int32.
   */
  tcpProbe(fd: number, buffer: Uint8Array, what?: number): number;
  /** The /proc/<pid>/fd scan (pid 0 or absent: this process) and sock_diag dumps, on the threadpool. Rejects with ERR_SYSCALL. */
  socketSnapshotRows(pid?: number): Promise<NativeSnapshotRows>;
  /** Whether TCP_INFO and sock_diag answer here (a few syscalls, about 0.1 ms). Older builds lack it. */
  netSupport?(): NativeNetSupport;
  /** The byte layouts of this build, for checking src/net/layout.ts. */
  netLayout(): NativeNetLayout;
}
