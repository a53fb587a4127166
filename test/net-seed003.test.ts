// Seed 003 (connection reuse): HTTP/1.1 client bodies left unread, partly read, read to the
// end, or closed unread, with server keep-alive on and off. The seed watched
// `netstat -an | grep 9000`; here socketSnapshot() must show the same pile-ups, and agree with
// `ss -tan` for the process. Node parses small bodies eagerly (and then sees the server's FIN
// even when the app never reads), so the body is 100 KB: more than Node buffers for an unread
// response, less than the kernel window, like the seed's Go client that stops reading (170 KB
// when one chunk is read first). Closing a socket with unread bytes sends RST, not FIN, so the
// "closed unread" runs use the seed's own 11-byte body, which Node has fully read.
import { createRequire } from 'node:module';
import * as http from 'node:http';
import type * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { countByLocalPort, ss, ssSocketsOf } from './net-ss-parse';

const require = createRequire(import.meta.url);
const sp = require('../dist/cjs/index.js');

const REQUESTS = 6;
const UNREAD_BODY = 100_000;
const PARTLY_READ_BODY = 170_000;
const SEED_BODY = 'hello world'.length;
const settle = (ms = 300) => new Promise((resolve) => setTimeout(resolve, ms));

type Reading = 'none' | 'partial' | 'all' | 'close';

/** One seed run: REQUESTS sequential GETs through one keep-alive agent. */
async function run(serverKeepAlive: boolean, reading: Reading, bodyBytes: number) {
  const body = Buffer.alloc(bodyBytes, 'x');
  const server = http.createServer((request, response) => {
    if (!serverKeepAlive) response.setHeader('Connection', 'close');
    response.end(body);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const agent = new http.Agent({ keepAlive: true });
  const responses: http.IncomingMessage[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    await new Promise<void>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/hello', agent }, (response) => {
        responses.push(response);
        if (reading === 'none') resolve();
        else if (reading === 'partial') response.once('data', () => (response.pause(), resolve()));
        else if (reading === 'all') response.resume().on('end', () => resolve());
        else (response.destroy(), resolve());
      }).on('error', reject);
    });
  }
  await settle();
  const snapshot = await sp.socketSnapshot();
  const all = await ss('tan');
  const mine = ssSocketsOf(all, process.pid);
  const result = {
    server: snapshot.counts.byLocalPort[port] ?? {},
    client: snapshot.counts.byRemotePort[port] ?? {},
    ssServer: countByLocalPort(mine)[port] ?? {},
    ssClient: countByLocalPort(mine.filter((row) => row.peer.port === port)),
    // Client-side TIME_WAIT toward the port: no inode, no owner, in ss as in sockprobe.
    unattributedTimeWait: all.filter((row) => row.peer.port === port && row.state === 'TIME_WAIT' && row.pid === null).length,
  };
  for (const response of responses) response.destroy();
  agent.destroy();
  server.closeAllConnections();
  server.close();
  return result;
}

/** Per-state totals of a byLocalPort table (client sockets each have their own ephemeral port). */
function total(table: Record<number, Record<string, number>>): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const states of Object.values(table)) for (const [state, count] of Object.entries(states)) sum[state] = (sum[state] ?? 0) + count;
  return sum;
}

describe('seed 003: connection reuse pile-ups seen by socketSnapshot', () => {
  const cases: Array<[string, boolean, Reading, number, Record<string, number>, Record<string, number>, number]> = [
    // name, server keep-alive, client reading, body bytes, server-side states, client-side states, client TIME_WAIT (ss only)
    ['keep-alive on, body unread: ESTABLISHED piles up', true, 'none', UNREAD_BODY, { LISTEN: 1, ESTABLISHED: REQUESTS }, { ESTABLISHED: REQUESTS }, 0],
    ['keep-alive on, body partly read: ESTABLISHED piles up', true, 'partial', PARTLY_READ_BODY, { LISTEN: 1, ESTABLISHED: REQUESTS }, { ESTABLISHED: REQUESTS }, 0],
    ['keep-alive on, body read to the end: one reused connection', true, 'all', UNREAD_BODY, { LISTEN: 1, ESTABLISHED: 1 }, { ESTABLISHED: 1 }, 0],
    ['keep-alive on, closed unread: no pile-up, client-side TIME_WAIT', true, 'close', SEED_BODY, { LISTEN: 1 }, {}, REQUESTS],
    ['keep-alive off, body unread: CLOSE_WAIT piles up (server FIN_WAIT2)', false, 'none', UNREAD_BODY, { LISTEN: 1, FIN_WAIT2: REQUESTS }, { CLOSE_WAIT: REQUESTS }, 0],
    ['keep-alive off, body partly read: CLOSE_WAIT piles up', false, 'partial', PARTLY_READ_BODY, { LISTEN: 1, FIN_WAIT2: REQUESTS }, { CLOSE_WAIT: REQUESTS }, 0],
    ['keep-alive off, body read to the end: server-side TIME_WAIT, no pile-up', false, 'all', UNREAD_BODY, { LISTEN: 1, TIME_WAIT: REQUESTS }, {}, 0],
  ];

  it.each(cases)('%s', async (name, keepAlive, reading, bodyBytes, serverSide, clientSide, clientTimeWait) => {
    const result = await run(keepAlive, reading, bodyBytes);
    // sockprobe agrees with ss for this process...
    expect(result.server).toEqual(result.ssServer);
    expect(result.client).toEqual(total(result.ssClient));
    // ...and both show the seed's pattern.
    expect(result.server).toEqual(serverSide);
    expect(result.client).toEqual(clientSide);
    expect(result.unattributedTimeWait).toBe(clientTimeWait);
  });
});
