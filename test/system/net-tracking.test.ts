// Connection tracking: live counts by kind and side from diagnostics_channel and track(),
// checked against what the kernel holds for this process (socketSnapshot()).
import { createRequire } from 'node:module';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const sp = require('../../dist/cjs/index.js');
const { testCertificate } = require('../../dist/cjs/load/certificate.js');

const once = (emitter: NodeJS.EventEmitter, event: string) => new Promise((resolve) => emitter.once(event, resolve));
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const settle = (ms = 100) => new Promise((resolve) => setTimeout(resolve, ms));

async function listen<T extends net.Server>(server: T): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

function get(module: typeof http | typeof https, port: number, agent: http.Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    module
      .get({ host: '127.0.0.1', port, agent, rejectUnauthorized: false } as https.RequestOptions, (response) => {
        response.resume().on('end', () => resolve());
      })
      .on('error', reject);
  });
}

/** ESTABLISHED sockets of this process, as the kernel reports them. */
async function establishedInKernel(): Promise<number> {
  return (await sp.socketSnapshot()).counts.byState.ESTABLISHED ?? 0;
}

describe('connection tracking', () => {
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0)) await fn();
  });

  it('counts every kind and side the channels see, once each, and counts them down on close', async () => {
    const tracker = new sp.ConnectionTracker().start();
    cleanup.push(() => tracker.stop());
    const certificate = testCertificate();
    const tcpServer = net.createServer(() => undefined);
    const tlsServer = tls.createServer(certificate, () => undefined);
    const httpServer = http.createServer((_request, response) => response.end('ok'));
    const httpsServer = https.createServer(certificate, (_request, response) => response.end('ok'));
    const h2Server = http2.createSecureServer(certificate, (_request, response) => response.end('ok'));
    const servers = [tcpServer, tlsServer, httpServer, httpsServer, h2Server];
    const [tcpPort, tlsPort, httpPort, httpsPort, h2Port] = await Promise.all(servers.map(listen));
    const httpAgent = new http.Agent({ keepAlive: true });
    const httpsAgent = new https.Agent({ keepAlive: true });

    const tcpClient = net.connect(tcpPort, '127.0.0.1');
    await once(tcpClient, 'connect');
    const tlsClient = tls.connect({ host: '127.0.0.1', port: tlsPort, rejectUnauthorized: false });
    await once(tlsClient, 'secureConnect');
    await get(http, httpPort, httpAgent);
    await get(http, httpPort, httpAgent); // reused keep-alive socket: not a new connection
    await get(https, httpsPort, httpsAgent);
    const h2Client = http2.connect(`https://127.0.0.1:${h2Port}`, { rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      const stream = h2Client.request({ ':path': '/' });
      stream
        .resume()
        .on('end', () => resolve())
        .on('error', reject);
      stream.end();
    });
    await settle();

    // Node 20: tls.connect (and http2.connect, built on it) publish nothing, so of the TLS
    // clients only the https request is seen. From 22 on tls.connect publishes
    // net.client.socket, so all three are (the https one by both channels, counted once).
    const channelsSeeTlsConnect = NODE_MAJOR >= 22;
    expect(tracker.counts().open).toEqual({ tls: { server: 3, client: channelsSeeTlsConnect ? 3 : 1 }, tcp: { server: 2, client: 2 } });
    // track() on what the channels already counted changes nothing (h2Client.socket is a
    // Proxy over the TLSSocket, not the socket itself).
    tracker.track(tlsClient);
    tracker.track(h2Client.socket as tls.TLSSocket);
    tracker.track(tlsClient); // idempotent
    const counts = tracker.counts();
    expect(counts.open).toEqual({ tls: { server: 3, client: 3 }, tcp: { server: 2, client: 2 } });
    expect(counts.opened).toEqual(counts.open);
    expect(counts.totalOpen).toBe(10);
    // The kernel agrees: every ESTABLISHED TCP socket of this process is counted.
    expect(await establishedInKernel()).toBe(counts.totalOpen);

    tcpClient.destroy();
    tlsClient.destroy();
    h2Client.destroy();
    httpAgent.destroy();
    httpsAgent.destroy();
    await settle(300);
    // Clients closed, so the server sides saw FIN and closed too.
    const after = tracker.counts();
    expect(after.totalOpen).toBe(0);
    expect(after.closed).toEqual(after.opened);
    expect(await establishedInKernel()).toBe(0);
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });

  it('track(server) counts its connections without the channels; nothing is counted twice when both see it', async () => {
    const manual = new sp.ConnectionTracker(); // not subscribed
    const accepted: net.Socket[] = [];
    const server = tls.createServer(testCertificate(), (socket) => accepted.push(socket));
    const port = await listen(server);
    manual.track(server);
    manual.track(server);
    const clients: tls.TLSSocket[] = [];
    for (let i = 0; i < 3; i++) {
      const client = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
      await once(client, 'secureConnect');
      clients.push(client);
    }
    await settle();
    // The server-side TLSSocket wraps the raw socket counted on 'connection': same connection.
    for (const socket of accepted) manual.track(socket);
    expect(manual.counts().open).toEqual({ tls: { server: 3, client: 0 }, tcp: { server: 0, client: 0 } });
    manual.start();
    cleanup.push(() => manual.stop());
    const late = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    await once(late, 'secureConnect');
    await settle();
    expect(manual.counts().open.tls.server).toBe(4);
    for (const client of [...clients, late]) client.destroy();
    await settle(300);
    expect(manual.counts().open.tls.server).toBe(0);
    expect(manual.counts().closed.tls.server).toBe(4);
    await new Promise((resolve) => server.close(resolve));
  });

  it('a connection counted as tcp moves to tls when tracked as the TLSSocket over it', async () => {
    const tracker = new sp.ConnectionTracker().start();
    cleanup.push(() => tracker.stop());
    const server = tls.createServer(testCertificate(), () => undefined);
    tracker.stop(); // count only the client side below
    const port = await listen(server);
    tracker.start();
    const raw = net.connect(port, '127.0.0.1');
    await once(raw, 'connect');
    expect(tracker.counts().open.tcp.client).toBe(1);
    const secure = tls.connect({ socket: raw, rejectUnauthorized: false });
    await once(secure, 'secureConnect');
    tracker.track(secure);
    // The server side was counted too (net.server.socket), as tls.
    expect(tracker.counts().open).toEqual({ tls: { server: 1, client: 1 }, tcp: { server: 0, client: 0 } });
    secure.destroy();
    await settle(200);
    expect(tracker.counts().closed.tls.client).toBe(1);
    server.close();
  });

  it('the process-wide tracker: trackConnections(), track(), connectionCounts()', async () => {
    expect(sp.connectionCounts().totalOpen).toBe(0);
    const tracker = sp.trackConnections();
    cleanup.push(() => tracker.stop());
    expect(sp.trackConnections()).toBe(tracker);
    const server = net.createServer(() => undefined);
    const port = await listen(server);
    const client = net.connect(port, '127.0.0.1');
    await once(client, 'connect');
    await settle();
    expect(sp.connectionCounts().open.tcp).toEqual({ server: 1, client: 1 });
    client.destroy();
    await settle(200);
    expect(sp.connectionCounts().open.tcp).toEqual({ server: 0, client: 0 });
    server.close();
  });
});
