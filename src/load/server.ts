import * as net from 'node:net';
import * as tls from 'node:tls';
import { testCertificate } from './certificate';

export type ConnectionKind = 'tls' | 'tcp';

export interface EmbeddedServer {
  kind: ConnectionKind;
  port: number;
  server: net.Server;
  /** Connections accepted (for TLS: handshake finished) and not yet closed. */
  readonly open: number;
  /** Resolves once `count` connections are open (or `timeoutMs` passes: then rejects). */
  waitForOpen(count: number, timeoutMs?: number): Promise<void>;
  /** Resolves once every connection has closed on this side (or `timeoutMs` passes: then rejects). */
  waitForClosed(timeoutMs?: number): Promise<void>;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

/**
 * An embedded loopback server that accepts connections and holds them: idle by default,
 * or echoing what clients send. Binds 127.0.0.1 only.
 */
export function startServer(options: { kind?: ConnectionKind; port?: number; echo?: boolean } = {}): Promise<EmbeddedServer> {
  const kind = options.kind ?? 'tls';
  const sockets = new Set<net.Socket>();
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const closedWaiters: Array<() => void> = [];
  const accept = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      sockets.delete(socket);
      if (sockets.size === 0) for (const resolve of closedWaiters.splice(0)) resolve();
    });
    if (options.echo) socket.on('data', (chunk) => socket.write(chunk));
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (sockets.size >= waiters[i].count) waiters.splice(i, 1)[0].resolve();
    }
  };
  const server = kind === 'tls' ? tls.createServer({ ...testCertificate() }, accept) : net.createServer(accept);
  server.on('tlsClientError', () => undefined);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: options.port ?? 0, backlog: 4096 }, () => {
      server.off('error', reject);
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        kind,
        port,
        server,
        get open() {
          return sockets.size;
        },
        waitForOpen(count, timeoutMs = 60_000) {
          if (sockets.size >= count) return Promise.resolve();
          return new Promise<void>((done, fail) => {
            const timer = setTimeout(() => fail(new Error(`only ${sockets.size} of ${count} connections opened in ${timeoutMs} ms`)), timeoutMs);
            waiters.push({
              count,
              resolve: () => {
                clearTimeout(timer);
                done();
              },
            });
          });
        },
        waitForClosed(timeoutMs = 60_000) {
          if (sockets.size === 0) return Promise.resolve();
          return new Promise<void>((done, fail) => {
            const timer = setTimeout(() => fail(new Error(`${sockets.size} connections still open after ${timeoutMs} ms`)), timeoutMs);
            closedWaiters.push(() => {
              clearTimeout(timer);
              done();
            });
          });
        },
        close() {
          for (const socket of sockets) socket.destroy();
          return new Promise<void>((done) => server.close(() => done()));
        },
      });
    });
  });
}
