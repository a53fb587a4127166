// Where a 10k-socket snapshot's time goes in Node, stage by stage, to set against the same
// native code in a C++ process (bench/sock-diag-compare.cc): the threadpool queue wait, the fd
// scan and the dump (wall and on-CPU time of the threadpool thread), the wait for the JS thread
// to pick the result up, the settle (JS objects from the result), and socketSnapshot()'s JS
// part. Raw socketSnapshotRows and the public socketSnapshot alternate; medians and bests.
// This process holds N server-side connections, a child the clients.
// Usage: npm run build:ts && nice node bench/sockets-gap.cjs [connections=10000] [rounds=15]
const path = require('node:path');
const { holdConnections } = require('./held-connections.cjs');
const os = require('node:os');
const N = Number(process.argv[2] || 10000);
const R = Number(process.argv[3] || 15);
const addon = require(path.join(__dirname, '../build/Release/sockprobe.node'));
const { socketSnapshot } = require(path.join(__dirname, '../dist/cjs/index.js'));
holdConnections(N).then(async (connections) => {
  const load = os.loadavg()[0];
  const raw = {};
  const pub = {};
  const push = (table, key, value) => (table[key] ??= []).push(value);
  for (let i = 0; i < R; i++) {
    const faults = process.resourceUsage().minorPageFault;
    const t0 = performance.now();
    const rows = await addon.socketSnapshotRows(0);
    const t1 = performance.now();
    push(raw, 'total', t1 - t0);
    push(raw, 'minorFaults', process.resourceUsage().minorPageFault - faults);
    for (const key of ['queueWaitNs', 'scanNs', 'scanCpuNs', 'dumpNs', 'dumpCpuNs', 'completeWaitNs', 'settleNs'])
      push(raw, key.replace(/Ns$/, ''), rows[key] / 1e6);
    const snapshot = await socketSnapshot();
    for (const [key, value] of Object.entries(snapshot.timings)) push(pub, key, value);
    if (i === 0) console.log(`N=${N}: rows ${rows.count}, sent ${rows.hostSockets}, dumps ${rows.dumps}, load ${load.toFixed(2)}`);
  }
  const stats = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    return `${sorted[Math.floor(sorted.length / 2)].toFixed(2)} (best ${sorted[0].toFixed(2)})`;
  };
  console.log(`socketSnapshotRows, ${R} rounds, median (best) ms:`);
  for (const [key, values] of Object.entries(raw)) console.log(`  ${key.padEnd(14)} ${stats(values)}`);
  console.log('socketSnapshot() timings:');
  for (const [key, values] of Object.entries(pub)) console.log(`  ${key.padEnd(14)} ${stats(values)}`);
  connections.release();
});
