// socketSnapshot's kernel-side port filter: a process that only connects out (no listener)
// has its sockets found through the ephemeral local ports of its fds, and the peer process's
// sockets on the same connections are filtered out in the kernel; counts agree with ss.
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countByLocalPort, ss, ssSocketsOf } from '../helpers/ss';

const require = createRequire(import.meta.url);
const sp = require('../../dist/cjs/index.js');

const CONNECTIONS = 600; // a few hundred ports: the bytecode's binary search, several levels deep

const SERVER = `
  const held = [];
  require('net').createServer((socket) => held.push(socket)).listen(0, '127.0.0.1', function () {
    process.send(this.address().port);
  });
`;

describe('socketSnapshot filtered on this process ports', () => {
  let server: ChildProcess;
  let port = 0;
  const sockets: net.Socket[] = [];

  beforeAll(async () => {
    server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    port = await new Promise<number>((resolve, reject) => {
      server.once('message', (message) => resolve(Number(message)));
      server.once('exit', (code) => reject(new Error(`server exited (${code})`)));
    });
    for (let i = 0; i < CONNECTIONS; i += 50) {
      await Promise.all(
        Array.from(
          { length: Math.min(50, CONNECTIONS - i) },
          () =>
            new Promise<void>((resolve, reject) => {
              const socket = net.connect(port, '127.0.0.1', () => resolve());
              socket.once('error', reject);
              sockets.push(socket);
            }),
        ),
      );
    }
  }, 60_000);

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    server?.kill();
  });

  it('finds every outgoing connection once, by its ephemeral port, and agrees with ss', async () => {
    const snapshot = await sp.socketSnapshot();
    const host = await ss('tan');
    const reference = ssSocketsOf(host, process.pid);
    expect(snapshot.counts.byLocalPort).toEqual(countByLocalPort(reference));
    expect(snapshot.counts.byRemotePort[port]).toEqual({ ESTABLISHED: CONNECTIONS });
    expect(snapshot.listeners).toHaveLength(0);
    expect(snapshot.dump.unfiltered).toBe(false);
    expect(snapshot.dump.filterPorts).toBeGreaterThanOrEqual(CONNECTIONS);
    // The server process's accepted sockets (local port = its listening port) are not sent: what
    // the kernel sent is the host's sockets on our ephemeral ports (ours, and other processes'
    // connections and TIME_WAITs that reuse those port numbers), with room for churn between the
    // two reads, far below that count plus the server's 600.
    const ourPorts = new Set(reference.map((row) => row.local.port));
    const onOurPorts = host.filter((row) => ourPorts.has(row.local.port) && row.state !== 'LISTEN').length;
    expect(snapshot.hostSockets).toBeLessThan(onOurPorts + CONNECTIONS / 4);
    const fds = new Set<number>();
    for (let i = 0; i < snapshot.sockets.length; i++) fds.add(snapshot.sockets.fd(i));
    expect(fds.size).toBe(snapshot.sockets.length);
    for (const socket of sockets) expect(fds.has(sp.tcpInfo(socket, { queues: false, skmem: false }).fd)).toBe(true);
  });
});
