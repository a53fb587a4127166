import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NativeSnapshotRows } from '../../src/binding/net';
import { setNativeForTesting } from '../../src/native';
import { oldestIdlePeers } from '../../src/net/idle-peers';
import { socketSnapshot, type SocketSnapshot } from '../../src/net/snapshot';
import { ROW } from '../../src/net/layout';
import { SocketRows, type SocketRow } from '../../src/net/snapshot-rows';
import { summariseSnapshot } from '../../src/probe/socket-summary';
import { installFakeNative, nativeError, type FakeNative } from '../helpers/fake-native';
import { recordedBytes, recordedMeta, recordedText } from '../helpers/recorded';
import { countByLocalPort, parseSs, SKMEM_KEYS, type SsSocket } from '../helpers/ss';

// Packed rows of a real snapshot of node holding an IPv4 and an IPv6 listener, idle clients,
// a peer with 5000 unread bytes and a CLOSE_WAIT; `ss -tanieHOpm` ran 42 ms later.
type Meta = {
  pid: number;
  ssAfterMs: number;
  unreadBytes: number;
  ports: { ipv4Listener: number; ipv6Listener: number; unreadBytesClient: number; closedClient: number };
  figures: Omit<NativeSnapshotRows, 'rows'>;
};
const meta = recordedMeta<Meta>('socket-rows');
const rowsBuffer = recordedBytes('socket-rows.bin');
const ss = parseSs(recordedText('socket-rows.ss.txt')).filter((s) => s.pid === meta.pid);
const rows = new SocketRows(rowsBuffer, meta.figures.count, false);
const byInode = (row: SocketRow) => ss.find((s) => s.info.ino === row.inode)!;
const kernelBytesOf = (s: SsSocket) => s.skmem!.r + s.skmem!.w + s.skmem!.f + s.skmem!.o;

