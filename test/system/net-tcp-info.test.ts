// tcpInfo() against `ss -tinm` for the same loopback connections: plain TCP both sides, the
// listener, TLS server and client sides and an https agent's socket.
import { createRequire } from 'node:module';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as tls from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { SKMEM_KEYS, ss, type SsSocket } from '../helpers/ss';

const require = createRequire(import.meta.url);
const sp = require('../../dist/cjs/index.js');
const { native } = require('../../dist/cjs/native.js');
const { TCP_INFO_FIELDS, fieldSize } = require('../../dist/cjs/net/tcp-info-fields.js');
const { PROBE, ROW, TCP_INFO_CAPACITY, SKMEM_SLOTS } = require('../../dist/cjs/net/layout.js');
const { testCertificate } = require('../../dist/cjs/load/certificate.js');

const settle = (ms = 150) => new Promise((resolve) => setTimeout(resolve, ms));
const once = <T>(emitter: NodeJS.EventEmitter, event: string) => new Promise<T>((resolve) => emitter.once(event, resolve as (value: T) => void));

function receive(socket: net.Socket, bytes: number): Promise<void> {
  let got = 0;
  return new Promise((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      got += chunk.length;
      if (got >= bytes) resolve();
    });
  });
}

/** Finds our socket's ss row by owning pid and fd. */
async function ssRow(port: number, fd: number): Promise<SsSocket> {
  const rows = await ss('tinm', `( sport = :${port} or dport = :${port} )`);
  const row = rows.find((candidate) => candidate.pid === process.pid && candidate.fd === fd);
  if (!row) throw new Error(`ss shows no socket with pid ${process.pid} fd ${fd} on port ${port}`);
  return row;
}

const COUNTERS = ['segsOut', 'segsIn', 'bytesAcked', 'bytesReceived', 'bytesSent'] as const;

/**
 * Our reading and ss's row for one socket, taken while nothing moved on it: ours is read
 * before and after ss runs, and the pair is retaken (a few times at most) when a delayed ACK
 * or a TLS session ticket crossed in between — on a loaded machine ss takes tens of ms.
 */
async function quiescentPair(read: () => any, port: number, fd: number): Promise<{ info: any; row: SsSocket }> {
  for (let attempt = 0; ; attempt++) {
    const before = read();
    const row = await ssRow(port, fd);
    const info = read();
    if (COUNTERS.every((key) => before[key] === info[key]) || attempt === 5) return { info, row };
    await settle();
  }
}

/** Every value both report for a socket must be equal (the connection is quiescent). */
function expectAgreement(info: any, row: SsSocket): void {
  expect(info.state).toBe(row.state);
  for (const [key, name] of Object.entries(SKMEM_KEYS)) expect([name, info.skmem[name]]).toEqual([name, row.skmem?.[key]]);
  if (info.state === 'LISTEN') {
    // ss prints the accept queue and the backlog in the Recv-Q and Send-Q columns.
    expect(info.unacked).toBe(row.recvQ);
    expect(info.sacked).toBe(row.sendQ);
    expect(info.inqBytes).toBeNull();
    return;
  }
  expect(info.inqBytes).toBe(row.recvQ);
  expect(info.outqBytes).toBe(row.sendQ);
  // ss omits zero counters.
  const pairs: Array<[string, string]> = [
    ['sndCwnd', 'cwnd'],
    ['sndMss', 'mss'],
    ['rcvMss', 'rcvmss'],
    ['advmss', 'advmss'],
    ['pmtu', 'pmtu'],
    ['bytesAcked', 'bytes_acked'],
    ['bytesReceived', 'bytes_received'],
    ['bytesSent', 'bytes_sent'],
    ['segsOut', 'segs_out'],
    ['segsIn', 'segs_in'],
    ['dataSegsOut', 'data_segs_out'],
    ['dataSegsIn', 'data_segs_in'],
    ['sndWscale', 'snd_wscale'],
    ['rcvWscale', 'rcv_wscale'],
    ['rcvSpace', 'rcv_space'],
    ['rcvSsthresh', 'rcv_ssthresh'],
    ['sndWndBytes', 'snd_wnd'],
    ['delivered', 'delivered'],
  ];
  for (const [ours, theirs] of pairs) expect([ours, info[ours]]).toEqual([ours, row.info[theirs] ?? 0]);
  expect(info.rtoUs / 1000).toBe(row.info.rto);
}

