/** Native ERR_SYSCALL errors of the socket probes, as stable codes by errno. */
import { constants } from 'node:os';
import { SockprobeError, type SockprobeErrorCode } from '../errors';

const { EBADF, ENOTSOCK, EOPNOTSUPP, ENOPROTOOPT } = constants.errno;

function codeFor(errno: number): { code: SockprobeErrorCode; why: string } {
  if (errno === EBADF) return { code: 'ERR_SOCKET_CLOSED', why: 'no open socket (destroyed, not yet connected, not listening, or the fd was closed)' };
  if (errno === ENOTSOCK) return { code: 'ERR_NOT_A_SOCKET', why: 'the fd is not a socket' };
  // Unix-domain and UDP sockets answer EOPNOTSUPP; some other protocols ENOPROTOOPT.
  if (errno === EOPNOTSUPP || errno === ENOPROTOOPT) return { code: 'ERR_SOCKET_TYPE', why: 'not a TCP socket (Unix socket, UDP or other protocol)' };
  return { code: 'ERR_SYSCALL', why: 'the syscall failed' };
}

/** Rebuilds a native failure as a SockprobeError with the caller's stack; other errors pass through. */
export function socketError(error: unknown, what: string, fd: number): never {
  const native = error as { code?: string; errno?: number; syscall?: string; message?: string };
  if (native && native.code === 'ERR_SYSCALL' && typeof native.errno === 'number') {
    const { code, why } = codeFor(native.errno);
    const target = fd < 0 ? 'the socket' : `fd ${fd}`;
    throw new SockprobeError(code, `${what}: ${target}: ${why} (${native.message})`, { errno: native.errno, syscall: native.syscall });
  }
  throw error;
}
