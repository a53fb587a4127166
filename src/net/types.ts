import type { TcpCaStateName, TcpStateName } from './tcp-states';

/**
 * Kernel socket memory (SO_MEMINFO / INET_DIAG_SKMEMINFO), in bytes except `drops`; the same
 * figures `ss -m` prints as skmem:(r,rb,t,tb,f,w,o,bl,d).
 */
export interface SocketMemory {
  /** r: bytes queued for reading (receive queue truesize). */
  rmemAlloc: number;
  /** rb: receive buffer limit (SO_RCVBUF, autotuned). */
  rcvbuf: number;
  /** t: bytes of sent data the kernel still holds (transmit, not yet freed). */
  wmemAlloc: number;
  /** tb: send buffer limit (SO_SNDBUF, autotuned). */
  sndbuf: number;
  /** f: memory reserved ahead (forward allocation). */
  fwdAlloc: number;
  /** w: bytes in the write queue (sent or not, awaiting ACK). */
  wmemQueued: number;
  /** o: option memory (e.g. ancillary data, filters). */
  optmem: number;
  /** bl: backlog queue bytes (packets queued while the socket was locked). */
  backlog: number;
  /** d: packets dropped before reaching the socket. */
  drops: number;
}

/**
 * Every field of struct tcp_info that the running kernel fills, named camelCase with units
 * (Us: microseconds, Ms: milliseconds, Bytes / BytesPerSec). Fields after `totalRetrans`
 * exist only where the kernel is new enough to fill them (the comment says which Linux).
 * 64-bit counters are numbers, or `null` when above 2^53 (an "unlimited" pacing rate is
 * 2^64-1); with `{ bigint: true }` they are all bigints.
 */
export interface TcpInfoFields<U64 = number | null> {
  state: TcpStateName;
  caState: TcpCaStateName;
  retransmits: number;
  probes: number;
  backoff: number;
  /** TCPI_OPT_* bits; tcpOptionNames() names them. */
  options: number;
  sndWscale: number;
  rcvWscale: number;
  deliveryRateAppLimited: boolean;
  fastopenClientFail: number;
  rtoUs: number;
  atoUs: number;
  /** Bytes. */
  sndMss: number;
  rcvMss: number;
  /** On a listener: the accept queue length. */
  unacked: number;
  /** On a listener: the backlog the listener was created with. */
  sacked: number;
  lost: number;
  retrans: number;
  fackets: number;
  lastDataSentMs: number;
  lastAckSentMs: number;
  lastDataRecvMs: number;
  lastAckRecvMs: number;
  pmtu: number;
  rcvSsthresh: number;
  rttUs: number;
  rttvarUs: number;
  sndSsthresh: number;
  /** Segments. */
  sndCwnd: number;
  advmss: number;
  reordering: number;
  rcvRttUs: number;
  rcvSpace: number;
  totalRetrans: number;
  /** Linux 3.15 */ pacingRateBytesPerSec?: U64;
  /** Linux 3.15 */ maxPacingRateBytesPerSec?: U64;
  /** Linux 4.1 */ bytesAcked?: U64;
  /** Linux 4.1 */ bytesReceived?: U64;
  /** Linux 4.2 */ segsOut?: number;
  /** Linux 4.2 */ segsIn?: number;
  /** Linux 4.6 */ notsentBytes?: number;
  /** Linux 4.6 */ minRttUs?: number;
  /** Linux 4.6 */ dataSegsIn?: number;
  /** Linux 4.6 */ dataSegsOut?: number;
  /** Linux 4.9 */ deliveryRateBytesPerSec?: U64;
  /** Linux 4.10 */ busyTimeUs?: U64;
  /** Linux 4.10 */ rwndLimitedUs?: U64;
  /** Linux 4.10 */ sndbufLimitedUs?: U64;
  /** Linux 4.18 */ delivered?: number;
  /** Linux 4.18 */ deliveredCe?: number;
  /** Linux 4.19 */ bytesSent?: U64;
  /** Linux 4.19 */ bytesRetrans?: U64;
  /** Linux 4.19 */ dsackDups?: number;
  /** Linux 4.19 */ reordSeen?: number;
  /** Linux 5.4 */ rcvOoopack?: number;
  /** Linux 5.4: the peer's advertised window, bytes. */ sndWndBytes?: number;
  /** Linux 6.2: our advertised window, bytes. */ rcvWndBytes?: number;
  /** Linux 6.2 */ rehash?: number;
  /** Linux 6.7 */ totalRto?: number;
  /** Linux 6.7 */ totalRtoRecoveries?: number;
  /** Linux 6.7 */ totalRtoTimeMs?: number;
  /** Linux 6.18 (AccECN) */ receivedCe?: number;
  /** Linux 6.18 */ deliveredE1Bytes?: number;
  /** Linux 6.18 */ deliveredE0Bytes?: number;
  /** Linux 6.18 */ deliveredCeBytes?: number;
  /** Linux 6.18 */ receivedE1Bytes?: number;
  /** Linux 6.18 */ receivedE0Bytes?: number;
  /** Linux 6.18 */ receivedCeBytes?: number;
  /** Linux 6.18 */ accecnFailMode?: number;
  /** Linux 6.18 */ accecnOptSeen?: number;
  /** How many bytes of tcp_info the kernel filled (280 on Linux 6.18). */
  tcpInfoLength: number;
}

/** What tcpInfo() returns: tcp_info plus queues and kernel memory of one socket. */
export interface TcpSocketInfo<U64 = number | null> extends TcpInfoFields<U64> {
  /** The fd the call resolved (from the live handle, at this call). */
  fd: number;
  /** Unread bytes (SIOCINQ); null on listeners or when `queues: false`. */
  inqBytes: number | null;
  /** Bytes not yet acknowledged by the peer (SIOCOUTQ); null on listeners or when `queues: false`. */
  outqBytes: number | null;
  /** SO_MEMINFO; null when `skmem: false`. */
  skmem: SocketMemory | null;
}

export interface TcpInfoOptions {
  /** 64-bit counters as bigint instead of number-or-null. Default false. */
  bigint?: boolean;
  /** Measure inqBytes/outqBytes (two ioctls). Default true. */
  queues?: boolean;
  /** Measure skmem (one getsockopt). Default true. */
  skmem?: boolean;
}
