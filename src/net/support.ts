/**
 * Whether the kernel interfaces the socket probes read answer here, checked once per process:
 * TCP_INFO must fill at least the Linux 2.6 tcp_info (through total_retrans), and an exact
 * NETLINK_SOCK_DIAG lookup of a loopback listener must come back with that listener. qemu-user
 * copies 4 bytes of TCP_INFO and refuses sock_diag sockets; a seccomp filter or an old kernel can
 * refuse either. Where one does not answer, capabilities() names why and the call throws
 * ERR_UNSUPPORTED with that reason, instead of returning an empty tcp_info or failing in a syscall.
 */
import { constants } from 'node:os';
import type { NativeNetSupport } from '../binding/net';
import { SockprobeError } from '../errors';
import { native } from '../native';

/** tcp_info bytes our layout needs at least: the Linux 2.6 struct, up to tcpi_total_retrans. */
export const TCP_INFO_MIN_BYTES = 104;

export interface NetSupport {
  tcpInfo: true | string;
  socketSnapshot: true | string;
}

const errnoNames = new Map(Object.entries(constants.errno).map(([name, value]) => [value, name]));
const named = (errno: number) => errnoNames.get(errno) ?? `errno ${errno}`;

// Errors that say this moment, not this kernel: the fd table full (a service at its fd limit is one
// sockprobe is asked to diagnose), memory short, loopback down. The check then proves nothing about
// the interface, so it neither blocks the call (which reports its own error) nor is kept.
const MOMENTARY = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM', 'EAGAIN', 'EINTR', 'EADDRNOTAVAIL', 'EADDRINUSE', 'ENETDOWN', 'ENETUNREACH']);
const momentary = (errno: number) => MOMENTARY.has(named(errno));

/** Whether the check proved nothing because of a momentary failure (then it is run again next time). */
export function checkWasMomentary(raw: NativeNetSupport): boolean {
  return (raw.tcpInfoLength < 0 && momentary(raw.tcpInfoErrno)) || (raw.sockDiagErrno !== 0 && momentary(raw.sockDiagErrno));
}

/** The reasons for one check's answer (exported for the unit test of the wording). A part that failed
 *  momentarily (EMFILE, ENOMEM, loopback down, …) reads available: its call reports its own error. */
export function netSupportFrom(raw: NativeNetSupport): NetSupport {
  const tcpInfo =
    raw.tcpInfoLength >= TCP_INFO_MIN_BYTES || (raw.tcpInfoLength < 0 && momentary(raw.tcpInfoErrno))
      ? true
      : raw.tcpInfoLength >= 0
        ? `getsockopt(TCP_INFO) filled ${raw.tcpInfoLength} bytes of a loopback listener's tcp_info, not the ${TCP_INFO_MIN_BYTES} ` +
          'every Linux kernel since 2.6 fills (an emulator such as qemu-user, or a sandbox, stands between us and the kernel)'
        : `getsockopt(TCP_INFO) fails here: ${raw.tcpInfoSyscall ?? 'getsockopt'} on a loopback TCP socket gave ${named(raw.tcpInfoErrno)}`;
  let socketSnapshot: true | string = true;
  if (raw.sockDiagErrno !== 0 && !momentary(raw.sockDiagErrno)) {
    const step = raw.sockDiagStep ?? 'sock_diag';
    socketSnapshot =
      step === 'socket'
        ? `NETLINK_SOCK_DIAG sockets are refused here (socket: ${named(raw.sockDiagErrno)}; qemu-user and some sandboxes refuse them)`
        : step === 'sock_diag'
          ? `the kernel did not answer a sock_diag lookup of a loopback listener (${named(raw.sockDiagErrno)})`
          : `a sock_diag lookup of a loopback listener failed in ${step}: ${named(raw.sockDiagErrno)}`;
  }
  return { tcpInfo, socketSnapshot };
}

let checked: NetSupport | undefined;

/** The check, run on first use (about 0.1 ms: two sockets, six syscalls) and kept for the process,
 *  unless it failed momentarily (then it runs again on the next use). */
export function netSupport(): NetSupport {
  if (checked) return checked;
  const addon = native();
  if (typeof addon.netSupport !== 'function') return (checked = { tcpInfo: true, socketSnapshot: true });
  const raw = addon.netSupport();
  const answer = netSupportFrom(raw);
  if (!checkWasMomentary(raw)) checked = answer;
  return answer;
}

/** Throws ERR_UNSUPPORTED with the reason when `feature` does not answer here. */
export function requireNetSupport(feature: keyof NetSupport, what: string): void {
  const why = netSupport()[feature];
  if (why !== true) throw new SockprobeError('ERR_UNSUPPORTED', `${what} is not available: ${why}`);
}
