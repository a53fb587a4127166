// Bound-only TCP sockets (bind() without listen() or connect(): the kernel's BOUND_INACTIVE,
// reported as CLOSE) live in the kernel's bind hash, not its established hash. The snapshot's
// dump on listening ports skips the bind hash (walking it visits every bound socket of the
// host once more); a bound-only socket of ours is found from its fd instead, on a listening
// port of ours (SO_REUSEPORT) as on any other. Node cannot make such a socket, so a small C
// program makes them and execs Node with them open.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PROGRAM = `
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
static int bound(unsigned short port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (bind(fd, (struct sockaddr*)&a, sizeof(a)) != 0) { perror("bind"); exit(1); }
  return fd;
}
static unsigned short port_of(int fd) {
  struct sockaddr_in a;
  socklen_t length = sizeof(a);
  getsockname(fd, (struct sockaddr*)&a, &length);
  return ntohs(a.sin_port);
}
int main(int argc, char** argv) {
  int listener = bound(0);
  if (listen(listener, 16) != 0) { perror("listen"); return 1; }
  int beside = bound(port_of(listener));  // bound-only, on the listener's port
  int alone = bound(0);                   // bound-only, on a port of its own
  char fds[64];
  snprintf(fds, sizeof(fds), "%d,%d,%d", listener, beside, alone);
  setenv("BOUND_FDS", fds, 1);
  execv(argv[1], argv + 1);
  perror("execv");
  return 1;
}
`;

const SCRIPT = `
  const sp = require(process.argv[1]);
  sp.socketSnapshot().then((snapshot) => {
    const rows = snapshot.sockets.toArray().map((row) => ({ state: row.state, fd: row.fd, localPort: row.localPort, side: row.side }));
    process.stdout.write(JSON.stringify({ fds: process.env.BOUND_FDS.split(',').map(Number), rows }));
  });
`;

describe('socketSnapshot of bound-only sockets', () => {
  let dir = '';
  let program = '';

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockprobe-bound-'));
    const source = path.join(dir, 'bound.c');
    fs.writeFileSync(source, PROGRAM);
    program = path.join(dir, 'bound');
    execFileSync('cc', ['-O2', '-o', program, source], { stdio: 'pipe' });
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('finds them by fd, on a listening port of ours and on a port of their own', () => {
    const dist = path.resolve(__dirname, '../../dist/cjs/index.js');
    const output = execFileSync(program, [process.execPath, '-e', SCRIPT, dist], { encoding: 'utf8', timeout: 30_000 });
    const { fds, rows } = JSON.parse(output) as { fds: number[]; rows: Array<{ state: string; fd: number; localPort: number; side: string }> };
    const [listener, beside, alone] = fds;
    const byFd = (fd: number) => rows.filter((row) => row.fd === fd);
    expect(byFd(listener).map((row) => [row.state, row.side])).toEqual([['LISTEN', 'listener']]);
    expect(byFd(beside)).toEqual([{ state: 'CLOSE', fd: beside, localPort: byFd(listener)[0].localPort, side: 'server' }]);
    expect(byFd(alone).map((row) => [row.state, row.side])).toEqual([['CLOSE', 'client']]);
    expect(rows).toHaveLength(3);
  });
});