describe('SocketRows on recorded packed rows, against ss', () => {
  it('holds every socket ss attributes to the process, listeners first', () => {
    expect(rows.length).toBe(ss.length);
    expect(new Set(rows.toArray().map((r) => r.inode))).toEqual(new Set(ss.map((s) => s.info.ino)));
    expect(
      rows
        .toArray()
        .slice(0, meta.figures.listeners)
        .map((r) => r.state),
    ).toEqual(['LISTEN', 'LISTEN']);
  });

  it('decodes state, family, addresses, ports, fd and queues as ss prints them', () => {
    for (const row of rows) {
      const s = byInode(row);
      expect({ state: row.state, local: row.localAddress, localPort: row.localPort, remotePort: row.remotePort, fd: row.fd }).toEqual({
        state: s.state,
        local: s.local.address,
        localPort: s.local.port,
        remotePort: s.peer.port,
        fd: s.fd,
      });
      expect(row.family).toBe(s.local.address.includes(':') ? 'IPv6' : 'IPv4');
      if (row.state === 'LISTEN') {
        // ss prints a listener's accept queue and its backlog in the queue columns.
        expect([row.acceptQueue, row.acceptBacklog, row.inqBytes]).toEqual([s.recvQ, s.sendQ, null]);
        expect(['0.0.0.0', '::']).toContain(row.remoteAddress);
      } else {
        expect([row.inqBytes, row.outqBytes, row.acceptQueue]).toEqual([s.recvQ, s.sendQ, null]);
        expect(row.remoteAddress).toBe(s.peer.address);
      }
    }
    const unread = rows.toArray().find((r) => r.remotePort === meta.ports.unreadBytesClient)!;
    expect(unread.inqBytes).toBe(meta.unreadBytes);
  });

  it('decodes skmem and kernelBytes as ss -m prints them', () => {
    rows.toArray().forEach((row, i) => {
      const s = byInode(row);
      for (const [short, name] of Object.entries(SKMEM_KEYS)) expect(row.skmem![name as keyof typeof row.skmem]).toBe(s.skmem![short]);
      expect(rows.kernelBytes(i)).toBe(kernelBytesOf(s));
    });
    expect(rows.toArray().some((r) => r.skmem!.rmemAlloc > 0)).toBe(true);
  });

  it('decodes tcp_info as ss -i prints it, idle time within the 42 ms between the two', () => {
    for (const row of rows) {
      const s = byInode(row);
      const info = row.tcpInfo!;
      expect(info.state).toBe(row.state);
      expect(Math.round((info.rtoUs as number) / 1000)).toBe(s.info.rto ?? 0); // ss leaves out a listener's zero rto
      expect(info.sndCwnd).toBe(s.info.cwnd);
      if (row.state === 'LISTEN') {
        expect(row.idleMs).toBeNull();
        continue;
      }
      expect({ mss: info.sndMss, rcvmss: info.rcvMss, advmss: info.advmss, sndWscale: info.sndWscale, rcvWscale: info.rcvWscale }).toEqual({
        mss: s.info.mss,
        rcvmss: s.info.rcvmss,
        advmss: s.info.advmss,
        sndWscale: s.info.snd_wscale,
        rcvWscale: s.info.rcv_wscale,
      });
      // ss leaves out counters that are zero.
      for (const [name, key] of [
        ['bytesAcked', 'bytes_acked'],
        ['bytesReceived', 'bytes_received'],
        ['segsOut', 'segs_out'],
        ['segsIn', 'segs_in'],
        ['dataSegsIn', 'data_segs_in'],
        ['dataSegsOut', 'data_segs_out'],
      ] as const) {
        expect(info[name]).toBe(s.info[key] ?? 0);
      }
      const ssIdle = Math.min(s.info.lastsnd, s.info.lastrcv);
      expect(row.idleMs).toBeLessThanOrEqual(ssIdle);
      expect(row.idleMs!).toBeGreaterThanOrEqual(ssIdle - meta.ssAfterMs - 10);
      expect(row.idleMs!).toBeGreaterThan(1000); // the capture let them sit 1.5 s
    }
  });

  it('reads the same through its cheap per-row accessors as through at()', () => {
    rows.toArray().forEach((row, i) => {
      expect([rows.stateCode(i) === 10, rows.localPort(i), rows.remotePort(i), rows.fd(i), rows.idleMs(i), rows.side(i)]).toEqual([
        row.state === 'LISTEN',
        row.localPort,
        row.remotePort,
        row.fd,
        row.idleMs,
        row.side,
      ]);
    });
  });

  it('names each side: listeners, sockets accepted on them, and clients', () => {
    const listeningPorts = [meta.ports.ipv4Listener, meta.ports.ipv6Listener];
    for (const row of rows) {
      const expected = row.state === 'LISTEN' ? 'listener' : listeningPorts.includes(row.localPort) ? 'server' : 'client';
      expect(row.side).toBe(expected);
    }
  });

  it('gives 64-bit counters as bigint on request', () => {
    const big = new SocketRows<bigint>(rowsBuffer, meta.figures.count, true);
    const unread = big.toArray().find((r) => r.remotePort === meta.ports.unreadBytesClient)!;
    expect(unread.tcpInfo!.bytesReceived).toBe(BigInt(meta.unreadBytes));
  });

  it('counts optmem in kernelBytes and takes idle time from the more recent direction (on an edited copy of row 2)', () => {
    // The recording has optmem 0 and equal idle times both ways everywhere: edit a copy.
    const copy = rowsBuffer.slice(0);
    const view = new DataView(copy);
    const base = 2 * ROW.bytes;
    view.setUint32(base + ROW.skmem + 4 * 6, 640, true); // optmem
    view.setUint32(base + ROW.tcpInfo + 44, 5, true); // last_data_sent: 5 ms ago
    const edited = new SocketRows(copy, meta.figures.count, false);
    const row = edited.at(2);
    expect(row.skmem!.optmem).toBe(640);
    expect(edited.kernelBytes(2)).toBe(row.skmem!.rmemAlloc + row.skmem!.wmemQueued + row.skmem!.fwdAlloc + 640);
    expect(row.tcpInfo!.lastDataRecvMs).toBeGreaterThan(1000);
    expect(row.idleMs).toBe(5);
  });

  it('refuses a row outside the snapshot', () => {
    expect(() => rows.at(rows.length)).toThrow(RangeError);
    expect(() => rows.at(-1)).toThrow(RangeError);
    expect(() => rows.at(1.5)).toThrow(RangeError);
  });
});

