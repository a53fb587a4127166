// Client half of bench/sockets-compare.cjs: opens N connections to the port, 200 at a time, and holds them.
const net = require('node:net');
const [port, n] = process.argv.slice(2).map(Number);
const h = [];
void (async () => {
  for (let i = 0; i < n; i += 200) {
    await Promise.all(
      Array.from(
        { length: Math.min(200, n - i) },
        () =>
          new Promise((resolve) => {
            const s = net.connect(port, '127.0.0.1', resolve);
            s.on('error', (e) => {
              console.error(e.message);
              resolve();
            });
            h.push(s);
          }),
      ),
    );
  }
  process.send('ok');
})();
process.on('disconnect', () => process.exit(0));
