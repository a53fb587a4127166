// What one idle TLS server connection costs, layer by layer, measured directly: this process
// holds a fixed number of idle loopback TLS 1.3 server connections (clients in a child
// process), and each layer's change after a full GC, divided by that number, is the cost of
// one connection. Run under any Node line (bench/lines.mjs runs it under each); it answers
// seed 002 without a regression: hold N, read every layer, divide.
//
// Layers and their sources:
//   RSS           VmRSS of /proc/self/status
//   JS heap       process.memoryUsage().heapUsed after a full GC
//   OpenSSL       openssl.stats().liveBytes (tracking started before the first connection)
//   other native  allocatorStats().allocatedBytes − memoryUsage().external − OpenSSL live bytes
//   kernel        socketSnapshot(): skmem of this process's TCP sockets (rmem_alloc +
//                 wmem_queued + fwd_alloc + optmem), i.e. socket buffers, not the socket structs
//
// Two rounds: the first opens N connections into memory never used for connections before
// (what a service pays as it grows), the second opens N again after closing the first and a
// GC (what reuse of retained memory costs: the seed's "5.45 KB after several rounds").
// Usage: npm run build:ts && node bench/idle-tls-memory.mjs [--connections 2000] [--json]
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

const require = createRequire(import.meta.url);
const sp = require('../dist/cjs/index.js');
const { startServer } = require('../dist/cjs/load/server.js');
const { spawnLoadClients } = require('../dist/cjs/load/clients.js');
const { fullGc } = require('../dist/cjs/memory/gc.js');
const { rssBytes } = require('../dist/cjs/memory/proc.js');
const { summariseSnapshot } = require('../dist/cjs/probe/socket-summary.js');

const at = process.argv.indexOf('--connections');
const CONNECTIONS = at > 0 ? Number(process.argv[at + 1]) : 2000;
const JSON_ONLY = process.argv.includes('--json');
// Bytes the tracker adds to every OpenSSL block it counts (a size and a tag after the block):
// they land in "other native", so they are reported beside it.
const TRAILER_BYTES = 16;

const tracking = sp.capabilities().opensslTracking;
if (tracking === true) sp.openssl.start();

/** Every layer, after a full GC whose weak callbacks (native parts of dead sockets) have run. */
async function layers() {
  fullGc();
  await new Promise((resolve) => setImmediate(resolve));
  fullGc();
  const memory = process.memoryUsage();
  const ssl = tracking === true ? sp.openssl.stats() : null;
  const allocated = (await sp.allocatorStatsAsync()).allocatedBytes;
  const kernel = summariseSnapshot(await sp.socketSnapshot(), 0).kernelBytes;
  const openssl = ssl ? ssl.liveBytes : null;
  return {
    rss: rssBytes(),
    jsHeap: memory.heapUsed,
    openssl,
    opensslBlocks: ssl ? ssl.liveAllocations : null,
    otherNative: allocated === null ? null : allocated - memory.external - (openssl ?? 0),
    kernel,
  };
}

function perConnection(before, after, count) {
  const out = {};
  for (const key of Object.keys(before)) out[key] = before[key] === null || after[key] === null ? null : (after[key] - before[key]) / count;
  return out;
}

const server = await startServer({ kind: 'tls' });
const clients = await spawnLoadClients();
async function open(count) {
  const result = await clients.open('tls', server.port, count);
  if (result.open < count) throw new Error(`opened ${result.open} of ${count} TLS connections (${result.failed} failed: ${result.lastError})`);
  await server.waitForOpen(count);
  await sleep(1000); // session tickets sent and read, the connections settle into idleness
}
async function closeAll() {
  await clients.closeAll();
  await server.waitForClosed();
  await sleep(500);
}

let result;
try {
  // Warm-up: first-use code paths, JIT and the server's context, not counted.
  await open(100);
  await closeAll();
  const baseline = await layers();
  await open(CONNECTIONS);
  const first = await layers();
  await closeAll();
  const closed = await layers();
  await open(CONNECTIONS);
  const second = await layers();
  await closeAll();
  const end = await layers();
  const firstPer = perConnection(baseline, first, CONNECTIONS);
  result = {
    node: process.versions.node,
    openssl: process.versions.openssl,
    v8: process.versions.v8,
    allocator: sp.allocator().name,
    opensslTracking: tracking,
    connections: CONNECTIONS,
    perConnection: firstPer,
    trackerTrailerBytesPerConnection: firstPer.opensslBlocks === null ? null : firstPer.opensslBlocks * TRAILER_BYTES,
    secondRoundPerConnection: perConnection(closed, second, CONNECTIONS),
    layers: { baseline, first, closed, second, end },
  };
} finally {
  await clients.stop();
  await server.close();
  if (tracking === true) sp.openssl.stop();
}

if (JSON_ONLY) {
  console.log(JSON.stringify(result));
} else {
  const kib = (bytes) => (bytes === null ? '—' : `${(bytes / 1024).toFixed(2)} KiB`);
  console.log(`Node ${result.node}, OpenSSL ${result.openssl}, V8 ${result.v8}, ${result.allocator}; ${CONNECTIONS} idle TLS server connections`);
  console.log('layer           first round   second round');
  for (const key of ['rss', 'jsHeap', 'openssl', 'otherNative', 'kernel']) {
    console.log(`${key.padEnd(14)} ${kib(result.perConnection[key]).padStart(12)} ${kib(result.secondRoundPerConnection[key]).padStart(14)}`);
  }
  if (tracking !== true) console.log(`OpenSSL tracking unavailable: ${tracking}`);
  console.log(JSON.stringify(result));
}
