// The measured side of the paired off/on CPU benches (bench/openssl.mjs, bench/native-heap.mjs):
// a TLS server in this process, the load client (tls-load-client.mjs) in a child, and one
// phase of handshakes or bulk transfer measured with the feature on or off.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as tls from 'node:tls';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

const cpuMs = (start) => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};
// The main thread's own CPU time in ns (schedstat: exact, unlike tick-based utime): TLS runs
// there, so this leaves out V8's compiler and GC helper threads.
const mainThreadNs = () => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);

/**
 * setTracking(on) turns the feature under test on or off; allocatorCalls(), when given, counts
 * the allocator calls the feature saw so far (per-handshake and per-MB columns).
 */
export async function startTlsPairedLoad({ roundMs, setTracking, allocatorCalls }) {
  const { testCertificate } = require('../dist/cjs/load/certificate');
  let handshakes = 0;
  let received = 0;
  const server = tls.createServer({ ...testCertificate() }, (socket) => {
    handshakes++;
    socket.write('k');
    socket.on('data', (chunk) => {
      received += chunk.length;
    });
    socket.on('error', () => socket.destroy());
  });
  server.on('tlsClientError', () => undefined);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  const client = fork(fileURLToPath(new URL('./tls-load-client.mjs', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = (message) =>
    new Promise((resolve) => {
      client.once('message', (reply) => resolve(reply.result));
      client.send(message);
    });

  // One phase with the feature on or off: wall time, process and main-thread CPU, and the
  // allocator calls it saw, across `work`.
  async function measured(on, work) {
    setTracking(on);
    const calls = allocatorCalls?.() ?? 0;
    const cpu = process.cpuUsage();
    const thread = mainThreadNs();
    const started = performance.now();
    await work();
    return {
      wallMs: performance.now() - started,
      cpuMs: cpuMs(cpu),
      mainThreadMs: (mainThreadNs() - thread) / 1e6,
      calls: on && allocatorCalls ? allocatorCalls() - calls : null,
    };
  }

  async function handshakePhase(on) {
    const before = handshakes;
    const m = await measured(on, () => ask({ op: 'handshakes', port, concurrency: 8, ms: roundMs }));
    const count = handshakes - before;
    const result = {
      perSecond: (count * 1000) / m.wallMs,
      cpuUsPerHandshake: (m.cpuMs * 1000) / count,
      mainThreadUsPerHandshake: (m.mainThreadMs * 1000) / count,
    };
    if (allocatorCalls) result.allocatorCallsPerHandshake = m.calls === null ? null : m.calls / count;
    return result;
  }

  async function bulkPhase(on) {
    const before = received;
    const m = await measured(on, async () => {
      await ask({ op: 'bulk', port, ms: roundMs });
      while (received - before < 1) await new Promise((resolve) => setTimeout(resolve, 1));
      await new Promise((resolve) => setTimeout(resolve, 20)); // the tail of the stream
    });
    const mb = (received - before) / 1e6;
    const result = { mbPerSecond: mb / (m.wallMs / 1000), cpuMsPerMb: m.cpuMs / mb, mainThreadMsPerMb: m.mainThreadMs / mb };
    if (allocatorCalls) result.allocatorCallsPerMb = m.calls === null ? null : m.calls / mb;
    return result;
  }

  /** Both paths warmed up (JIT, OpenSSL caches; not reported), then `rounds` paired rounds of each
   *  phase: results.handshake.off[round] pairs with .on[round]. */
  async function pairedRounds(rounds) {
    await handshakePhase(false);
    await handshakePhase(true);
    await bulkPhase(false);
    setTracking(false);
    const results = { handshake: { off: [], on: [] }, bulk: { off: [], on: [] } };
    for (let round = 0; round < rounds; round++) {
      for (const on of pairOrder(round)) results.handshake[on ? 'on' : 'off'].push(await handshakePhase(on));
      for (const on of pairOrder(round)) results.bulk[on ? 'on' : 'off'].push(await bulkPhase(on));
    }
    return results;
  }

  const close = () => {
    client.disconnect();
    server.close();
  };
  return { handshakePhase, bulkPhase, pairedRounds, close };
}

/** Off then on in even rounds, on then off in odd ones: drift in machine load falls on both equally. */
export const pairOrder = (round) => (round % 2 === 0 ? [false, true] : [true, false]);
