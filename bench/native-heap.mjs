// Native heap profiling: what it costs a TLS server at the default sampling (512 KiB). One
// run measures, side by side, the profiler off and on, in alternating rounds (off/on, then
// on/off, ...) so drift in machine load falls on both equally:
//   - full TLS 1.3 handshakes (RSA-2048) per second, and server CPU per handshake;
//   - bulk TLS transfer (one connection streaming 64 KiB writes to the server): MB/s and
//     server CPU per MB;
//   - ns per malloc and per free through a loaded object's GOT slots (the path every free
//     pays while the profiler is on), timed by bench/native/heap_bench.cc.
// Server CPU is given twice: the whole process (process.cpuUsage) and the main thread alone
// (schedstat). Clients run in a child process (this file with `client`). The change reported
// is the median over rounds of the paired on/off ratio, with a distribution-free ~95% interval.
// The harness is bench/openssl.mjs's, with the profiler in place of OpenSSL tracking.
// Usage: npm run bench:native-heap -- [roundSeconds=1] [rounds=10] [--json], or after it
// node bench/native-heap.mjs [roundSeconds=1] [rounds=10] [--json]
// (SAMPLE_BYTES=... to measure another sampling interval).
import { createRequire } from 'node:module';
import { pairOrder, startTlsPairedLoad } from './tls-paired-load.mjs';
import { median, reportPaired } from './paired-stats.mjs';

const require = createRequire(import.meta.url);

const JSON_ONLY = process.argv.includes('--json');
const positional = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));

await runBench();

// ---- server process: the measured side -----------------------------------------------------
async function runBench() {
  const { nativeHeap, capabilities, DEFAULT_SAMPLE_BYTES } = require('../dist/cjs');
  // Built by `npm run bench:native-heap` (bench/native/binding.gyp): not part of the package's addon.
  const { heapBenchFrees } = require('./native/build/Release/heap_bench.node');
  const support = capabilities().nativeHeapProfiling;
  if (support !== true) {
    console.log(`native heap profiling unsupported here: ${support}`);
    process.exit(1);
  }
  const sampleBytes = Number(process.env.SAMPLE_BYTES ?? DEFAULT_SAMPLE_BYTES);
  const roundMs = Number(positional[0] ?? 1) * 1000;
  const rounds = Number(positional[1] ?? 10);

  const setTracking = (on) => (on ? nativeHeap.start({ sampleBytes }) : nativeHeap.stop());
  const { pairedRounds, close } = await startTlsPairedLoad({ roundMs, setTracking });
  const results = await pairedRounds(rounds);
  // Per malloc and per free through the bench addon's slots, off and on (paired rounds; in
  // each, the median of 25 batches of 1,000 blocks of 64 bytes: cache-resident memory the
  // allocator reuses, so the figure is the call path itself, not page faults).
  const frees = { off: [], on: [] };
  for (let round = 0; round < rounds; round++) {
    for (const on of pairOrder(round)) {
      setTracking(on);
      const batches = Array.from({ length: 25 }, () => heapBenchFrees(1000, 64));
      frees[on ? 'on' : 'off'].push({ mallocNs: median(batches.map((b) => b[0])), freeNs: median(batches.map((b) => b[1])) });
    }
  }
  results.calls = frees;
  nativeHeap.stop();
  close();

  await reportPaired({ results, rounds, roundMs, settings: { sampleBytes }, jsonOnly: JSON_ONLY });
}
