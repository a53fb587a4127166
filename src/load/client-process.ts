/**
 * Child-process entry that opens and holds loopback client connections for the parent:
 * clients live in their own process so the parent's fds and memory measure the server only.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { FromClient, ToClient } from './protocol';

const sockets = new Set<net.Socket>();
/** Sockets that keep talking: each gets a small message every second, the server echoes it. */
const chattySockets = new Set<net.Socket>();
setInterval(() => {
  for (const socket of chattySockets) socket.write('ping ' + Date.now() + '\n');
}, 1000).unref();
const send = (message: FromClient) => process.send?.(message);

function connectOne(kind: 'tls' | 'tcp', port: number, chatty: boolean): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      kind === 'tls' ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' }) : net.connect({ host: '127.0.0.1', port });
    const ready = kind === 'tls' ? 'secureConnect' : 'connect';
    socket.once(ready, () => {
      socket.off('error', reject);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => {
        sockets.delete(socket);
        chattySockets.delete(socket);
      });
      socket.on('data', () => undefined);
      if (chatty) chattySockets.add(socket);
      sockets.add(socket);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

async function open(message: Extract<ToClient, { op: 'open' }>): Promise<void> {
  let started = 0;
  let failed = 0;
  let lastError: string | undefined;
  const worker = async () => {
    while (started < message.count) {
      started++;
      try {
        await connectOne(message.kind, message.port, message.chatty);
      } catch (error) {
        failed++;
        lastError = (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(message.concurrency, message.count)) }, worker));
  send({ op: 'opened', open: sockets.size, failed, lastError });
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
