// A snapshot's rows buffer, once collected, is reused by the next snapshot (native/net/rows_pool.h):
// a smaller snapshot into a larger spare must hold only its own rows, each matching ss and the fd
// it names. And timings.cpuMs, the threadpool thread's CPU time, checked against the process's.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ss, ssSocketsOf } from '../helpers/ss';

const require = createRequire(import.meta.url);
const sp = require('../../dist/cjs/index.js');

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const once = (emitter: NodeJS.EventEmitter, event: string) => new Promise((resolve) => emitter.once(event, resolve));
const turn = () => new Promise((resolve) => setImmediate(resolve));
const plain = (address: string) => address.replace(/^::ffff:/, '');

describe('socketSnapshot reusing a collected rows buffer', () => {
  const server = net.createServer(() => undefined);
  const pairs: Array<{ client: net.Socket; accepted: net.Socket }> = [];
  let port = 0;

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
    for (let i = 0; i < 300; i++) {
      const accepting = once(server, 'connection') as Promise<net.Socket>;
      const client = net.connect(port, '127.0.0.1');
      const [accepted] = await Promise.all([accepting, once(client, 'connect')]);
      client.on('error', () => undefined);
      pairs.push({ client, accepted: accepted as net.Socket });
    }
  });

  afterAll(() => {
    for (const { client, accepted } of pairs) {
      client.destroy();
      accepted.destroy();
    }
    server.close();
  });

  it('a smaller snapshot after a larger one holds only its own rows, matching ss and its fds', async () => {
    let first: any = await sp.socketSnapshot();
    const firstCount = first.sockets.length;
    expect(firstCount).toBeGreaterThanOrEqual(601);
    // Close 250 pairs (the clients first: their TIME_WAITs are not ours), then let the first
    // snapshot's buffer be collected and its finalizer run.
    for (const { client, accepted } of pairs.splice(0, 250)) {
      const closed = Promise.all([once(client, 'close'), once(accepted, 'close')]);
      accepted.on('end', () => accepted.end());
      client.end();
      await closed;
    }
    first = null;
    for (let i = 0; i < 3; i++) {
      gc();
      await turn();
    }
    const second = await sp.socketSnapshot();
    const rows = second.sockets.toArray();
    expect(rows.length).toBeLessThan(firstCount - 400);
    const withFd = rows.filter((row: any) => row.fd !== null);
    for (const row of withFd) expect([row.fd, fs.fstatSync(row.fd).ino]).toEqual([row.fd, row.inode]);
    const key = (state: string, local: string, localPort: number, peer: string, peerPort: number, fd: number | null) =>
      `${state} ${plain(local)}:${localPort} ${plain(peer)}:${peerPort} fd=${fd}`;
    const reference = ssSocketsOf(await ss('tan'), process.pid);
    expect(withFd.map((row: any) => key(row.state, row.localAddress, row.localPort, row.remoteAddress, row.remotePort, row.fd)).sort()).toEqual(
      reference.map((row) => key(row.state, row.local.address, row.local.port, row.peer.address, row.peer.port, row.fd)).sort(),
    );
    expect(withFd.filter((row: any) => row.state === 'ESTABLISHED')).toHaveLength(100);
  });

  it('timings.cpuMs is within the threadpool wall time and the process CPU time of the call', async () => {
    for (let i = 0; i < 3; i++) {
      const before = process.cpuUsage();
      const snapshot = await sp.socketSnapshot();
      const used = process.cpuUsage(before);
      const { cpuMs, scanMs, dumpMs } = snapshot.timings;
      expect(cpuMs).toBeGreaterThan(0);
      expect(cpuMs).toBeLessThanOrEqual(scanMs + dumpMs + 0.05);
      expect(cpuMs).toBeLessThanOrEqual((used.user + used.system) / 1000 + 1);
    }
  });
});
