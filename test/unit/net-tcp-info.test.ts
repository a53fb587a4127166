import * as net from 'node:net';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { setNativeForTesting } from '../../src/native';
import { PROBE } from '../../src/net/layout';
import { tcpInfo } from '../../src/net/tcp-info';
import { TCP_INFO_FIELDS, TCP_INFO_KNOWN_BYTES } from '../../src/net/tcp-info-fields';
import { tcpOptionNames } from '../../src/net/tcp-states';
import { installFakeNative, nativeError, type FakeNative } from '../helpers/fake-native';
import { recordedBytes, recordedMeta, recordedText } from '../helpers/recorded';
import { parseSs, SKMEM_KEYS } from '../helpers/ss';

// tcpProbe()'s buffer for the accepted socket holding 5000 unread bytes; `ss -tnieHOpm` for the same socket 37 ms later.
type Meta = { fd: number; tcpInfoLength: number; ssAfterMs: number; unreadBytes: number };
const meta = recordedMeta<Meta>('tcp-info');
const probeBytes = new Uint8Array(recordedBytes('tcp-info.bin'));
const [ss] = parseSs(recordedText('tcp-info.ss.txt'));
const rawLine = recordedText('tcp-info.ss.txt');

let fake: FakeNative;
beforeEach(() => {
  fake = installFakeNative((f) => {
    f.probeBytes = probeBytes;
    f.tcpInfoLength = meta.tcpInfoLength;
  });
});
afterAll(() => setNativeForTesting(undefined));

describe('tcpInfo() on a recorded probe buffer, against ss', () => {
  it('gives the fields ss -i prints, in their units', () => {
    const info = tcpInfo(meta.fd);
    expect(info.fd).toBe(meta.fd);
    expect(info.state).toBe(ss.state);
    expect(info.tcpInfoLength).toBe(meta.tcpInfoLength);
    expect({
      rto: info.rtoUs / 1000,
      ato: info.atoUs / 1000,
      mss: info.sndMss,
      rcvmss: info.rcvMss,
      advmss: info.advmss,
      cwnd: info.sndCwnd,
      pmtu: info.pmtu,
    }).toEqual({
      rto: ss.info.rto,
      ato: ss.info.ato,
      mss: ss.info.mss,
      rcvmss: ss.info.rcvmss,
      advmss: ss.info.advmss,
      cwnd: ss.info.cwnd,
      pmtu: ss.info.pmtu,
    });
    expect({
      received: info.bytesReceived,
      segsOut: info.segsOut,
      segsIn: info.segsIn,
      dataSegsIn: info.dataSegsIn,
      delivered: info.delivered,
      reordering: info.reordering,
    }).toEqual({
      received: ss.info.bytes_received,
      segsOut: ss.info.segs_out,
      segsIn: ss.info.segs_in,
      dataSegsIn: ss.info.data_segs_in,
      delivered: ss.info.delivered,
      reordering: ss.info.reordering,
    });
    expect({ rcvSpace: info.rcvSpace, rcvSsthresh: info.rcvSsthresh, sndWnd: info.sndWndBytes, minRtt: info.minRttUs! / 1000 }).toEqual({
      rcvSpace: ss.info.rcv_space,
      rcvSsthresh: ss.info.rcv_ssthresh,
      sndWnd: ss.info.snd_wnd,
      minRtt: ss.info.minrtt,
    });
    // ss prints rtt as "rtt:<srtt ms>/<rttvar ms>".
    const [rtt, rttvar] = /rtt:([\d.]+)\/([\d.]+)/.exec(rawLine)!.slice(1).map(Number);
    expect([info.rttUs / 1000, info.rttvarUs / 1000]).toEqual([rtt, rttvar]);
    expect([info.sndWscale, info.rcvWscale]).toEqual([ss.info.snd_wscale, ss.info.rcv_wscale]);
    expect(tcpOptionNames(info.options)).toEqual(expect.arrayContaining(['ts', 'sack', 'wscale']));
    expect(info.deliveryRateAppLimited).toBe(/ app_limited /.test(rawLine));
  });

  it('gives idle times no older than ss saw them 37 ms later', () => {
    const info = tcpInfo(meta.fd);
    for (const [ours, theirs] of [
      [info.lastDataRecvMs, ss.info.lastrcv],
      [info.lastDataSentMs, ss.info.lastsnd],
      [info.lastAckRecvMs, ss.info.lastack],
    ]) {
      expect(ours).toBeLessThanOrEqual(theirs);
      expect(ours).toBeGreaterThanOrEqual(theirs - meta.ssAfterMs - 10);
    }
  });

  it('gives the queues and SO_MEMINFO as ss prints them', () => {
    const info = tcpInfo(meta.fd);
    expect([info.inqBytes, info.outqBytes]).toEqual([ss.recvQ, ss.sendQ]);
    expect(info.inqBytes).toBe(meta.unreadBytes);
    for (const [short, name] of Object.entries(SKMEM_KEYS)) expect(info.skmem![name as keyof typeof info.skmem]).toBe(ss.skmem![short]);
  });

  it('decodes every field of the kernel table that fits in the returned length, and no other', () => {
    const view = new DataView(probeBytes.buffer, probeBytes.byteOffset);
    const info = tcpInfo(meta.fd) as unknown as Record<string, unknown>;
    expect(meta.tcpInfoLength).toBe(TCP_INFO_KNOWN_BYTES);
    for (const field of TCP_INFO_FIELDS.filter((f) => f.kind === 'u32')) expect(info[field.name]).toBe(view.getUint32(PROBE.tcpInfo + field.offset, true));
    const short = 232; // a kernel older than tcpi_rcv_wnd
    fake.tcpInfoLength = short;
    const older = tcpInfo(meta.fd) as unknown as Record<string, unknown>;
    expect(older.sndWndBytes).toBe(info.sndWndBytes);
    expect('rcvWndBytes' in older).toBe(false);
    expect(older.tcpInfoLength).toBe(short);
  });

  it('gives 64-bit counters as bigint on request, and null where a u64 is past 2^53', () => {
    expect(tcpInfo(meta.fd, { bigint: true }).bytesReceived).toBe(BigInt(meta.unreadBytes));
    const unlimited = probeBytes.slice();
    new DataView(unlimited.buffer).setBigUint64(PROBE.tcpInfo + 112, 0xffffffffffffffffn, true); // max_pacing_rate: unlimited
    fake.probeBytes = unlimited;
    expect(tcpInfo(meta.fd).maxPacingRateBytesPerSec).toBeNull();
    expect(tcpInfo(meta.fd, { bigint: true }).maxPacingRateBytesPerSec).toBe(0xffffffffffffffffn);
    // The edge: 2^53 − 1 is exact, 2^53 is not.
    new DataView(unlimited.buffer).setBigUint64(PROBE.tcpInfo + 112, 2n ** 53n - 1n, true);
    expect(tcpInfo(meta.fd).maxPacingRateBytesPerSec).toBe(Number.MAX_SAFE_INTEGER);
    new DataView(unlimited.buffer).setBigUint64(PROBE.tcpInfo + 112, 2n ** 53n, true);
    expect(tcpInfo(meta.fd).maxPacingRateBytesPerSec).toBeNull();
  });

  it('asks the addon only for what the options want', () => {
    tcpInfo(meta.fd, { queues: false, skmem: false });
    expect(fake.lastProbe).toEqual({ fd: meta.fd, what: 0 });
    tcpInfo(meta.fd);
    expect(fake.lastProbe).toEqual({ fd: meta.fd, what: 3 });
  });
});

