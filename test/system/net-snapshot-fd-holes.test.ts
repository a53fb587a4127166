// The fd scan steps fstat() through the fd numbers until it has found as many fds as the kernel
// counts open, and polls the rest of the table past a long run of closed numbers. Sockets sitting
// after a short hole and after a long one must both be found, with the fd ss reports.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ss, ssSocketsOf } from '../helpers/ss';

const require = createRequire(import.meta.url);
const sp = require('../../dist/cjs/index.js');

const once = (emitter: NodeJS.EventEmitter, event: string) => new Promise((resolve) => emitter.once(event, resolve));

describe('socketSnapshot across holes in the fd table', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  // 100 closed numbers: stepped over. 6,000: past the 4,096 the scan steps over, so it polls.
  /** `hole` fds opened, then three sockets (listener, client, accepted), then the fds closed again. */
  async function socketsAfterHole(hole: number) {
    const filler: number[] = [];
    for (let i = 0; i < hole; i++) filler.push(fs.openSync('/dev/null', 'r'));
    const server = net.createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const accepting = once(server, 'connection') as Promise<net.Socket>;
    const client = net.connect(port, '127.0.0.1');
    const [accepted] = await Promise.all([accepting, once(client, 'connect')]);
    cleanups.push(() => {
      client.destroy();
      (accepted as net.Socket).destroy();
      server.close();
    });
    for (const fd of filler) fs.closeSync(fd);
    const fds: number[] = [(server as any)._handle.fd, (client as any)._handle.fd, (accepted as any)._handle.fd];
    return { port, fds, lastFiller: filler[filler.length - 1] };
  }

  // 100 closed numbers: stepped over. 6,000: past the 4,096 the scan steps over, so it polls.
  it.each([100, 6_000])('finds a connection opened after %i fds that were then closed', async (hole) => {
    // Another fd of this process closed while the fillers were open leaves a hole below them that
    // a socket then takes: set up again (bounded) until all three sit above the hole.
    let setup = await socketsAfterHole(hole);
    for (let attempt = 1; attempt < 5 && Math.min(...setup.fds) <= setup.lastFiller; attempt++) setup = await socketsAfterHole(hole);
    const { port, fds } = setup;
    expect(Math.min(...fds)).toBeGreaterThan(setup.lastFiller);

    const snapshot = await sp.socketSnapshot();
    // readdirSync holds one fd of its own while listing. Counted before ss runs: its pipes close
    // after its promise settles.
    const open = fs.readdirSync('/proc/self/fd').length - 1;
    const reference = ssSocketsOf(await ss('tan'), process.pid).filter((row) => row.local.port === port || row.peer.port === port);
    const ours = snapshot.sockets
      .toArray()
      .filter((row: any) => row.localPort === port || row.remotePort === port)
      .map((row: any) => `${row.state} ${row.localPort}->${row.remotePort} fd=${row.fd}`);
    const theirs = reference.map((row) => `${row.state} ${row.local.port}->${row.peer.port} fd=${row.fd}`);
    expect(ours.sort()).toEqual(theirs.sort());
    expect(ours).toHaveLength(3);
    expect(snapshot.sockets.toArray().map((row: any) => row.fd)).toEqual(expect.arrayContaining(fds));
    expect(snapshot.fds.open).toBe(open);
  });
});
