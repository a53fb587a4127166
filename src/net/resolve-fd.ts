/**
 * The fd behind a Node socket or server, read from its live handle at every call: fd numbers
 * are reused after close, so a cached number could name someone else's socket.
 * Returns -1 when the object has no open fd (destroyed, not yet connected, not listening);
 * the syscall on -1 then fails with a real EBADF. A live handle with no fd (Deno's sockets)
 * throws ERR_UNSUPPORTED: the socket is open, just not reachable this way.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { SockprobeError, SockprobeTypeError } from '../errors';
import { runtimeLimits } from '../runtime';

const MAX_FD = 0x7fffffff;
const EXPECTED = 'a net.Socket, tls.TLSSocket, net.Server or an fd (integer 0..2147483647)';

interface HandleLike {
  fd?: number;
  /** TLSWrap: the TCP handle it encrypts over (server and client side, Node 18-22). */
  _parent?: HandleLike;
}

function handleFd(handle: HandleLike | null | undefined, name: string): number {
  if (!handle) return -1;
  const inner = handle._parent && typeof handle._parent.fd === 'number' ? handle._parent : handle;
  if (typeof inner.fd === 'number') return inner.fd;
  // A live handle with no fd at all: Deno's sockets, or a TLS socket over a JS stream. Not closed.
  const why = runtimeLimits()?.socketFd ?? 'its handle has no file descriptor (a stream over no kernel socket): pass an fd';
  throw new SockprobeError('ERR_UNSUPPORTED', `${name}: ${why}`);
}

/** dgram keeps its handle behind a symbol; resolving it lets UDP fail as "wrong socket type". */
function dgramFd(socket: dgram.Socket, name: string): number {
  for (const symbol of Object.getOwnPropertySymbols(socket)) {
    const state = (socket as unknown as Record<symbol, { handle?: HandleLike } | undefined>)[symbol];
    if (state && typeof state === 'object' && 'handle' in state) return handleFd(state.handle, name);
  }
  return -1;
}

export function resolveFd(target: unknown, name: string): number {
  if (typeof target === 'number') {
    if (!Number.isInteger(target) || target < 0 || target > MAX_FD) throw new SockprobeTypeError(name, EXPECTED, target, 'ERR_INVALID_ARG_VALUE');
    return target;
  }
  if (target instanceof net.Socket) return handleFd((target as unknown as { _handle?: HandleLike })._handle, name);
  if (target instanceof net.Server) return handleFd((target as unknown as { _handle?: HandleLike })._handle, name);
  if (target instanceof dgram.Socket) return dgramFd(target, name);
  throw new SockprobeTypeError(name, EXPECTED, target);
}
