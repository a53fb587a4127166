/**
 * Child-process entry that opens and holds loopback client connections for the parent:
 * clients live in their own process so the parent's fds and memory measure the server only.
 */
import * as crypto from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ClientKind, FromClient, ToClient } from './protocol';

const sockets = new Set<net.Socket>();
/** Sockets that keep talking: each gets a small message every second, the server echoes it. */
const chattySockets = new Set<net.Socket>();
setInterval(() => {
  for (const socket of chattySockets) socket.write('ping ' + Date.now() + '\n');
}, 1000).unref();
const send = (message: FromClient) => process.send?.(message);

/** An RFC 6455 opening handshake on a connected socket; resolves at the server's 101. */
function upgrade(socket: net.Socket, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n')) return;
      socket.off('data', onData);
      if (/^HTTP\/1\.1 101/.test(head)) resolve();
      else reject(new Error(`no WebSocket upgrade: ${head.split('\r\n')[0]}`));
    };
    socket.on('data', onData);
    const key = crypto.randomBytes(16).toString('base64');
    const request = [`GET / HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${key}`];
    socket.write(`${request.join('\r\n')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  });
}

function connectOne(kind: ClientKind, port: number, chatty: boolean): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const secure = kind === 'tls' || kind === 'wss';
    const socket = secure
      ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' })
      : net.connect({ host: '127.0.0.1', port });
    const ready = secure ? 'secureConnect' : 'connect';
    const keep = () => {
      socket.off('error', reject);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => {
        sockets.delete(socket);
        chattySockets.delete(socket);
      });
      socket.on('data', () => undefined);
      if (chatty && (kind === 'tls' || kind === 'tcp')) chattySockets.add(socket);
      sockets.add(socket);
      resolve(socket);
    };
    socket.once(ready, () => {
      if (kind === 'ws' || kind === 'wss')
        upgrade(socket, port).then(keep, (error: Error) => {
          socket.destroy();
          reject(error);
        });
      else keep();
    });
    socket.once('error', reject);
  });
}

const nearestRank = (sorted: number[], p: number) => sorted[Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length))) - 1];

async function open(message: Extract<ToClient, { op: 'open' }>): Promise<void> {
  let started = 0;
  let failed = 0;
  let lastError: string | undefined;
  const latencies: number[] = [];
  const worker = async () => {
    while (started < message.count) {
      started++;
      const begun = performance.now();
      try {
        await connectOne(message.kind, message.port, message.chatty);
        latencies.push(performance.now() - begun);
      } catch (error) {
        failed++;
        lastError = (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(message.concurrency, message.count)) }, worker));
  latencies.sort((a, b) => a - b);
  const latencyMs = latencies.length ? { p50: nearestRank(latencies, 0.5), p99: nearestRank(latencies, 0.99) } : null;
  send({ op: 'opened', open: sockets.size, failed, lastError, latencyMs });
}

function closeAll(): void {
  const pending = [...sockets];
  if (pending.length === 0) return void send({ op: 'closed', open: 0 });
  let left = pending.length;
  for (const socket of pending) {
    socket.once('close', () => {
      if (--left === 0) send({ op: 'closed', open: sockets.size });
    });
    socket.destroy();
  }
}

process.on('message', (message: ToClient) => {
  if (message.op === 'open') void open(message);
  else if (message.op === 'close') closeAll();
  else if (message.op === 'exit') process.exit(0);
});
process.on('disconnect', () => process.exit(0));
send({ op: 'ready' });