describe('tcpInfo against ss -tinm', () => {
  const cleanup: Array<() => void> = [];
  afterAll(() => {
    for (const fn of cleanup) fn();
  });

  it('the TypeScript layout mirrors the built addon', () => {
    const layout = native().netLayout();
    // Every field of the C++ struct, and only those, at the same offset with the same size.
    const ours = Object.fromEntries(TCP_INFO_FIELDS.map((field: any) => [field.kernel, [field.offset, fieldSize(field)]]));
    expect(ours).toEqual(layout.tcpInfo);
    expect(Object.keys(ours).length).toBeGreaterThanOrEqual(70);
    const last = TCP_INFO_FIELDS[TCP_INFO_FIELDS.length - 1];
    expect(last.offset + fieldSize(last)).toBe(layout.tcpInfoSize);
    expect([PROBE.bytes, ROW.bytes, ROW.tcpInfo, ROW.skmem, TCP_INFO_CAPACITY, SKMEM_SLOTS]).toEqual([
      layout.probeBytes,
      layout.rowBytes,
      layout.rowTcpInfo,
      layout.rowSkmem,
      layout.tcpInfoCapacity,
      layout.skmemSlots,
    ]);
  });

  it('plain TCP: server side, client side and the listener agree with ss', async () => {
    let accepted!: net.Socket;
    const server = net.createServer((socket) => (accepted = socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => server.close());
    const port = (server.address() as net.AddressInfo).port;
    const client = net.connect(port, '127.0.0.1');
    await once(server, 'connection');
    await once(client, 'connect');
    cleanup.push(() => client.destroy());
    // Traffic both ways, so byte counters and segment counts are not trivially zero.
    const serverGot = receive(accepted, 3000);
    const clientGot = receive(client, 70_000);
    client.write(Buffer.alloc(3000, 1));
    accepted.write(Buffer.alloc(70_000, 2));
    await Promise.all([serverGot, clientGot]);
    await settle();

    const serverSide = sp.tcpInfo(accepted);
    const clientSide = sp.tcpInfo(client);
    const listener = sp.tcpInfo(server);
    expect(serverSide.bytesReceived).toBe(3000);
    expect(clientSide.bytesReceived).toBe(70_000);
    expect(listener.state).toBe('LISTEN');
    for (const [socket, fd] of [
      [accepted, serverSide.fd],
      [client, clientSide.fd],
      [server, listener.fd],
    ] as const) {
      const { info, row } = await quiescentPair(() => sp.tcpInfo(socket), port, fd);
      expectAgreement(info, row);
    }
    expect(sp.tcpInfo(serverSide.fd).bytesReceived).toBe(3000);
  });

  it('TLS: server-side and client-side TLSSockets and an https agent socket resolve to their TCP fds', async () => {
    const secure: tls.TLSSocket[] = [];
    const server = https.createServer({ ...testCertificate() }, (_request, response) => response.end('hello'));
    server.on('secureConnection', (socket: tls.TLSSocket) => secure.push(socket));
    // The server closes an idle keep-alive connection after keepAliveTimeout (5 s): on a loaded
    // machine the ss calls below can take that long, and the agent's socket would close mid-test.
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    // An agent turns TCP keep-alive on for its sockets, probing after keepAliveMsecs (1 s) idle:
    // a probe landing between tcpInfo() and ss (the loop below takes about that long) adds a
    // segment on one side and a drop on the other. Probing after a minute keeps them quiescent.
    const agent = new https.Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
    cleanup.push(() => {
      agent.destroy();
      server.closeAllConnections();
      server.close();
    });
    const tlsClient = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' });
    await once(tlsClient, 'secureConnect');
    cleanup.push(() => tlsClient.destroy());
    const agentSocket = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const request = https.get({ host: '127.0.0.1', port, agent, rejectUnauthorized: false }, (response) => {
        response.resume();
        // After the body the socket goes back to the agent's free pool, still open.
        response.on('end', () => resolve(request.socket as tls.TLSSocket));
      });
      request.on('error', reject);
    });
    await settle();
    expect(secure).toHaveLength(2);
    for (const socket of [tlsClient, agentSocket, ...secure]) {
      const { info, row } = await quiescentPair(() => sp.tcpInfo(socket), port, sp.tcpInfo(socket).fd);
      expect(info.state).toBe('ESTABLISHED');
      // The handshake moved bytes both ways on every one of these.
      expect(info.bytesReceived).toBeGreaterThan(0);
      expect(row.local.port).toBe(socket.localPort);
      expect(row.peer.port).toBe(socket.remotePort);
      expectAgreement(info, row);
    }
  });

  it('HTTP/2: session.socket of client and server sessions (proxies over TLSSockets)', async () => {
    const server = http2.createSecureServer({ ...testCertificate() }, (_request, response) => response.end('ok'));
    const sessions: http2.ServerHttp2Session[] = [];
    server.on('session', (session) => sessions.push(session));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const client = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
    await once(client, 'connect');
    cleanup.push(() => {
      client.destroy();
      server.close();
    });
    await settle();
    expect(sessions).toHaveLength(1);
    for (const session of [client, sessions[0]]) {
      const { info, row } = await quiescentPair(() => sp.tcpInfo(session.socket), port, sp.tcpInfo(session.socket).fd);
      expect(info.bytesReceived).toBeGreaterThan(0);
      expect(row.local.port).toBe(session.socket.localPort);
      expectAgreement(info, row);
    }
  });

  it('reads the fd from the live handle at each call, never a cached number', async () => {
    const server = net.createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    cleanup.push(() => server.close());
    const first = net.connect(port, '127.0.0.1');
    await once(first, 'connect');
    const firstFd = sp.tcpInfo(first).fd;
    first.destroy();
    await once(first, 'close');
    // The kernel hands out the lowest free fd: the next connection usually reuses the number.
    const second = net.connect(port, '127.0.0.1');
    await once(second, 'connect');
    cleanup.push(() => second.destroy());
    expect(() => sp.tcpInfo(first)).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' }));
    expect(sp.tcpInfo(second).fd).toBe((second as any)._handle.fd);
    if (sp.tcpInfo(second).fd === firstFd) expect(sp.tcpInfo(firstFd).state).toBe('ESTABLISHED');
  });

  it('reports exactly the fields inside the length the kernel filled; 64-bit counters as number-or-null or bigint', async () => {
    const server = net.createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => server.close());
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await once(client, 'connect');
    cleanup.push(() => client.destroy());
    const info = sp.tcpInfo(client);
    for (const field of TCP_INFO_FIELDS) {
      expect([field.name, field.name in info]).toEqual([field.name, field.offset + fieldSize(field) <= info.tcpInfoLength]);
    }
    // Debian's linux/tcp.h stops at 232 bytes; kernels >= 6.2 fill more, and we read it.
    const [major, minor] = os.release().split('.').map(Number);
    if (major > 6 || (major === 6 && minor >= 2)) {
      expect(info.tcpInfoLength).toBeGreaterThan(232);
      expect(info.rcvWndBytes).toBeGreaterThan(0);
    }
    const big = sp.tcpInfo(client, { bigint: true });
    expect(typeof big.bytesAcked).toBe('bigint');
    expect(big.bytesAcked).toBe(BigInt(info.bytesAcked));
    // An unlimited max pacing rate is ~0 (2^64-1): null as a number, exact as a bigint.
    expect(info.maxPacingRateBytesPerSec).toBeNull();
    expect(big.maxPacingRateBytesPerSec).toBe(2n ** 64n - 1n);
    const lean = sp.tcpInfo(client, { queues: false, skmem: false });
    expect([lean.inqBytes, lean.outqBytes, lean.skmem]).toEqual([null, null, null]);
    expect(lean.state).toBe('ESTABLISHED');
  });
});
