// Two builds of the addon side by side on the same sockets: raw socketSnapshotRows timings,
// alternating rounds (9), medians. This process holds N server-side connections, a child the clients.
// Usage: cp build/Release/sockprobe.node /tmp/old.node (at the old commit), rebuild, then
//   node bench/sockets-compare.cjs /tmp/old.node [connections=10000]
const path = require('node:path');
const { holdConnections } = require('./held-connections.cjs');
const N = Number(process.argv[3] || 10000);
const oldAddon = require(path.resolve(process.argv[2]));
const newAddon = require(path.join(__dirname, '../build/Release/sockprobe.node'));
holdConnections(N).then(async (connections) => {
  const rows = { old: [], new: [] };
  for (let i = 0; i < 9; i++) {
    for (const [name, addon] of [
      ['old', oldAddon],
      ['new', newAddon],
    ]) {
      const t0 = performance.now();
      const raw = await addon.socketSnapshotRows(0);
      rows[name].push([performance.now() - t0, raw.scanNs / 1e6, raw.dumpNs / 1e6, raw.count, raw.hostSockets]);
    }
  }
  const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  for (const name of ['old', 'new']) {
    const r = rows[name];
    console.log(
      `${name} N=${N}: total ${med(r.map((x) => x[0])).toFixed(2)} ` +
        `scan ${med(r.map((x) => x[1])).toFixed(2)} dump ${med(r.map((x) => x[2])).toFixed(2)} ` +
        `rows ${r[0][3]} sent ${r[0][4]}`,
    );
  }
  connections.release();
});
