import type { ConnectionKind } from './server';

/** What the load clients open: the embedded servers' kinds, and WebSocket upgrades over TCP (ws) or TLS (wss). */
export type ClientKind = ConnectionKind | 'ws' | 'wss';

/** Messages between the parent and the load-client child process (over IPC). */
export type ToClient = { op: 'open'; kind: ClientKind; port: number; count: number; concurrency: number; chatty: boolean } | { op: 'close' } | { op: 'exit' };

export type FromClient =
  | { op: 'ready' }
  | { op: 'opened'; open: number; failed: number; lastError?: string; latencyMs: { p50: number; p99: number } | null }
  | { op: 'closed'; open: number };
