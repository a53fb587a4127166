import { native } from '../native';
import { SockprobeTypeError } from '../errors';
import { decodeProbe, decodeSkmem } from './decode';
import { PROBE, PROBE_QUEUES, PROBE_SKMEM } from './layout';
import { resolveFd } from './resolve-fd';
import { socketError } from './syscall-error';
import { requireNetSupport } from './support';
import type { Server, Socket } from 'node:net';
import type { TcpInfoOptions, TcpSocketInfo } from './types';

/** What tcpInfo() reads: a net/tls socket (either side; http(s) agent and HTTP/2 session sockets are these), a listening net.Server, or a socket's fd. */
export type SocketOrFd = Socket | Server | number;

// One probe buffer for every call: tcpInfo is synchronous, so calls never overlap.
const buffer = new Uint8Array(PROBE.bytes);
const view = new DataView(buffer.buffer);

function flag(options: TcpInfoOptions, key: keyof TcpInfoOptions, fallback: boolean): boolean {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new SockprobeTypeError(`options.${key}`, 'a boolean', value);
  return value;
}

/**
 * TCP_INFO, queue sizes and kernel socket memory of one TCP socket: a net.Socket, a
 * tls.TLSSocket (server or client side), an http(s) agent's socket, a listening net.Server,
 * or a numeric fd. The fd is read from the live handle at each call.
 * Throws SockprobeError ERR_SOCKET_CLOSED (EBADF), ERR_NOT_A_SOCKET (ENOTSOCK),
 * ERR_SOCKET_TYPE (EOPNOTSUPP/ENOPROTOOPT: Unix socket, UDP) with errno and syscall, and
 * ERR_UNSUPPORTED (with capabilities().tcpInfo's reason) where TCP_INFO does not answer in full.
 */
export function tcpInfo(socketOrFd: SocketOrFd, options?: TcpInfoOptions & { bigint?: false }): TcpSocketInfo<number | null>;
export function tcpInfo(socketOrFd: SocketOrFd, options: TcpInfoOptions & { bigint: true }): TcpSocketInfo<bigint>;
export function tcpInfo(socketOrFd: unknown, options: TcpInfoOptions = {}): TcpSocketInfo<unknown> {
  if (options === null || typeof options !== 'object') throw new SockprobeTypeError('options', 'an object', options);
  const fd = resolveFd(socketOrFd, 'socketOrFd');
  requireNetSupport('tcpInfo', 'tcpInfo()');
  const bigint = flag(options, 'bigint', false);
  const what = (flag(options, 'queues', true) ? PROBE_QUEUES : 0) | (flag(options, 'skmem', true) ? PROBE_SKMEM : 0);
  let length: number;
  try {
    length = native().tcpProbe(fd, buffer, what);
  } catch (error) {
    socketError(error, 'tcpInfo', fd);
  }
  const inq = view.getInt32(PROBE.inq, true);
  const outq = view.getInt32(PROBE.outq, true);
  const skmem = decodeSkmem(view, PROBE.skmem, view.getUint32(PROBE.skmemCount, true));
  return decodeProbe(view, PROBE.tcpInfo, length, bigint, fd, inq < 0 ? null : inq, outq < 0 ? null : outq, skmem);
}
