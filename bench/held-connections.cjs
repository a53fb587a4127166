// N loopback connections held by this process (the server side); the clients live in a child
// (bench/sockets-compare-child.cjs), so this process's fd table holds only its own N sockets.
const net = require('node:net');
const path = require('node:path');
const { fork } = require('node:child_process');

/** Resolves once all N are accepted; `release()` closes them, the server and the child. */
function holdConnections(n) {
  const held = [];
  return new Promise((resolve) => {
    const server = net
      .createServer((s) => held.push(s))
      .listen(0, '127.0.0.1', async () => {
        const port = server.address().port;
        const child = fork(path.join(__dirname, 'sockets-compare-child.cjs'), [String(port), String(n)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        await new Promise((r) => child.once('message', r));
        while (held.length < n) await new Promise((r) => setTimeout(r, 10));
        resolve({
          held,
          release() {
            child.disconnect();
            server.close();
            for (const s of held) s.destroy();
          },
        });
      });
  });
}

module.exports = { holdConnections };
