/**
 * Runs iproute2's `ss` and parses its one-line-per-socket output (-H no header, -O one line),
 * the independent reference the net tests compare sockprobe against.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SsSocket {
  state: string;
  recvQ: number;
  sendQ: number;
  local: { address: string; port: number };
  peer: { address: string; port: number };
  pid: number | null;
  fd: number | null;
  skmem: Record<string, number> | null;
  /** key:value pairs of -i (cwnd, mss, bytes_acked …) as numbers where they are numbers. */
  info: Record<string, number>;
}

/** ss's state labels as the kernel names them (what sockprobe reports). */
export const SS_STATE: Record<string, string> = {
  ESTAB: 'ESTABLISHED',
  'SYN-SENT': 'SYN_SENT',
  'SYN-RECV': 'SYN_RECV',
  'FIN-WAIT-1': 'FIN_WAIT1',
  'FIN-WAIT-2': 'FIN_WAIT2',
  'TIME-WAIT': 'TIME_WAIT',
  UNCONN: 'CLOSE',
  'CLOSE-WAIT': 'CLOSE_WAIT',
  'LAST-ACK': 'LAST_ACK',
  LISTEN: 'LISTEN',
  CLOSING: 'CLOSING',
};

function endpoint(text: string): { address: string; port: number } {
  const colon = text.lastIndexOf(':');
  const address = text
    .slice(0, colon)
    .replace(/^\[|\]$/g, '')
    .replace(/%.*$/, '');
  return { address, port: text.slice(colon + 1) === '*' ? 0 : Number(text.slice(colon + 1)) };
}

export function parseSs(text: string): SsSocket[] {
  const sockets: SsSocket[] = [];
  for (const line of text.split('\n')) {
    const tokens = line.trim().split(/\s+/);
    if (tokens.length < 5 || !(tokens[0] in SS_STATE)) continue;
    const socket: SsSocket = {
      state: SS_STATE[tokens[0]],
      recvQ: Number(tokens[1]),
      sendQ: Number(tokens[2]),
      local: endpoint(tokens[3]),
      peer: endpoint(tokens[4]),
      pid: null,
      fd: null,
      skmem: null,
      info: {},
    };
    for (const token of tokens.slice(5)) {
      const users = /pid=(\d+),fd=(\d+)/.exec(token);
      if (token.startsWith('users:') && users) {
        socket.pid = Number(users[1]);
        socket.fd = Number(users[2]);
        continue;
      }
      const skmem = /^skmem:\((.*)\)$/.exec(token);
      if (skmem) {
        socket.skmem = {};
        for (const part of skmem[1].split(',')) {
          const [, key, value] = /^([a-z]+)(\d+)$/.exec(part) ?? [];
          if (key) socket.skmem[key] = Number(value);
        }
        continue;
      }
      const pair = /^([a-z_]+):([\d.]+)$/.exec(token);
      if (pair) socket.info[pair[1]] = Number(pair[2]);
      const wscale = /^wscale:(\d+),(\d+)$/.exec(token);
      if (wscale) {
        socket.info.snd_wscale = Number(wscale[1]);
        socket.info.rcv_wscale = Number(wscale[2]);
      }
    }
    sockets.push(socket);
  }
  return sockets;
}

/** `ss -tanHOp [extra]` (all states, numeric, with owning pid/fd), parsed. */
export async function ss(flags: string, filter?: string): Promise<SsSocket[]> {
  const args = [`-${flags}HOp`, 'state', 'all'];
  if (filter) args.push(filter);
  const { stdout } = await run('ss', args, { maxBuffer: 256 * 1024 * 1024 });
  return parseSs(stdout);
}

/** ss's skmem keys under sockprobe's names. */
export const SKMEM_KEYS: Record<string, string> = {
  r: 'rmemAlloc',
  rb: 'rcvbuf',
  t: 'wmemAlloc',
  tb: 'sndbuf',
  f: 'fwdAlloc',
  w: 'wmemQueued',
  o: 'optmem',
  bl: 'backlog',
  d: 'drops',
};

const WILDCARDS = new Set(['*', '0.0.0.0', '::']);
const plain = (address: string) => address.replace(/^::ffff:/, '');

/**
 * The sockets ss attributes to `pid` (users:(pid=…)), plus the inode-less ones (TIME_WAIT,
 * SYN_RECV, orphans) on one of that pid's listening addresses and ports: the rule sockprobe's
 * snapshot documents, applied to ss's independent view.
 */
export function ssSocketsOf(rows: SsSocket[], pid: number): SsSocket[] {
  const owned = rows.filter((row) => row.pid === pid);
  const listeners = owned.filter((row) => row.state === 'LISTEN');
  const onListener = (row: SsSocket) =>
    listeners.some(
      (listener) =>
        listener.local.port === row.local.port && (WILDCARDS.has(listener.local.address) || plain(listener.local.address) === plain(row.local.address)),
    );
  return [...owned, ...rows.filter((row) => row.pid === null && row.state !== 'LISTEN' && onListener(row))];
}

/** Counts per local port and state, in the shape of socketSnapshot().counts.byLocalPort. */
export function countByLocalPort(rows: SsSocket[]): Record<number, Record<string, number>> {
  const counts: Record<number, Record<string, number>> = {};
  for (const row of rows) {
    const port = (counts[row.local.port] ??= {});
    port[row.state] = (port[row.state] ?? 0) + 1;
  }
  return counts;
}
