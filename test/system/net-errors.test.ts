// Bad input to the socket probes: typed errors with stable codes, errno and syscall; numbers
// that are not fds never reach the addon.
import { execFileSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const sp = require('../../dist/cjs/index.js');
const { EBADF, ENOTSOCK, EOPNOTSUPP } = os.constants.errno;

const once = (emitter: NodeJS.EventEmitter, event: string) => new Promise((resolve) => emitter.once(event, resolve));

function thrown(fn: () => unknown): any {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

function expectSyscallError(error: any, code: string, errno: number): void {
  expect(error).toBeInstanceOf(sp.SockprobeError);
  expect({ code: error.code, errno: error.errno, syscall: error.syscall }).toEqual({ code, errno, syscall: 'getsockopt' });
}

describe('tcpInfo bad input', () => {
  const cleanup: Array<() => void> = [];
  afterAll(() => {
    for (const fn of cleanup) fn();
  });

  it('EBADF: destroyed socket, socket not yet connected, server not listening, closed fd', async () => {
    const server = net.createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => server.close());
    const port = (server.address() as net.AddressInfo).port;
    const destroyed = net.connect(port, '127.0.0.1');
    await once(destroyed, 'connect');
    destroyed.destroy();
    expectSyscallError(
      thrown(() => sp.tcpInfo(destroyed)),
      'ERR_SOCKET_CLOSED',
      EBADF,
    );

    const connecting = net.connect(port, '127.0.0.1');
    expectSyscallError(
      thrown(() => sp.tcpInfo(connecting)),
      'ERR_SOCKET_CLOSED',
      EBADF,
    );
    await once(connecting, 'connect');
    connecting.destroy();
    expectSyscallError(
      thrown(() => sp.tcpInfo(new net.Socket())),
      'ERR_SOCKET_CLOSED',
      EBADF,
    );
    expectSyscallError(
      thrown(() => sp.tcpInfo(net.createServer())),
      'ERR_SOCKET_CLOSED',
      EBADF,
    );

    // A number past every open fd (and below the limit) is a closed fd.
    const highest = Math.max(...fs.readdirSync('/proc/self/fd').map(Number));
    expectSyscallError(
      thrown(() => sp.tcpInfo(highest + 500)),
      'ERR_SOCKET_CLOSED',
      EBADF,
    );
  });

  it('ENOTSOCK: a file, and a kernel FIFO', () => {
    const file = fs.openSync(__filename, 'r');
    const fifoPath = path.join(os.tmpdir(), `sockprobe-fifo-${process.pid}`);
    execFileSync('mkfifo', [fifoPath]);
    // O_RDWR on a FIFO does not block on Linux.
    const fifo = fs.openSync(fifoPath, fs.constants.O_RDWR);
    try {
      expectSyscallError(
        thrown(() => sp.tcpInfo(file)),
        'ERR_NOT_A_SOCKET',
        ENOTSOCK,
      );
      expectSyscallError(
        thrown(() => sp.tcpInfo(fifo)),
        'ERR_NOT_A_SOCKET',
        ENOTSOCK,
      );
    } finally {
      fs.closeSync(file);
      fs.closeSync(fifo);
      fs.unlinkSync(fifoPath);
    }
  });

  it('EOPNOTSUPP: Unix-socket (Node "pipe") server and client, UDP', async () => {
    const socketPath = path.join(os.tmpdir(), `sockprobe-${process.pid}.sock`);
    let accepted!: net.Socket;
    const server = net.createServer((socket) => (accepted = socket));
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    cleanup.push(() => server.close());
    const accepting = once(server, 'connection');
    const client = net.connect(socketPath);
    await Promise.all([once(client, 'connect'), accepting]);
    cleanup.push(() => client.destroy());
    for (const target of [server, client, accepted])
      expectSyscallError(
        thrown(() => sp.tcpInfo(target)),
        'ERR_SOCKET_TYPE',
        EOPNOTSUPP,
      );

    const udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    cleanup.push(() => udp.close());
    expectSyscallError(
      thrown(() => sp.tcpInfo(udp)),
      'ERR_SOCKET_TYPE',
      EOPNOTSUPP,
    );
  });

  it('rejects numbers that are not fds, and other values, before they reach the addon', () => {
    // 2^40 would wrap to fd 0 in a C int conversion.
    for (const value of [2 ** 40, 2 ** 31, -1, 1.5, Number.NaN, Infinity]) {
      const error = thrown(() => sp.tcpInfo(value));
      expect(error).toBeInstanceOf(sp.SockprobeTypeError);
      expect(error.code).toBe('ERR_INVALID_ARG_VALUE');
      expect(error.message).toMatch(/^Expected .* for socketOrFd but received number/);
    }
    for (const value of ['3', {}, null, undefined, 3n]) {
      const error = thrown(() => sp.tcpInfo(value));
      expect(error).toBeInstanceOf(sp.SockprobeTypeError);
      expect(error.code).toBe('ERR_INVALID_ARG_TYPE');
    }
    expect(thrown(() => sp.tcpInfo(0, { bigint: 'yes' })).message).toBe('Expected a boolean for options.bigint but received string "yes"');
    expect(thrown(() => sp.tcpInfo(0, 5)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => sp.track({})).code).toBe('ERR_INVALID_ARG_TYPE');
  });

  it('socketSnapshot rejects bad options as a rejected promise', async () => {
    await expect(sp.socketSnapshot({ bigint: 1 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(sp.socketSnapshot('all')).rejects.toBeInstanceOf(sp.SockprobeTypeError);
  });
});