describe('tcpInfo() errors', () => {
  it('rejects what is not a socket or an fd before the addon is called', () => {
    expect(() => tcpInfo('7' as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/^Expected a net\.Socket.* but received string "7"$/) }),
    );
    expect(() => tcpInfo(-1)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => tcpInfo(2 ** 31)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => tcpInfo(3, { bigint: 'yes' } as never)).toThrow(/options\.bigint/);
    expect(fake.count('tcpProbe')).toBe(0);
  });

  it('probes fd -1 for a socket that has none, and names the error by errno', () => {
    fake.probeError = nativeError('ERR_SYSCALL', 'getsockopt(TCP_INFO): Bad file descriptor', { errno: 9, syscall: 'getsockopt' });
    expect(() => tcpInfo(new net.Socket())).toThrow(
      expect.objectContaining({
        code: 'ERR_SOCKET_CLOSED',
        errno: 9,
        syscall: 'getsockopt',
        message: expect.stringMatching(/^tcpInfo: the socket: no open socket/),
      }),
    );
    expect(fake.lastProbe!.fd).toBe(-1);
    fake.probeError = nativeError('ERR_SYSCALL', 'not a socket', { errno: 88, syscall: 'getsockopt' });
    expect(() => tcpInfo(0)).toThrow(expect.objectContaining({ code: 'ERR_NOT_A_SOCKET', message: expect.stringContaining('fd 0') }));
    fake.probeError = nativeError('ERR_SYSCALL', 'unsupported', { errno: 95, syscall: 'getsockopt' });
    expect(() => tcpInfo(4)).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_TYPE' }));
  });
});
