/**
 * The packed rows of a snapshot (layout in ./layout.ts), read lazily: objects are built only
 * for the rows a caller reads, so a 10k-socket snapshot costs a buffer, not 10k objects.
 */
import { SockprobeRangeError, SockprobeTypeError } from '../errors';
import { ipv4Text, ipv6Text } from './address';
import { decodeSkmem, decodeTcpInfoFields } from './decode';
import { ROW, SIDE_CLIENT, SIDE_LISTENER, SIDE_SERVER } from './layout';
import { TCP_INFO_FIELDS } from './tcp-info-fields';
import { TCP_LISTEN, tcpStateName, type TcpStateName } from './tcp-states';
import type { SocketMemory, TcpInfoFields } from './types';

const AF_INET = 2;
const offsetOf = (kernel: string) => TCP_INFO_FIELDS.find((field) => field.kernel === kernel)!.offset;
const LAST_DATA_SENT = offsetOf('last_data_sent');
const LAST_DATA_RECV = offsetOf('last_data_recv');

/** listener: a listening socket; server: accepted on one of our listeners; client: any other. */
export type SocketSide = 'listener' | 'server' | 'client';

export interface SocketRow<U64 = number | null> {
  /** The fd holding it in this process; null for TIME_WAIT, SYN_RECV and orphans (attributed by listener). */
  fd: number | null;
  /** Socket inode (0 for TIME_WAIT, SYN_RECV and orphans, which have no file). */
  inode: number;
  family: 'IPv4' | 'IPv6';
  state: TcpStateName;
  side: SocketSide;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** Unread bytes (as SIOCINQ); null on listeners. */
  inqBytes: number | null;
  /** Bytes not yet acknowledged (as SIOCOUTQ); null on listeners. */
  outqBytes: number | null;
  /** Listeners: connections waiting in the accept queue, and the queue's limit. */
  acceptQueue: number | null;
  acceptBacklog: number | null;
  uid: number;
  /** Retransmission/keepalive timer: 0 none, 1 retransmit, 2 keepalive, 3 TIME_WAIT, 4 zero-window probe. */
  timer: number;
  timerExpiresMs: number;
  /** Milliseconds since data last moved either way (min of lastDataRecvMs, lastDataSentMs); null on listeners and without tcp_info. */
  idleMs: number | null;
  tcpInfo: TcpInfoFields<U64> | null;
  skmem: SocketMemory | null;
}

const SIDES: Record<number, SocketSide> = { [SIDE_LISTENER]: 'listener', [SIDE_SERVER]: 'server', [SIDE_CLIENT]: 'client' };

export class SocketRows<U64 = number | null> implements Iterable<SocketRow<U64>> {
  readonly length: number;
  private readonly view: DataView;
  private readonly bytes: Uint8Array;

