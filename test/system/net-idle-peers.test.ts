// oldestIdlePeers() and `sockprobe snapshot --peers`: the connections idle longest, checked
// against the sockets this test made idle on purpose and against ss's own idle timers.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { root } from '../helpers/child';
import { ss } from '../helpers/ss';

const require = createRequire(import.meta.url);
const sp = require('../../dist/cjs/index.js');
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the connections idle longest', () => {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => sockets.push(socket.on('data', () => undefined)));
  afterAll(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });

  it('are the ones nothing moved on, oldest first, with addresses, queues and kernel bytes', async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const connect = () =>
      new Promise<net.Socket>((resolve) => {
        const c = net.connect(port, '127.0.0.1', () => resolve(c));
        sockets.push(c);
      });
    const quiet = [await connect(), await connect()];
    await pause(300);
    const busy = [await connect(), await connect()];
    await pause(300);
    for (const socket of busy) socket.write('x');
    await pause(50);

    const snapshot = await sp.socketSnapshot();
    const peers = sp.oldestIdlePeers(snapshot, 4);
    expect(peers).toHaveLength(4);
    // Both ends of the two quiet connections, and nothing else.
    const quietEnds = new Set(quiet.flatMap((c) => [`127.0.0.1:${c.localPort}`, `127.0.0.1:${c.remotePort}`]));
    const quietPorts = new Set(quiet.map((c) => c.localPort));
    for (const peer of peers) {
      expect(quietEnds.has(peer.local)).toBe(true);
      expect(quietPorts.has(Number(peer.local.split(':')[1])) || quietPorts.has(Number(peer.remote.split(':')[1]))).toBe(true);
      expect(peer.state).toBe('ESTABLISHED');
      expect(peer.idleMs).toBeGreaterThanOrEqual(550);
      expect(peer.inqBytes).toBe(0);
      expect(peer.kernelBytes).toBeGreaterThanOrEqual(0);
    }
    for (let i = 1; i < peers.length; i++) expect(peers[i - 1].idleMs).toBeGreaterThanOrEqual(peers[i].idleMs);
    // ss's idle timers (lastsnd/lastrcv) for the same sockets agree within the time ss takes.
    const rows = await ss('tin', `( sport = :${port} or dport = :${port} )`);
    for (const peer of peers) {
      const row = rows.find((r) => r.pid === process.pid && r.fd === peer.fd);
      expect(row).toBeDefined();
      const theirs = Math.min(Number(row!.info.lastsnd), Number(row!.info.lastrcv));
      expect(Math.abs(theirs - peer.idleMs)).toBeLessThanOrEqual(1000);
    }
    expect(() => sp.oldestIdlePeers(snapshot, 0)).toThrow(/Expected a whole number from 1 to 1000 for count/);
  });

  it('are listed by `sockprobe snapshot --pid --peers`', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      path.join(root, 'dist/cjs/cli/main.js'),
      'snapshot',
      '--pid',
      String(process.pid),
      '--peers',
      '2',
      '--json',
    ]);
    const result = JSON.parse(stdout);
    expect(result.peers).toHaveLength(2);
    expect(result.peers[0].idleMs).toBeGreaterThanOrEqual(result.peers[1].idleMs);
    const text = await promisify(execFile)(process.execPath, [
      path.join(root, 'dist/cjs/cli/main.js'),
      'snapshot',
      '--pid',
      String(process.pid),
      '--peers',
      '2',
    ]);
    expect(text.stdout).toMatch(/idle longest \(2\):[\s\S]*ESTABLISHED/);
  });
});
