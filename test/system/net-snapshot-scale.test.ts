// socketSnapshot at a few thousand connections (clients in a child process): the sock_diag
// dump spans many netlink reads, and every held connection must still be found, once, with
// the fd that holds it, in agreement with ss.
import { createRequire } from 'node:module';
import type * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countByLocalPort, ss, ssSocketsOf } from '../helpers/ss';

const require = createRequire(import.meta.url);
const sp = require('../../dist/cjs/index.js');
const { startServer } = require('../../dist/cjs/load/server.js');
const { spawnLoadClients } = require('../../dist/cjs/load/clients.js');

const TCP = 2000;
const TLS = 200;

describe('socketSnapshot at scale', () => {
  let tcpServer: any;
  let tlsServer: any;
  let clients: any;
  const accepted: net.Socket[] = [];

  beforeAll(async () => {
    tcpServer = await startServer({ kind: 'tcp' });
    tlsServer = await startServer({ kind: 'tls' });
    tcpServer.server.on('connection', (socket: net.Socket) => accepted.push(socket));
    tlsServer.server.on('secureConnection', (socket: net.Socket) => accepted.push(socket));
    clients = await spawnLoadClients();
    await clients.open('tcp', tcpServer.port, TCP, { concurrency: 128 });
    await clients.open('tls', tlsServer.port, TLS, { concurrency: 32 });
    await tcpServer.waitForOpen(TCP);
    await tlsServer.waitForOpen(TLS);
  }, 60_000);

  afterAll(async () => {
    await clients?.stop();
    await tcpServer?.close();
    await tlsServer?.close();
  });

  it('finds every held connection once, with its fd, and agrees with ss', async () => {
    const snapshot = await sp.socketSnapshot();
    const reference = ssSocketsOf(await ss('tan'), process.pid);
    expect(snapshot.counts.byLocalPort).toEqual(countByLocalPort(reference));
    expect(snapshot.counts.byLocalPort[tcpServer.port]).toEqual({ LISTEN: 1, ESTABLISHED: TCP });
    expect(snapshot.counts.byLocalPort[tlsServer.port]).toEqual({ LISTEN: 1, ESTABLISHED: TLS });
    // The client process's sockets (local ports ephemeral, remote port ours) are filtered out
    // in the kernel: it sends ours, not the host's.
    expect(snapshot.hostSockets).toBeGreaterThanOrEqual(snapshot.sockets.length);
    expect(snapshot.hostSockets).toBeLessThan(2 * (TCP + TLS));
    expect(snapshot.dump.unfiltered).toBe(false);
    const fds = new Set<number>();
    for (let i = 0; i < snapshot.sockets.length; i++) fds.add(snapshot.sockets.fd(i));
    expect(fds.size).toBe(snapshot.sockets.length);
    // Every accepted socket object (net.Socket and TLSSocket) resolves to one of those fds.
    expect(accepted).toHaveLength(TCP + TLS);
    for (const socket of accepted) expect(fds.has(sp.tcpInfo(socket, { queues: false, skmem: false }).fd)).toBe(true);
    expect(snapshot.listeners.map((row: any) => row.localPort).sort()).toEqual([tcpServer.port, tlsServer.port].sort());
    expect(snapshot.fds.open).toBeGreaterThan(TCP + TLS);
  });
});
