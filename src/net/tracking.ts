/**
 * Live counts of connections by kind (tls/tcp) and side (server/client), from
 * diagnostics_channel plus explicit track() for what the channels miss:
 * - net.server.socket: every accepted connection, TLS/HTTPS/HTTP2 servers included (the raw
 *   socket, before TLS wraps it; its server tells the kind);
 * - net.client.socket: net.connect / net.createConnection (so plain http clients), and from
 *   Node 22 on tls.connect too (so https and http2 clients);
 * - http.client.request.start: https clients (tls.connect publishes nothing in Node 20);
 * - track(): tls.connect sockets on Node 20, or a server / socket on Node versions without the
 *   channels.
 * Each connection is counted once, however many of these see it (keyed by the TCP-level
 * socket, http2's socket Proxy unwrapped), and uncounted on 'close'.
 */
import * as diagnosticsChannel from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { types } from 'node:util';
import { SockprobeTypeError } from '../errors';

export type ConnectionKind = 'tls' | 'tcp';
export type ConnectionSide = 'server' | 'client';
export type SideCounts = Record<ConnectionSide, number>;
export type KindCounts = Record<ConnectionKind, SideCounts>;

export interface ConnectionCounts {
  /** Connections open now. */
  open: KindCounts;
  /** Connections seen since tracking started. */
  opened: KindCounts;
  /** Of those, closed since. */
  closed: KindCounts;
  /** Sum of `open`. */
  totalOpen: number;
}

interface Entry {
  kind: ConnectionKind;
  side: ConnectionSide;
  open: boolean;
}

const zero = (): KindCounts => ({ tls: { server: 0, client: 0 }, tcp: { server: 0, client: 0 } });

interface SocketInternals {
  server?: net.Server;
  _server?: net.Server;
  _parent?: net.Socket | null;
  _tlsOptions?: { isServer?: boolean };
}

const ignore = () => undefined;

/**
 * An http2 session's `socket` is a Proxy over its TLSSocket: another object than the socket
 * net.client.socket publishes (Node 22 on). The Proxy runs EventEmitter methods bound to the
 * real socket, and removeListener returns `this`: the socket itself, with nothing changed.
 */
function unproxied(socket: net.Socket): net.Socket {
  if (!types.isProxy(socket)) return socket;
  const self: unknown = socket.removeListener('close', ignore);
  return self instanceof net.Socket ? self : socket;
}

/** The TCP-level socket of a connection: a TLSSocket over an existing socket wraps that socket. */
function connectionKey(socket: net.Socket): net.Socket {
  const real = unproxied(socket);
  const parent = (real as unknown as SocketInternals)._parent;
  return parent instanceof net.Socket ? parent : real;
}

function sideOf(socket: net.Socket): ConnectionSide {
  const internals = socket as unknown as SocketInternals;
  return internals.server || internals._server || internals._tlsOptions?.isServer ? 'server' : 'client';
}

const CHANNELS = ['net.server.socket', 'net.client.socket', 'http.client.request.start'] as const;

export class ConnectionTracker {
  private entries = new WeakMap<net.Socket, Entry>();
  private tally = { open: zero(), opened: zero(), closed: zero() };
  private readonly trackedServers = new WeakSet<net.Server>();
  private subscribed = false;

  private readonly onServerSocket = (message: unknown) => {
    const socket = (message as { socket?: unknown }).socket;
    if (!(socket instanceof net.Socket)) return;
    const server = (socket as unknown as SocketInternals).server;
    this.register(socket, server instanceof tls.Server ? 'tls' : 'tcp', 'server');
  };
  private readonly onClientSocket = (message: unknown) => {
    const socket = (message as { socket?: unknown }).socket;
    if (socket instanceof net.Socket) this.register(socket, socket instanceof tls.TLSSocket ? 'tls' : 'tcp', 'client');
  };
  private readonly onRequestStart = (message: unknown) => {
    const request = (message as { request?: ClientRequest }).request;
    if (!request) return;
    const take = (socket: unknown) => {
      if (socket instanceof net.Socket) this.register(socket, socket instanceof tls.TLSSocket ? 'tls' : 'tcp', 'client');
    };
    if (request.socket) take(request.socket);
    else request.once('socket', take);
  };

