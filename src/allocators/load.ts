/**
 * The load a run puts on the service: the built-in spike (N TLS, TCP or WebSocket connections opened
 * from a child process, held a second, closed) or the user's own command, its output parsed for
 * throughput and latency where it is autocannon's, k6's or a `sockprobe-load` line.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceError, UsageError } from '../cli/args';
import { spawnLoadClients } from '../load/clients';
import type { ClientKind } from '../load/protocol';
import { parseLoadOutput, type LoadFigures } from './load-output';
import { stopGroup, trackGroup, untrackGroup } from './process-group';

export type LoadSpec = { type: 'spike'; client: ClientKind; connections: number; holdMs: number } | { type: 'command'; command: string; timeoutMs: number };

const CLIENT_KINDS: readonly ClientKind[] = ['tls', 'tcp', 'ws', 'wss'];
/** The client child holds every connection's fd: stay well under its open-file limit. */
export const MAX_SPIKE_CONNECTIONS = 20_000;

/** `spike:tls:5000` (tls, tcp, ws, wss) or a command line. */
export function parseLoad(text: string, timeoutMs: number): LoadSpec {
  if (!text.startsWith('spike:')) return { type: 'command', command: text, timeoutMs };
  const [, kind, count] = text.split(':');
  const connections = Number(count);
  if (!CLIENT_KINDS.includes(kind as ClientKind) || !Number.isInteger(connections) || connections < 1 || connections > MAX_SPIKE_CONNECTIONS)
    throw new UsageError(`--load spike:KIND:N takes KIND one of ${CLIENT_KINDS.join(', ')} and N from 1 to ${MAX_SPIKE_CONNECTIONS}, not ${text}`);
  return { type: 'spike', client: kind as ClientKind, connections, holdMs: 1000 };
}

export function describeLoad(load: LoadSpec): string {
  return load.type === 'spike' ? `built-in spike: ${load.connections} ${load.client} connections, held ${load.holdMs / 1000} s, closed` : load.command;
}

async function spike(load: Extract<LoadSpec, { type: 'spike' }>, port: number): Promise<LoadFigures> {
  const clients = await spawnLoadClients();
  try {
    const start = performance.now();
    const opened = await clients.open(load.client, port, load.connections);
    const openMs = performance.now() - start;
    if (opened.open < load.connections)
      throw new ServiceError(
        `the spike opened ${opened.open} of ${load.connections} ${load.client} connections (${opened.failed} failed: ${opened.lastError})`,
      );
    await sleep(load.holdMs);
    await clients.closeAll();
    return {
      throughput: (opened.open / openMs) * 1000,
      throughputUnit: 'conn/s',
      latencyP50Ms: opened.latencyMs?.p50 ?? null,
      latencyP99Ms: opened.latencyMs?.p99 ?? null,
      source: 'built-in spike (connection set-up time)',
    };
  } finally {
    await clients.stop();
  }
}

/** Runs the user's command through sh (its own group, stopped at the timeout); SOCKPROBE_TARGET_PORT names the service's port. */
async function command(load: Extract<LoadSpec, { type: 'command' }>, port: number, directory: string): Promise<LoadFigures> {
  const logFile = path.join(directory, `load.${Date.now().toString(36)}.log`);
  const out = fs.openSync(logFile, 'w');
  const child = spawn('/bin/sh', ['-c', load.command], {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, LD_PRELOAD: '', SOCKPROBE_TARGET_PORT: String(port) },
  });
  fs.closeSync(out);
  if (child.pid !== undefined) trackGroup(child.pid);
  const timer = setTimeout(() => void stopGroup(child.pid!), load.timeoutMs);
  const code = await new Promise<number | string>((resolve) => {
    child.once('error', (error) => resolve(error.message));
    child.once('close', (c, signal) => resolve(c ?? signal ?? 'unknown'));
  });
  clearTimeout(timer);
  if (child.pid !== undefined) {
    await stopGroup(child.pid); // what the command left running in its group
    untrackGroup(child.pid);
  }
  const output = fs.readFileSync(logFile, 'utf8');
  if (code !== 0) throw new ServiceError(`the load command ended with ${code}: ${load.command}\n--- its output (${logFile}) ---\n${output.slice(-2000)}`);
  return parseLoadOutput(output);
}

export function runLoad(load: LoadSpec, port: number, directory: string): Promise<LoadFigures> {
  return load.type === 'spike' ? spike(load, port) : command(load, port, directory);
}
