// Seed 003 (connection reuse): HTTP/1.1 client bodies left unread, partly read, read to the
// end, or closed unread, with server keep-alive on and off. The seed watched
// `netstat -an | grep 9000`; here socketSnapshot() must show the same pile-ups, and agree with
// `ss -tan` for the process.
//
// The seed's condition itself (a client that gets the server's FIN, stops reading and never
// closes) is reproduced with a raw socket that holds on every Node line. Node's own http client
// reproduces it only while it has not buffered the whole body: it reads on until the response
// stream's highWaterMark is reached, then stops reading the socket, so a FIN behind unread
// bytes is never read and the socket stays in CLOSE_WAIT. That mark is 16 KiB on Node 20 and
// 64 KiB from 22 on (stream.getDefaultHighWaterMark), so a 100 KB unread body piles up
// CLOSE_WAIT on 20, and from 22 on is buffered whole: the client reads the FIN and closes. The
// partly read body is 170 KB: more than any line buffers, less than the kernel window. Closing a
// socket with unread bytes sends RST, not FIN, so the "closed unread" runs use the seed's own
// 11-byte body, which Node has fully read.
import { createRequire } from 'node:module';
import * as http from 'node:http';
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { countByLocalPort, ss, ssSocketsOf } from '../helpers/ss';

const require = createRequire(import.meta.url);
const sp = require('../../dist/cjs/index.js');

const REQUESTS = 6;
const UNREAD_BODY = 100_000;
const PARTLY_READ_BODY = 170_000;
const SEED_BODY = 'hello world'.length;
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const settle = (ms = 300) => new Promise((resolve) => setTimeout(resolve, ms));

type Reading = 'none' | 'partial' | 'all' | 'close' | 'stalled';

/**
 * The seed's client with Node's http client out of the way: a raw socket that sends the GET,
 * never reads a byte and never closes. allowHalfOpen keeps Node from ending its side when the
 * FIN arrives (it would not see the FIN anyway: the socket is paused).
 */
function stalledGet(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => {
      socket.pause();
      socket.write(`GET /hello HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`, () => resolve(socket));
    });
    socket.once('error', reject);
  });
}

/**
 * One seed run: REQUESTS sequential GETs through one keep-alive agent (or raw stalled sockets),
 * each answered in full before the next.
 */
async function run(serverKeepAlive: boolean, reading: Reading, bodyBytes: number) {
  const body = Buffer.alloc(bodyBytes, 'x');
  const server = http.createServer((_request, response) => {
    if (!serverKeepAlive) response.setHeader('Connection', 'close');
    response.end(body);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  // TIME_WAIT toward this port number left by an earlier listener on it (another test file's,
  // minutes ago: ports are reused) is not this run's; while ours listens, no other can.
  const timeWaitToward = (rows: Awaited<ReturnType<typeof ss>>) =>
    rows.filter((row) => row.peer.port === port && row.state === 'TIME_WAIT' && row.pid === null).length;
  const earlierTimeWait = timeWaitToward(await ss('tan'));
  const agent = new http.Agent({ keepAlive: true });
  const responses: Array<http.IncomingMessage | net.Socket> = [];
  for (let i = 0; i < REQUESTS; i++) {
    if (reading === 'stalled') {
      const answered = new Promise((resolve) => server.once('request', (_request, response) => response.once('finish', resolve)));
      responses.push(await stalledGet(port));
      await answered;
      continue;
    }
    await new Promise<void>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/hello', agent }, (response) => {
          responses.push(response);
          if (reading === 'none') resolve();
          else if (reading === 'partial')
            response.once('data', () => {
              response.pause();
              resolve();
            });
          else if (reading === 'all') response.resume().on('end', () => resolve());
          else {
            response.destroy();
            resolve();
          }
        })
        .on('error', reject);
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
    unattributedTimeWait: timeWaitToward(all) - earlierTimeWait,
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
  // Node's http client, keep-alive off, body unread: see the top of this file.
  const unreadKeepAliveOff: [Record<string, number>, Record<string, number>] =
    NODE_MAJOR >= 22 ? [{ LISTEN: 1, TIME_WAIT: REQUESTS }, {}] : [{ LISTEN: 1, FIN_WAIT2: REQUESTS }, { CLOSE_WAIT: REQUESTS }];
  const cases: Array<[string, boolean, Reading, number, Record<string, number>, Record<string, number>, number]> = [
    // name, server keep-alive, client reading, body bytes, server-side states, client-side states, client TIME_WAIT (ss only)
    ['keep-alive on, body unread: ESTABLISHED piles up', true, 'none', UNREAD_BODY, { LISTEN: 1, ESTABLISHED: REQUESTS }, { ESTABLISHED: REQUESTS }, 0],
    [
      'keep-alive on, body partly read: ESTABLISHED piles up',
      true,
      'partial',
      PARTLY_READ_BODY,
      { LISTEN: 1, ESTABLISHED: REQUESTS },
      { ESTABLISHED: REQUESTS },
      0,
    ],
    ['keep-alive on, body read to the end: one reused connection', true, 'all', UNREAD_BODY, { LISTEN: 1, ESTABLISHED: 1 }, { ESTABLISHED: 1 }, 0],
    ['keep-alive on, closed unread: no pile-up, client-side TIME_WAIT', true, 'close', SEED_BODY, { LISTEN: 1 }, {}, REQUESTS],
    [
      'keep-alive off, client stops reading and never closes: CLOSE_WAIT piles up (server FIN_WAIT2)',
      false,
      'stalled',
      SEED_BODY,
      { LISTEN: 1, FIN_WAIT2: REQUESTS },
      { CLOSE_WAIT: REQUESTS },
      0,
    ],
    [
      `keep-alive off, 100 KB body unread by the http ` +
        `client: ${NODE_MAJOR >= 22 ? 'buffered whole, closed (server TIME_WAIT)' : 'CLOSE_WAIT piles up (server FIN_WAIT2)'}`,
      false,
      'none',
      UNREAD_BODY,
      ...unreadKeepAliveOff,
      0,
    ],
    [
      'keep-alive off, body partly read: CLOSE_WAIT piles up',
      false,
      'partial',
      PARTLY_READ_BODY,
      { LISTEN: 1, FIN_WAIT2: REQUESTS },
      { CLOSE_WAIT: REQUESTS },
      0,
    ],
    ['keep-alive off, body read to the end: server-side TIME_WAIT, no pile-up', false, 'all', UNREAD_BODY, { LISTEN: 1, TIME_WAIT: REQUESTS }, {}, 0],
  ];

  it.each(cases)('%s', async (_name, keepAlive, reading, bodyBytes, serverSide, clientSide, clientTimeWait) => {
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