  constructor(
    buffer: ArrayBuffer,
    count: number,
    private readonly bigint: boolean,
  ) {
    if (!(buffer instanceof ArrayBuffer)) throw new SockprobeTypeError('buffer', 'an ArrayBuffer of packed socket rows', buffer);
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0)
      throw new SockprobeTypeError('count', 'a non-negative integer', count, typeof count === 'number' ? 'ERR_INVALID_ARG_VALUE' : 'ERR_INVALID_ARG_TYPE');
    if (count * ROW.bytes > buffer.byteLength)
      throw new SockprobeRangeError(
        'count',
        `at most ${Math.floor(buffer.byteLength / ROW.bytes)} (the buffer holds ${buffer.byteLength} bytes, ${ROW.bytes} per row)`,
        count,
      );
    if (typeof bigint !== 'boolean') throw new SockprobeTypeError('bigint', 'a boolean', bigint);
    this.length = count;
    this.view = new DataView(buffer);
    this.bytes = new Uint8Array(buffer);
  }

  /** Cheap per-row reads, for counting without building rows. */
  stateCode(i: number): number {
    return this.view.getUint8(i * ROW.bytes + ROW.state);
  }
  localPort(i: number): number {
    return this.view.getUint16(i * ROW.bytes + ROW.localPort, true);
  }
  remotePort(i: number): number {
    return this.view.getUint16(i * ROW.bytes + ROW.remotePort, true);
  }
  fd(i: number): number | null {
    const fd = this.view.getInt32(i * ROW.bytes + ROW.fd, true);
    return fd < 0 ? null : fd;
  }

  /** Kernel memory a row holds (rmem_alloc + wmem_queued + fwd_alloc + optmem); 0 without skmem. */
  kernelBytes(i: number): number {
    const base = i * ROW.bytes;
    if (this.view.getUint8(base + ROW.skmemCount) < 9) return 0;
    const at = (slot: number) => this.view.getUint32(base + ROW.skmem + 4 * slot, true);
    return at(0) + at(5) + at(4) + at(6);
  }

  /** Like at(i).idleMs, without building the row. */
  idleMs(i: number): number | null {
    const base = i * ROW.bytes;
    if (this.stateCode(i) === TCP_LISTEN || this.view.getUint32(base + ROW.tcpInfoLength, true) < LAST_DATA_RECV + 4) return null;
    return Math.min(this.view.getUint32(base + ROW.tcpInfo + LAST_DATA_SENT, true), this.view.getUint32(base + ROW.tcpInfo + LAST_DATA_RECV, true));
  }

  side(i: number): SocketSide {
    return SIDES[this.view.getUint8(i * ROW.bytes + ROW.side)] ?? 'client';
  }

  at(i: number): SocketRow<U64> {
    if (!Number.isInteger(i) || i < 0 || i >= this.length)
      throw new SockprobeRangeError('i', this.length === 0 ? 'no index (the snapshot has no rows)' : `an integer from 0 to ${this.length - 1}`, i);
    const v = this.view;
    const base = i * ROW.bytes;
    const family = v.getUint8(base + ROW.family);
    const state = v.getUint8(base + ROW.state);
    const listening = state === TCP_LISTEN;
    const infoLength = v.getUint32(base + ROW.tcpInfoLength, true);
    const tcpInfo = infoLength > 0 ? (decodeTcpInfoFields(v, base + ROW.tcpInfo, infoLength, this.bigint) as TcpInfoFields<U64>) : null;
    const rqueue = v.getUint32(base + ROW.rqueue, true);
    const wqueue = v.getUint32(base + ROW.wqueue, true);
    return {
      fd: this.fd(i),
      inode: v.getUint32(base + ROW.inode, true),
      family: family === AF_INET ? 'IPv4' : 'IPv6',
      state: tcpStateName(state),
      side: this.side(i),
      localAddress: this.address(base + ROW.localAddress, family),
      localPort: v.getUint16(base + ROW.localPort, true),
      remoteAddress: this.address(base + ROW.remoteAddress, family),
      remotePort: v.getUint16(base + ROW.remotePort, true),
      inqBytes: listening ? null : rqueue,
      outqBytes: listening ? null : wqueue,
      acceptQueue: listening ? rqueue : null,
      acceptBacklog: listening ? wqueue : null,
      uid: v.getUint32(base + ROW.uid, true),
      timer: v.getUint8(base + ROW.timer),
      timerExpiresMs: v.getUint32(base + ROW.expiresMs, true),
      idleMs: this.idleMs(i),
      tcpInfo,
      skmem: decodeSkmem(v, base + ROW.skmem, v.getUint8(base + ROW.skmemCount)),
    };
  }

  *[Symbol.iterator](): Iterator<SocketRow<U64>> {
    for (let i = 0; i < this.length; i++) yield this.at(i);
  }

  toArray(): SocketRow<U64>[] {
    return Array.from(this);
  }

  private address(offset: number, family: number): string {
    return family === AF_INET ? ipv4Text(this.bytes, offset) : ipv6Text(this.bytes, offset);
  }
}
