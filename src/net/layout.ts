/**
 * Mirror of native/net/probe_layout.h: where tcpProbe() and the snapshot rows put each value.
 * A test checks these against netLayout() of the built addon.
 */
export const TCP_INFO_CAPACITY = 320;
export const SKMEM_SLOTS = 12;

/** The per-call buffer of tcpProbe(). */
export const PROBE = {
  tcpInfo: 0,
  inq: TCP_INFO_CAPACITY,
  outq: TCP_INFO_CAPACITY + 4,
  skmem: TCP_INFO_CAPACITY + 8,
  skmemCount: TCP_INFO_CAPACITY + 8 + 4 * SKMEM_SLOTS,
  bytes: 384,
} as const;

/** What tcpProbe() measures besides TCP_INFO. */
export const PROBE_QUEUES = 1;
export const PROBE_SKMEM = 2;

export const SIDE_LISTENER = 0;
export const SIDE_SERVER = 1;
export const SIDE_CLIENT = 2;

/** One snapshot row; listeners come first. */
export const ROW = {
  family: 0,
  state: 1,
  timer: 2,
  retrans: 3,
  localPort: 4,
  remotePort: 6,
  inode: 8,
  fd: 12,
  uid: 16,
  rqueue: 20,
  wqueue: 24,
  tcpInfoLength: 28,
  /** u8 */
  skmemCount: 32,
  /** u8: SIDE_LISTENER, SIDE_SERVER or SIDE_CLIENT, decided against our listeners natively. */
  side: 33,
  expiresMs: 36,
  localAddress: 40,
  remoteAddress: 56,
  skmem: 72,
  tcpInfo: 72 + 4 * SKMEM_SLOTS,
  bytes: 72 + 4 * SKMEM_SLOTS + TCP_INFO_CAPACITY,
} as const;
