/**
 * Turns tcp_info bytes into objects. The decoders are generated once per (tcp_info length,
 * shape) from TCP_INFO_FIELDS: a single object literal with a fixed key order is what makes a
 * 70-field object cost well under a microsecond, where assigning keys in a loop would not.
 * The generated source contains only names and offsets from the table, never input data.
 */
import { fieldSize, TCP_INFO_FIELDS, type TcpInfoField } from './tcp-info-fields';
import { tcpCaStateName, tcpStateName } from './tcp-states';
import type { SocketMemory, TcpInfoFields, TcpSocketInfo } from './types';

/** A u64 as a number when exact (below 2^53), else null. */
function u64(view: DataView, offset: number): number | null {
  const high = view.getUint32(offset + 4, true);
  if (high > 0x1fffff) return null;
  return high * 4294967296 + view.getUint32(offset, true);
}

function u64big(view: DataView, offset: number): bigint {
  return view.getBigUint64(offset, true);
}

function expression(field: TcpInfoField, bigint: boolean): string {
  const at = `b + ${field.offset}`;
  switch (field.kind) {
    case 'u8':
      return `v.getUint8(${at})`;
    case 'u16':
      return `v.getUint16(${at}, true)`;
    case 'u32':
      return `v.getUint32(${at}, true)`;
    case 'u64':
      return bigint ? `B(v, ${at})` : `U(v, ${at})`;
    case 'state':
      return `S(v.getUint8(${at}))`;
    case 'caState':
      return `C(v.getUint8(${at}))`;
    case 'lowNibble':
      return `(v.getUint8(${at}) & 15)`;
    case 'highNibble':
      return `(v.getUint8(${at}) >> 4)`;
    case 'bit0':
      return `((v.getUint8(${at}) & 1) === 1)`;
    case 'bits1to2':
      return `((v.getUint8(${at}) >> 1) & 3)`;
  }
}

type FieldsDecoder = (view: DataView, base: number, length: number) => TcpInfoFields<unknown>;
type ProbeDecoder = (
  view: DataView,
  base: number,
  length: number,
  fd: number,
  inq: number | null,
  outq: number | null,
  skmem: SocketMemory | null,
) => TcpSocketInfo<unknown>;

function generate(length: number, bigint: boolean, withProbe: boolean): FieldsDecoder | ProbeDecoder {
  const present = TCP_INFO_FIELDS.filter((field) => field.offset + fieldSize(field) <= length);
  const lines = present.map((field) => `    ${field.name}: ${expression(field, bigint)},`);
  if (withProbe) lines.unshift('    fd: fd,');
  lines.push('    tcpInfoLength: length,');
  if (withProbe) lines.push('    inqBytes: inq,', '    outqBytes: outq,', '    skmem: skmem,');
  const source = `"use strict";\nreturn function decodeTcpInfo(v, b, length, fd, inq, outq, skmem) {\n  return {\n${lines.join('\n')}\n  };\n};`;
  // The source is built from the fixed field table above, never from input: a generated decoder is one property store per field.
  return new Function('S', 'C', 'U', 'B', source)(tcpStateName, tcpCaStateName, u64, u64big);
}

const cache = new Map<number, FieldsDecoder | ProbeDecoder>();

function decoder(length: number, bigint: boolean, withProbe: boolean): FieldsDecoder | ProbeDecoder {
  const key = length * 4 + (bigint ? 2 : 0) + (withProbe ? 1 : 0);
  let found = cache.get(key);
  if (!found) {
    found = generate(length, bigint, withProbe);
    cache.set(key, found);
  }
  return found;
}

/** tcp_info fields (only those inside `length`) read from view at base. */
export function decodeTcpInfoFields(view: DataView, base: number, length: number, bigint: boolean): TcpInfoFields<unknown> {
  return (decoder(length, bigint, false) as FieldsDecoder)(view, base, length);
}

/** tcpInfo()'s whole result in one literal. */
export function decodeProbe(
  view: DataView,
  base: number,
  length: number,
  bigint: boolean,
  fd: number,
  inq: number | null,
  outq: number | null,
  skmem: SocketMemory | null,
): TcpSocketInfo<unknown> {
  return (decoder(length, bigint, true) as ProbeDecoder)(view, base, length, fd, inq, outq, skmem);
}

/** The SO_MEMINFO vector; null when the kernel gave fewer than the 9 values named here. */
export function decodeSkmem(view: DataView, base: number, count: number): SocketMemory | null {
  if (count < 9) return null;
  return {
    rmemAlloc: view.getUint32(base, true),
    rcvbuf: view.getUint32(base + 4, true),
    wmemAlloc: view.getUint32(base + 8, true),
    sndbuf: view.getUint32(base + 12, true),
    fwdAlloc: view.getUint32(base + 16, true),
    wmemQueued: view.getUint32(base + 20, true),
    optmem: view.getUint32(base + 24, true),
    backlog: view.getUint32(base + 28, true),
    drops: view.getUint32(base + 32, true),
  };
}