describe('socketSnapshot() through the native seam, on the recorded rows', () => {
  let fake: FakeNative;
  let snapshot: SocketSnapshot;
  beforeAll(async () => {
    fake = installFakeNative((f) => (f.snapshot = { ...meta.figures, rows: rowsBuffer }));
    snapshot = await socketSnapshot();
  });
  afterAll(() => setNativeForTesting(undefined));

  it('counts by state and by local port as ss does', () => {
    const byState: Record<string, number> = {};
    for (const s of ss) byState[s.state] = (byState[s.state] ?? 0) + 1;
    expect(snapshot.counts.byState).toEqual(byState);
    expect(snapshot.counts.byLocalPort).toEqual(countByLocalPort(ss));
    expect(snapshot.counts.total).toBe(ss.length);
  });

  it('counts client sockets by the port they connect to', () => {
    const clients = ss.filter((s) => s.state !== 'LISTEN' && ![meta.ports.ipv4Listener, meta.ports.ipv6Listener].includes(s.local.port));
    const byRemote: Record<number, Record<string, number>> = {};
    for (const s of clients) (byRemote[s.peer.port] ??= {})[s.state] = (byRemote[s.peer.port]?.[s.state] ?? 0) + 1;
    expect(snapshot.counts.byRemotePort).toEqual(byRemote);
  });

  it('lists the listeners and the fd headroom', () => {
    expect(snapshot.listeners.map((l) => l.localPort).sort()).toEqual([meta.ports.ipv4Listener, meta.ports.ipv6Listener].sort());
    expect(snapshot.fds).toEqual({
      open: meta.figures.fdsOpen,
      limit: meta.figures.fdLimit,
      hardLimit: meta.figures.fdHardLimit,
      headroom: meta.figures.fdLimit - meta.figures.fdsOpen,
    });
    expect(snapshot.timings.dumpMs).toBe(meta.figures.dumpNs / 1e6);
  });

  it('finds the oldest idle peers with addresses, queues and kernel bytes', () => {
    const peers = oldestIdlePeers(snapshot, 3);
    expect(peers).toHaveLength(3);
    const idle = peers.map((p) => p.idleMs);
    expect(idle).toEqual([...idle].sort((a, b) => b - a));
    // None idle longer than the longest kept, among all connections.
    const all = rows
      .toArray()
      .filter((r) => r.side !== 'listener')
      .map((r) => r.idleMs!);
    expect(idle[0]).toBe(Math.max(...all));
    expect(idle[2]).toBeGreaterThanOrEqual([...all].sort((a, b) => b - a)[2]);
    for (const peer of peers) {
      const s = ss.find((x) => x.fd === peer.fd)!;
      const wrap = (a: string) => (a.includes(':') ? `[${a}]` : a);
      expect(peer.local).toBe(`${wrap(s.local.address)}:${s.local.port}`);
      expect(peer.remote).toBe(`${wrap(s.peer.address)}:${s.peer.port}`);
      expect(peer.kernelBytes).toBe(kernelBytesOf(s));
    }
    const unread = oldestIdlePeers(snapshot, 20).find((p) => p.remote.endsWith(`:${meta.ports.unreadBytesClient}`))!;
    expect([unread.inqBytes, unread.side, unread.state]).toEqual([meta.unreadBytes, 'server', 'ESTABLISHED']);
    expect(oldestIdlePeers(snapshot, 20)).toHaveLength(rows.length - meta.figures.listeners);
    expect(oldestIdlePeers(snapshot, 20, 10 * 60_000)).toEqual([]);
  });

  it('refuses bad arguments to oldestIdlePeers with coded errors', () => {
    expect(() => oldestIdlePeers(snapshot, 0)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => oldestIdlePeers(snapshot, 1001)).toThrow(/a whole number from 1 to 1000/);
    expect(() => oldestIdlePeers({ sockets: [] } as never)).toThrow(/a result of socketSnapshot\(\)/);
    expect(() => oldestIdlePeers(snapshot, 5, -1)).toThrow(/minIdleMs/);
  });

  it('summarises for the probe: kernel bytes, idle connections, CLOSE_WAIT by listening port', () => {
    const summary = summariseSnapshot(snapshot, 1000);
    expect(summary.kernelBytes).toBe(ss.reduce((total, s) => total + kernelBytesOf(s), 0));
    const idleEstablished = ss.filter((s) => s.state === 'ESTABLISHED' && Math.min(s.info.lastsnd, s.info.lastrcv) - meta.ssAfterMs - 10 >= 1000);
    expect(summary.idle.count).toBe(idleEstablished.length);
    expect(summary.closeWaitByPort).toEqual({ [meta.ports.ipv4Listener]: 1 });
    expect(summary.fds).toEqual({ open: meta.figures.fdsOpen, limit: meta.figures.fdLimit });
    expect(summariseSnapshot(snapshot, 60_000).idle.count).toBe(0);
  });

  it('names CLOSE_WAIT of client sockets by the remote port, not by their ephemeral local port', () => {
    const clientSide = {
      ...snapshot,
      counts: { ...snapshot.counts, byLocalPort: { ...snapshot.counts.byLocalPort, 41000: { CLOSE_WAIT: 2 } }, byRemotePort: { 9000: { CLOSE_WAIT: 2 } } },
    };
    expect(summariseSnapshot(clientSide, 1000).closeWaitByPort).toEqual({ [meta.ports.ipv4Listener]: 1, '→9000': 2 });
  });

  it('turns a native EBADF into a coded error with errno and syscall', async () => {
    fake.snapshotError = nativeError('ERR_SYSCALL', 'open /proc/self/fd: Bad file descriptor', { errno: 9, syscall: 'open' });
    await expect(socketSnapshot()).rejects.toMatchObject({ name: 'SockprobeError', code: 'ERR_SOCKET_CLOSED', errno: 9, syscall: 'open' });
    fake.snapshotError = null;
    await expect(socketSnapshot({ pid: -3 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(socketSnapshot({ bigint: 1 as never })).rejects.toThrow(/options\.bigint/);
  });
});
