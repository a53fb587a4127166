import type { ConnectionKind } from './server';

/** Messages between the parent and the load-client child process (over IPC). */
export type ToClient =
  | { op: 'open'; kind: ConnectionKind; port: number; count: number; concurrency: number; chatty: boolean }
  | { op: 'close' }
  | { op: 'exit' };

export type FromClient = { op: 'ready' } | { op: 'opened'; open: number; failed: number; lastError?: string } | { op: 'closed'; open: number };
