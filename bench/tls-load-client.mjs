// The load side of the paired CPU benches (bench/openssl.mjs, bench/native-heap.mjs), in its
// own process so the measured server's CPU is its own: TLS handshake loops and bulk senders
// on request over IPC.
import * as tls from 'node:tls';

runClient();

function runClient() {
  const connect = (port) => tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' });
  async function handshakes({ port, concurrency, ms }) {
    const end = Date.now() + ms;
    let done = 0;
    const loop = async () => {
      while (Date.now() < end) {
        await new Promise((resolve) => {
          const socket = connect(port);
          // The server's first byte: in TLS 1.3 the client finishes before the server does,
          // so closing at secureConnect would abort the server's side of the handshake.
          socket.once('data', () => {
            done++;
            socket.destroy();
          });
          socket.once('error', () => socket.destroy());
          socket.once('close', resolve);
        });
      }
    };
    await Promise.all(Array.from({ length: concurrency }, loop));
    return done;
  }
  async function bulk({ port, ms }) {
    const chunk = Buffer.alloc(64 * 1024, 7);
    const socket = connect(port);
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    const end = Date.now() + ms;
    let sent = 0;
    while (Date.now() < end) {
      sent += chunk.length;
      if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
    }
    await new Promise((resolve) => socket.end(resolve));
    return sent;
  }
  process.on('message', async (message) => {
    const result = message.op === 'handshakes' ? await handshakes(message) : await bulk(message);
    process.send({ op: 'done', result });
  });
  process.on('disconnect', () => process.exit(0));
}
