// Another process holding loopback TCP connections to itself (both ends here: 2 sockets per
// connection), so bench/sockets.mjs can grow the host's sockets without touching its own.
// Usage: fork with argv [connections]; sends { open } once they are held, exits on disconnect.
const net = require('node:net');

const wanted = Number(process.argv[2]);
const held = [];
let accepted = 0;
const server = net.createServer((socket) => {
  accepted++;
  held.push(socket);
});
server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  let open = 0;
  for (let i = 0; i < wanted; i += 256) {
    const batch = Array.from(
      { length: Math.min(256, wanted - i) },
      () =>
        new Promise((resolve) => {
          const socket = net.connect(port, '127.0.0.1', () => {
            open++;
            resolve();
          });
          socket.on('error', () => resolve());
          held.push(socket);
        }),
    );
    await Promise.all(batch);
  }
  while (accepted < open) await new Promise((resolve) => setTimeout(resolve, 20));
  process.send({ open });
});
process.on('disconnect', () => process.exit(0));
