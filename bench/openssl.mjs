// OpenSSL allocation tracking: what it costs a TLS server. One run measures, side by side,
// tracking off and on, in alternating rounds (off/on, then on/off, ...) so drift in machine
// load falls on both equally:
//   - full TLS 1.3 handshakes (RSA-2048) per second, and server CPU per handshake;
//   - bulk TLS transfer (one connection streaming 64 KiB writes to the server): MB/s and
//     server CPU per MB.
// Server CPU is given twice: the whole process (process.cpuUsage) and the main thread alone,
// where TLS runs (schedstat, exact to the nanosecond, without V8's helper threads).
// Clients run in a child process (this file with `client`), so server CPU is this process's.
// Each round measures off and on back to back; the change reported is the median over
// rounds of the paired on/off ratio, which cancels most background load on a shared box.
// Usage: npm run build:ts && node bench/openssl.mjs [roundSeconds=1] [rounds=10] [--json]
// (--json: only the result, one JSON line on stdout, for bench/lines.mjs).
import { createRequire } from 'node:module';
import { startTlsPairedLoad } from './tls-paired-load.mjs';
import { reportPaired } from './paired-stats.mjs';

const require = createRequire(import.meta.url);

const JSON_ONLY = process.argv.includes('--json');
const positional = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));

await runBench();

// ---- server process: the measured side -----------------------------------------------------
async function runBench() {
  const { openssl, capabilities } = require('../dist/cjs');
  const support = capabilities().opensslTracking;
  if (support !== true) {
    console.log(`OpenSSL tracking unsupported here: ${support}`);
    process.exit(1);
  }
  const roundMs = Number(positional[0] ?? 1) * 1000;
  const rounds = Number(positional[1] ?? 10);

  const setTracking = (on) => (on ? openssl.start() : openssl.stop());
  // OpenSSL allocator calls (malloc + free + realloc) seen by tracking so far in this session.
  const allocatorCalls = () => {
    const stats = openssl.stats();
    return stats.tracking ? stats.allocations + stats.frees + stats.reallocs : 0;
  };
  const { pairedRounds, close } = await startTlsPairedLoad({ roundMs, setTracking, allocatorCalls });
  const results = await pairedRounds(rounds);
  const tracked = openssl.stats();
  openssl.stop();
  close();
  await reportPaired({ results, rounds, roundMs, detail: { lastSession: tracked }, jsonOnly: JSON_ONLY });
}
