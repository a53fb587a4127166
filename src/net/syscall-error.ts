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

/**
 * Names a failed socket syscall by what it means for the socket; keeps the stack the seam
 * gave it (the JS caller's, see rebuildNativeError). Other errors pass through.
 */
export function socketError(error: unknown, what: string, fd: number): never {
  if (error instanceof SockprobeError && error.code === 'ERR_SYSCALL' && error.errno !== undefined) {
    const { code, why } = codeFor(error.errno);
    const target = fd < 0 ? 'the socket' : `fd ${fd}`;
    const named = new SockprobeError(code, `${what}: ${target}: ${why} (${error.message})`, { errno: error.errno, syscall: error.syscall });
    named.stack = `${named.name}: ${named.message}\n${(error.stack ?? '').split('\n').slice(1).join('\n')}`;
    throw named;
  }
  throw error;
}
