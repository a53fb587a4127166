import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { checkWasMomentary, netSupportFrom, TCP_INFO_MIN_BYTES } from '../../src/net/support';
import { TCP_INFO_FIELDS, fieldSize } from '../../src/net/tcp-info-fields';

// What the addon's netSupport() answered: on this x86-64 kernel (Debian 12), and under qemu-user 7.2
// running the official arm64 Node 26.12.1 (test:arm64's emulator), recorded 2026-12-03.
const KERNEL = { tcpInfoLength: 280, tcpInfoErrno: 0, tcpInfoSyscall: null, sockDiagErrno: 0, sockDiagStep: null };
const QEMU = { tcpInfoLength: 4, tcpInfoErrno: 0, tcpInfoSyscall: null, sockDiagErrno: constants.errno.EPROTONOSUPPORT, sockDiagStep: 'socket' };

describe('netSupportFrom()', () => {
  it('says available where the kernel fills tcp_info and answers sock_diag', () => {
    expect(netSupportFrom(KERNEL)).toEqual({ tcpInfo: true, socketSnapshot: true });
  });

  it("names qemu-user's 4-byte TCP_INFO and refused sock_diag socket", () => {
    const { tcpInfo, socketSnapshot } = netSupportFrom(QEMU);
    expect(tcpInfo).toMatch(/^getsockopt\(TCP_INFO\) filled 4 bytes of a loopback listener's tcp_info, not the 104 /);
    expect(socketSnapshot).toMatch(/^NETLINK_SOCK_DIAG sockets are refused here \(socket: EPROTONOSUPPORT;/);
  });

  it('names a failed getsockopt and a kernel that refuses the lookup', () => {
    const { tcpInfo, socketSnapshot } = netSupportFrom({
      tcpInfoLength: -1,
      tcpInfoErrno: constants.errno.EPERM,
      tcpInfoSyscall: 'socket',
      sockDiagErrno: constants.errno.ENOENT,
      sockDiagStep: 'sock_diag',
    });
    expect(tcpInfo).toBe('getsockopt(TCP_INFO) fails here: socket on a loopback TCP socket gave EPERM');
    expect(socketSnapshot).toBe('the kernel did not answer a sock_diag lookup of a loopback listener (ENOENT)');
  });

  it('does not call a full fd table, short memory or a loopback that is down unsupported, and does not keep that check', () => {
    for (const errno of ['EMFILE', 'ENFILE', 'ENOMEM', 'EADDRNOTAVAIL'] as const) {
      const raw = {
        tcpInfoLength: -1,
        tcpInfoErrno: constants.errno[errno],
        tcpInfoSyscall: errno === 'EADDRNOTAVAIL' ? 'bind' : 'socket',
        sockDiagErrno: constants.errno[errno],
        sockDiagStep: errno === 'EADDRNOTAVAIL' ? 'bind' : 'socket',
      };
      expect(netSupportFrom(raw)).toEqual({ tcpInfo: true, socketSnapshot: true });
      expect(checkWasMomentary(raw)).toBe(true);
    }
    // The netlink socket alone refused for want of fds: the tcp_info answer stands, the snapshot is not blocked.
    const raw = { ...KERNEL, sockDiagErrno: constants.errno.EMFILE, sockDiagStep: 'socket' };
    expect(netSupportFrom(raw)).toEqual({ tcpInfo: true, socketSnapshot: true });
    expect(checkWasMomentary(raw)).toBe(true);
    expect(checkWasMomentary(QEMU)).toBe(false);
    expect(checkWasMomentary(KERNEL)).toBe(false);
  });

  it("asks for the Linux 2.6 tcp_info: through total_retrans, the first fields' end", () => {
    const totalRetrans = TCP_INFO_FIELDS.find((field) => field.kernel === 'total_retrans')!;
    expect(TCP_INFO_MIN_BYTES).toBe(totalRetrans.offset + fieldSize(totalRetrans));
    expect(netSupportFrom({ ...KERNEL, tcpInfoLength: TCP_INFO_MIN_BYTES - 1 }).tcpInfo).not.toBe(true);
    expect(netSupportFrom({ ...KERNEL, tcpInfoLength: TCP_INFO_MIN_BYTES }).tcpInfo).toBe(true);
  });
});