  /** Subscribes to the channels; idempotent. */
  start(): this {
    if (this.subscribed) return this;
    diagnosticsChannel.subscribe(CHANNELS[0], this.onServerSocket);
    diagnosticsChannel.subscribe(CHANNELS[1], this.onClientSocket);
    diagnosticsChannel.subscribe(CHANNELS[2], this.onRequestStart);
    this.subscribed = true;
    return this;
  }

  /** Unsubscribes; connections already counted still count down as they close. */
  stop(): void {
    if (!this.subscribed) return;
    diagnosticsChannel.unsubscribe(CHANNELS[0], this.onServerSocket);
    diagnosticsChannel.unsubscribe(CHANNELS[1], this.onClientSocket);
    diagnosticsChannel.unsubscribe(CHANNELS[2], this.onRequestStart);
    this.subscribed = false;
  }

  get active(): boolean {
    return this.subscribed;
  }

  /**
   * Counts a socket the channels miss (tls.connect), or every connection a server accepts
   * from now on. A connection already counted is not counted again; a TCP connection later
   * found to carry TLS moves to the tls column.
   */
  track(socketOrServer: net.Socket | net.Server): void {
    if (socketOrServer instanceof net.Socket) {
      this.register(socketOrServer, socketOrServer instanceof tls.TLSSocket ? 'tls' : 'tcp', sideOf(socketOrServer));
      return;
    }
    if (socketOrServer instanceof net.Server) {
      const server = socketOrServer;
      if (this.trackedServers.has(server)) return;
      this.trackedServers.add(server);
      const kind: ConnectionKind = server instanceof tls.Server ? 'tls' : 'tcp';
      server.on('connection', (socket: net.Socket) => this.register(socket, kind, 'server'));
      return;
    }
    throw new SockprobeTypeError('socketOrServer', 'a net.Socket, tls.TLSSocket or net.Server', socketOrServer);
  }

  counts(): ConnectionCounts {
    const copy = (counts: KindCounts): KindCounts => ({ tls: { ...counts.tls }, tcp: { ...counts.tcp } });
    const open = copy(this.tally.open);
    return {
      open,
      opened: copy(this.tally.opened),
      closed: copy(this.tally.closed),
      totalOpen: open.tls.server + open.tls.client + open.tcp.server + open.tcp.client,
    };
  }

  /** Forgets every count (open connections are no longer followed). */
  reset(): void {
    this.entries = new WeakMap();
    this.tally = { open: zero(), opened: zero(), closed: zero() };
  }

  private register(socket: net.Socket, kind: ConnectionKind, side: ConnectionSide): void {
    const key = connectionKey(socket);
    const known = this.entries.get(key);
    if (known) {
      if (known.kind === 'tcp' && kind === 'tls') this.reclassify(known, side);
      return;
    }
    const entry: Entry = { kind, side, open: true };
    this.entries.set(key, entry);
    this.tally.opened[kind][side]++;
    this.tally.open[kind][side]++;
    const onClose = () => {
      if (!entry.open) return;
      entry.open = false;
      const counts = this.entries.get(key) === entry ? this.tally : undefined;
      if (!counts) return;
      counts.open[entry.kind][entry.side]--;
      counts.closed[entry.kind][entry.side]++;
    };
    // 'close' fires once; a socket that already emitted it is counted as opened and closed.
    if (key.closed) onClose();
    else key.once('close', onClose);
  }

  private reclassify(entry: Entry, side: ConnectionSide): void {
    this.tally.opened[entry.kind][entry.side]--;
    this.tally.opened.tls[side]++;
    if (entry.open) {
      this.tally.open[entry.kind][entry.side]--;
      this.tally.open.tls[side]++;
    } else {
      this.tally.closed[entry.kind][entry.side]--;
      this.tally.closed.tls[side]++;
    }
    entry.kind = 'tls';
    entry.side = side;
  }
}

let tracker: ConnectionTracker | undefined;

/** The process-wide tracker, subscribed to the channels from this call on. */
export function trackConnections(): ConnectionTracker {
  tracker ??= new ConnectionTracker();
  return tracker.start();
}

/** Counts a socket or a server's connections the channels miss (starts tracking if needed). */
export function track(socketOrServer: net.Socket | net.Server): void {
  trackConnections().track(socketOrServer);
}

/** Live connection counts; all zero until trackConnections() or track() started tracking. */
export function connectionCounts(): ConnectionCounts {
  return (tracker ?? new ConnectionTracker()).counts();
}
