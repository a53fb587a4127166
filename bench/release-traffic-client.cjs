// Request traffic through a release, from outside the process under test: a few TLS connections to its
// echo server, each sending a 64-byte request every INTERVAL ms (open loop) and timing its echo (the round trip a
// client sees). Forked with IPC: { op: 'start', port } → { op: 'started' }; { op: 'window', from, to }
// (epoch ms, performance.timeOrigin + now(), comparable across processes) → the round trips of the
// requests sent in it.
const tls = require('node:tls');
const { performance } = require('node:perf_hooks');

const CONNECTIONS = Number(process.env.TRAFFIC_CONNECTIONS ?? 4);
const INTERVAL_MS = Number(process.env.TRAFFIC_INTERVAL_MS ?? 2);
const REQUEST = Buffer.alloc(64, 'r');
const now = () => performance.timeOrigin + performance.now();
/** [sent at (epoch ms), round trip ms] of every answered request; a bench trial lasts seconds. */
const answered = [];

function connection(port) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' });
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      socket.setNoDelay(true);
      // Open loop: a request every INTERVAL ms whatever the server does, so a stall delays every
      // request sent during it (a closed loop would send one and wait, and hide the rest).
      const sent = [];
      let received = 0;
      socket.on('data', (chunk) => {
        received += chunk.length;
        for (; received >= REQUEST.length && sent.length > 0; received -= REQUEST.length) {
          const at = sent.shift();
          answered.push([at, now() - at]);
        }
      });
      setInterval(() => {
        sent.push(now());
        socket.write(REQUEST);
      }, INTERVAL_MS);
      resolve(socket);
    });
  });
}

const quantile = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0);

process.on('message', async (message) => {
  if (message.op === 'start') {
    await Promise.all(Array.from({ length: CONNECTIONS }, () => connection(message.port)));
    process.send({ op: 'started' });
  } else if (message.op === 'window') {
    const rtts = answered
      .filter(([at]) => at >= message.from && at < message.to)
      .map(([, rtt]) => rtt)
      .sort((a, b) => a - b);
    process.send({ op: 'window', count: rtts.length, p50Ms: quantile(rtts, 0.5), p99Ms: quantile(rtts, 0.99), maxMs: rtts.at(-1) ?? 0 });
  }
});
process.on('disconnect', () => process.exit(0));
