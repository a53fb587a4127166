import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { ClientKind, FromClient, ToClient } from './protocol';

export interface LoadClients {
  /** Opens `count` more connections to 127.0.0.1:port; resolves with how many the child holds. */
  /** With each batch, its connections' set-up time (connect, handshake, upgrade) at the median and 99th percentile. */
  open(
    kind: ClientKind,
    port: number,
    count: number,
    options?: { concurrency?: number; chatty?: boolean },
  ): Promise<{ open: number; failed: number; lastError?: string; latencyMs: { p50: number; p99: number } | null }>;
  /** Closes every connection the child holds. */
  closeAll(): Promise<void>;
  stop(): Promise<void>;
  readonly pid: number;
}

/** Forks the load-client process (its own fds and memory) and waits until it is ready. */
export function spawnLoadClients(): Promise<LoadClients> {
  const child: ChildProcess = fork(path.join(__dirname, 'client-process.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // The clients must not inherit an allocator preload meant for the process under test.
    env: { ...process.env, LD_PRELOAD: '' },
  });
  const next = (op: FromClient['op']) =>
    new Promise<FromClient>((resolve, reject) => {
      const onMessage = (message: FromClient) => {
        if (message.op !== op) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message);
      };
      const onExit = (code: number | null) => reject(new Error(`load client exited (${code}) while waiting for ${op}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const send = (message: ToClient) => child.send(message);
  return next('ready').then(() => ({
    pid: child.pid ?? -1,
    async open(kind, port, count, options = {}) {
      const reply = next('opened');
      send({ op: 'open', kind, port, count, concurrency: options.concurrency ?? 64, chatty: options.chatty ?? false });
      const message = (await reply) as Extract<FromClient, { op: 'opened' }>;
      return { open: message.open, failed: message.failed, lastError: message.lastError, latencyMs: message.latencyMs };
    },
    async closeAll() {
      const reply = next('closed');
      send({ op: 'close' });
      await reply;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  }));
}
