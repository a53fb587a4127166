// socketSnapshot() against `ss -tan` for one process holding ESTABLISHED, CLOSE_WAIT,
// FIN_WAIT2, TIME_WAIT and LISTEN sockets, over IPv4 and a dual-stack IPv6 listener.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countByLocalPort, ss, ssSocketsOf, type SsSocket } from '../helpers/ss';

const require = createRequire(import.meta.url);
const sp = require('../../dist/cjs/index.js');

const once = (emitter: NodeJS.EventEmitter, event: string) => new Promise((resolve) => emitter.once(event, resolve));
const settle = (ms = 200) => new Promise((resolve) => setTimeout(resolve, ms));

async function listen(server: net.Server, host: string): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as net.AddressInfo).port;
}

async function connectPair(server: net.Server, port: number, host = '127.0.0.1'): Promise<{ client: net.Socket; accepted: net.Socket }> {
  const accepting = once(server, 'connection') as Promise<net.Socket>;
  const client = net.connect(port, host);
  const [accepted] = await Promise.all([accepting, once(client, 'connect')]);
  client.on('error', () => undefined);
  return { client, accepted: accepted as net.Socket };
}

const plain = (address: string) => address.replace(/^::ffff:/, '');

describe('socketSnapshot against ss -tan', () => {
  const sockets: net.Socket[] = [];
  // Half-open allowed: when a client ends, the server side stays in CLOSE_WAIT (the app "forgot").
  const v4 = net.createServer({ allowHalfOpen: true }, () => undefined);
  const dual = net.createServer(() => undefined);
  const v6 = net.createServer(() => undefined);
  let v4Port = 0;
  let dualPort = 0;
  let v6Port = 0;

  beforeAll(async () => {
    v4Port = await listen(v4, '127.0.0.1');
    dualPort = await listen(dual, '::');
    v6Port = await listen(v6, '::1');
    sockets.push(...Object.values(await connectPair(v6, v6Port, '::1')));
    for (let i = 0; i < 3; i++) sockets.push(...Object.values(await connectPair(v4, v4Port)));
    for (let i = 0; i < 2; i++) sockets.push(...Object.values(await connectPair(dual, dualPort)));
    // CLOSE_WAIT on the server side, FIN_WAIT2 on the client side.
    for (let i = 0; i < 2; i++) {
      const { client, accepted } = await connectPair(v4, v4Port);
      sockets.push(client, accepted);
      const ended = once(accepted, 'end');
      client.end();
      await ended;
    }
    // TIME_WAIT on the server side: the server closes first, the client follows. Two on the
    // IPv4 listener, one on the dual-stack one (an IPv6 TIME_WAIT with a mapped address).
    for (const [server, port] of [
      [v4, v4Port],
      [v4, v4Port],
      [dual, dualPort],
    ] as const) {
      const { client, accepted } = await connectPair(server, port);
      const closed = Promise.all([once(client, 'close'), once(accepted, 'close')]);
      accepted.on('end', () => accepted.end());
      accepted.end();
      await closed;
    }
    await settle();
  });

  afterAll(() => {
    for (const socket of sockets) socket.destroy();
    v4.close();
    dual.close();
    v6.close();
  });

  it('counts per local port and state equal ss -tan for this process', async () => {
    const before = await sp.socketSnapshot();
    const reference = ssSocketsOf(await ss('tan'), process.pid);
    const after = await sp.socketSnapshot();
    expect(after.counts.byLocalPort).toEqual(before.counts.byLocalPort);
    expect(before.counts.byLocalPort).toEqual(countByLocalPort(reference));
    const states = before.counts.byLocalPort[v4Port];
    expect(states).toEqual({ LISTEN: 1, ESTABLISHED: 3, CLOSE_WAIT: 2, TIME_WAIT: 2 });
    expect(before.counts.byLocalPort[dualPort]).toEqual({ LISTEN: 1, ESTABLISHED: 2, TIME_WAIT: 1 });
    expect(before.counts.byLocalPort[v6Port]).toEqual({ LISTEN: 1, ESTABLISHED: 1 });
    expect(before.counts.byRemotePort[v4Port]).toEqual({ ESTABLISHED: 3, FIN_WAIT2: 2 });
    expect(before.counts.total).toBe(reference.length);
  });

  it('rows match ss row by row: fd, state, addresses (IPv4 clients on the dual-stack listener as ::ffff:)', async () => {
    const snapshot = await sp.socketSnapshot();
    const reference = ssSocketsOf(await ss('tan'), process.pid);
    const key = (state: string, local: string, localPort: number, peer: string, peerPort: number, fd: number | null) =>
      `${state} ${plain(local)}:${localPort} ${plain(peer)}:${peerPort} fd=${fd}`;
    const ours = snapshot.sockets.toArray().map((row: any) => key(row.state, row.localAddress, row.localPort, row.remoteAddress, row.remotePort, row.fd));
    const theirs = reference.map((row: SsSocket) =>
      key(
        row.state,
        row.local.address === '*' ? '::' : row.local.address,
        row.local.port,
        row.peer.address === '*' ? '::' : row.peer.address,
        row.peer.port,
        row.fd,
      ),
    );
    expect(ours.sort()).toEqual(theirs.sort());
    const mapped = snapshot.sockets.toArray().filter((row: any) => row.localPort === dualPort && row.state === 'ESTABLISHED');
    expect(mapped).toHaveLength(2);
    for (const row of mapped) expect([row.family, row.localAddress, row.side]).toEqual(['IPv6', '::ffff:127.0.0.1', 'server']);
    const loopback6 = snapshot.sockets.toArray().filter((row: any) => row.localPort === v6Port && row.state === 'ESTABLISHED');
    expect(loopback6.map((row: any) => [row.family, row.localAddress, row.remoteAddress])).toEqual([['IPv6', '::1', '::1']]);
    const timeWait = snapshot.sockets.toArray().filter((row: any) => row.state === 'TIME_WAIT');
    for (const row of timeWait) expect([row.fd, row.inode, row.side, row.tcpInfo]).toEqual([null, 0, 'server', null]);
  });

  it('rows carry the tcp_info and skmem that tcpInfo() reads from the same fds', async () => {
    const snapshot = await sp.socketSnapshot({ bigint: true });
    const established = snapshot.sockets.toArray().filter((row: any) => row.state === 'ESTABLISHED');
    expect(established.length).toBe(12);
    for (const row of established) {
      const direct = sp.tcpInfo(row.fd, { bigint: true });
      expect([row.tcpInfo.sndCwnd, row.tcpInfo.sndMss, row.tcpInfo.bytesReceived, row.tcpInfo.bytesAcked, row.skmem.rcvbuf, row.skmem.sndbuf]).toEqual([
        direct.sndCwnd,
        direct.sndMss,
        direct.bytesReceived,
        direct.bytesAcked,
        direct.skmem.rcvbuf,
        direct.skmem.sndbuf,
      ]);
      expect(typeof row.tcpInfo.bytesAcked).toBe('bigint');
      expect(row.inqBytes).toBe(direct.inqBytes);
      expect(row.idleMs).toBeGreaterThanOrEqual(0);
    }
    const listener = snapshot.listeners.find((row: any) => row.localPort === v4Port);
    expect([listener.fd, listener.acceptQueue, listener.acceptBacklog]).toEqual([(v4 as any)._handle.fd, 0, sp.tcpInfo(v4).sacked]);
  });

  // IPv4-mapped addresses are the exception: dotted, as ss and Node's remoteAddress print them (tested above).
  it('formats IPv6 addresses as WHATWG URL does (RFC 5952 compression)', () => {
    const { ipv6Text } = require('../../dist/cjs/net/address.js');
    const samples = ['2001:db8:0:0:1:0:0:1', '0:0:0:0:0:0:0:1', 'fe80:0:0:0:0:0:0:0', '2001:db8:1:2:3:4:5:6', '1:0:0:2:0:0:0:3'];
    for (const sample of samples) {
      const bytes = new Uint8Array(16);
      sample.split(':').forEach((group, i) => {
        bytes[2 * i] = parseInt(group, 16) >> 8;
        bytes[2 * i + 1] = parseInt(group, 16) & 255;
      });
      expect(ipv6Text(bytes, 0)).toBe(new URL(`http://[${sample}]/`).hostname.slice(1, -1));
    }
  });

  it('fds: open count and limit agree with /proc/self', async () => {
    const snapshot = await sp.socketSnapshot();
    // readdirSync holds one fd of its own while listing.
    const open = fs.readdirSync('/proc/self/fd').length - 1;
    const limits = fs.readFileSync('/proc/self/limits', 'utf8');
    const soft = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(limits)!;
    expect(snapshot.fds.open).toBe(open);
    expect(snapshot.fds.limit).toBe(Number(soft[1]));
    expect(snapshot.fds.hardLimit).toBe(Number(soft[2]));
    expect(snapshot.fds.headroom).toBe(snapshot.fds.limit - open);
  });
});
