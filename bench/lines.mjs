// Seed 002's question ("how much memory does a TLS connection take, and does it depend on the
// Node version?") answered by sockprobe on every Node line: the machine's Node and the pinned
// official builds (scripts/node-lines.mjs installs them when missing, into the cache test:lines uses). Under each line, in fresh
// processes, one after the other:
//   1. bench/idle-tls-memory.mjs: N idle TLS server connections held, each layer's change / N
//      (RSS, JS heap, OpenSSL, other native, kernel), first round and after reuse;
//   2. `sockprobe pulse --json`: the same figures from the probe's regression over a pulse,
//      as a cross-check of the direct ones;
//   3. bench/openssl.mjs --json: handshakes/s and the paired off/on cost of OpenSSL tracking.
// Prints one markdown table on stdout (progress on stderr).
// Usage: npm run bench:lines [-- 22 26] [--connections 2000] [--rounds 12] [--out results.json]
//        node bench/lines.mjs --from results.json   (the table again from a saved run)
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeLines } from '../scripts/node-lines.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const CONNECTIONS = Number(option('connections', 2000));
const ROUNDS = Number(option('rounds', 12));
const OUT = option('out', null);
const FROM = option('from', null);
const only = args.filter((arg, i) => /^v?\d+(\.\d+\.\d+)?$/.test(arg) && !args[i - 1]?.startsWith('--'));
const AIM = { cpuPerHandshake: 3, cpuPerMb: 1 };
const STEP_TIMEOUT_MS = 5 * 60_000;
const log = (line) => process.stderr.write(`bench:lines: ${line}\n`);

/** Runs a script under one line and returns its last stdout line as JSON. */
function runJson({ bin }, script, scriptArgs, label) {
  const started = Date.now();
  const result = spawnSync(bin, [join(root, script), ...scriptArgs], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: STEP_TIMEOUT_MS,
    killSignal: 'SIGKILL',
    // Anything that runs `node` by name gets this line too (children use process.execPath).
    env: { ...process.env, PATH: `${dirname(bin)}${delimiter}${process.env.PATH ?? ''}` },
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const last = result.stdout?.trim().split('\n').at(-1) ?? '';
  if (result.status !== 0 || !last.startsWith('{')) {
    const why = result.error?.message ?? `exit ${result.status ?? result.signal}`;
    log(`  ${label} failed after ${seconds} s (${why}):\n${result.stdout ?? ''}${result.stderr ?? ''}`);
    return { failed: `${why}: ${(result.stdout + result.stderr).trim().split('\n').at(-1)}` };
  }
  log(`  ${label}: ${seconds} s`);
  return JSON.parse(last);
}

function measureLine(line) {
  log(`Node ${line.version} (${line.bin})`);
  const started = Date.now();
  const direct = runJson(line, 'bench/idle-tls-memory.mjs', ['--json', '--connections', String(CONNECTIONS)], `${CONNECTIONS} idle connections held`);
  const pulse = runJson(
    line,
    'dist/cjs/cli/main.js',
    ['pulse', '--json', '--connections', String(CONNECTIONS), '--small-pulses', '1', '--linger', '1000', '--gap', '1000', '--no-release'],
    'pulse',
  );
  const overhead = runJson(line, 'bench/openssl.mjs', ['1', String(ROUNDS), '--json'], `OpenSSL tracking cost, ${ROUNDS} paired rounds`);
  const seconds = (Date.now() - started) / 1000;
  log(`  Node ${line.version}: ${seconds.toFixed(0)} s in all`);
  return { ...line, seconds, measuredAt: new Date().toISOString(), direct, pulse, overhead };
}

// ---- the table ----------------------------------------------------------------------------
const LAYERS = ['rss', 'jsHeap', 'openssl', 'otherNative', 'kernel'];
const kib = (bytes) => (bytes === null || bytes === undefined || !Number.isFinite(bytes) ? '—' : (bytes / 1024).toFixed(1).replace('-', '−'));
const signed = (percent) => `${percent >= 0 ? '+' : '−'}${Math.abs(percent).toFixed(1)}%`;
const versionsOf = (r) => (r.direct.node ? r.direct : r.overhead.node ? r.overhead : { node: r.version, openssl: '?', v8: '?' });

const pulseEstimate = (r, layer) => (r.pulse.failed ? null : (r.pulse.report.perConnection.find((e) => e.kind === 'tls' && e.layer === layer) ?? null));
const pulseFit = (r, layer) => pulseEstimate(r, layer)?.bytesPerConnection ?? null;

function layerCell(r, layer) {
  const direct = r.direct.failed ? null : r.direct.perConnection[layer];
  if (layer === 'openssl' && !r.direct.failed && r.direct.opensslTracking !== true) return `— (${r.direct.opensslTracking})`;
  return `${kib(direct)} (${kib(pulseFit(r, layer))})`;
}

/**
 * The server's CPU change with its ~95% interval: met when the whole interval is within the aim,
 * not met when all of it is above, else the run could not tell (the noise of a shared machine).
 */
function overheadCell(r, [phase, metric], aim) {
  if (r.overhead.failed) return `— (${r.overhead.failed})`;
  const { changePercent: change, changePercent95: interval } = r.overhead.summary[phase][metric];
  if (!interval) return `${signed(change)} (too few rounds to judge)`;
  const verdict = interval[1] <= aim ? 'met' : interval[0] > aim ? '**not met**' : 'not resolved';
  return `${signed(change)} [${signed(interval[0])}, ${signed(interval[1])}] ${verdict}`;
}

function table(results) {
  const rows = [
    '| Node | OpenSSL | V8 | RSS | JS heap | OpenSSL | other native | kernel | RSS, 2nd round | ' +
      'handshakes/s | tracking: CPU per handshake (aim ≤ 3%) | tracking: CPU per MB (aim ≤ 1%) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const v = versionsOf(r);
    const cells = [
      v.node,
      v.openssl,
      v.v8,
      ...LAYERS.map((layer) => layerCell(r, layer)),
      r.direct.failed ? '—' : kib(r.direct.secondRoundPerConnection.rss),
      r.overhead.failed ? '—' : r.overhead.summary.handshake.perSecond.off.toFixed(0),
      overheadCell(r, ['handshake', 'cpuUsPerHandshake'], AIM.cpuPerHandshake),
      overheadCell(r, ['bulk', 'cpuMsPerMb'], AIM.cpuPerMb),
    ];
    rows.push(`| ${cells.join(' | ')} |`);
  }
  return rows.join('\n');
}

function notes(results) {
  const ok = results.filter((r) => !r.direct.failed);
  const trailers = ok.map((r) => `${r.direct.node}: ${kib(r.direct.trackerTrailerBytesPerConnection)} KiB`).join(', ');
  const connections = results.find((r) => !r.direct.failed)?.direct.connections ?? CONNECTIONS;
  const rounds = results.find((r) => !r.overhead.failed)?.overhead.rounds ?? ROUNDS;
  const fits = results.filter((r) => !r.pulse.failed);
  const quality = (layers) => {
    const r2 = fits.flatMap((r) => layers.map((layer) => pulseEstimate(r, layer)?.quality)).filter((q) => typeof q === 'number');
    return r2.length ? `${Math.min(...r2).toFixed(2)}–${Math.max(...r2).toFixed(2)}` : '—';
  };
  const declined = fits.flatMap((r) =>
    LAYERS.map((layer) => [r, layer, pulseEstimate(r, layer)?.declined])
      .filter(([, , why]) => why)
      .map(([r, layer, why]) => `${r.version} ${layer}: ${why}`),
  );
  const measured = results.filter((r) => !r.overhead.failed);
  const mainThread = measured
    .map(
      (r) =>
        `${r.overhead.node}: ${signed(r.overhead.summary.handshake.mainThreadUsPerHandshake.changePercent)} / ` +
        signed(r.overhead.summary.bulk.mainThreadMsPerMb.changePercent),
    )
    .join(', ');
  const calls = measured
    .map(
      (r) =>
        `${r.overhead.node}: ${r.overhead.summary.handshake.allocatorCallsPerHandshake.on.toFixed(0)} ` +
        `/ ${r.overhead.summary.bulk.allocatorCallsPerMb.on.toFixed(0)}`,
    )
    .join(', ');
  return [
    '',
    `Per idle TLS 1.3 server connection, KiB: ${connections} loopback connections held, each ` +
      `layer's change after a full GC divided by ${connections} (in parentheses: the probe's ` +
      `per-connection fit over a \`sockprobe pulse --connections ${connections}\`, without forced GCs; ` +
      `RSS there is read on rising edges only; R² ${quality(['rss', 'openssl', 'otherNative'])} for ` +
      `RSS, OpenSSL and other native, ${quality(['jsHeap'])} for the JS heap, which GC moves between ` +
      `samples).`,
    ...(declined.length ? [`Pulse fits declined (shown as —): ${declined.join('; ')}.`] : []),
    '"RSS, 2nd round": the same connections opened again after the first ones closed (memory the process already holds is reused).',
    '"other native" is what the allocator counts as in use (malloc\'d), less external memory and ' +
      'OpenSSL; blocks not yet touched are not resident, so it can exceed the RSS it costs. It ' +
      "includes the tracker's 16-byte trailer on each live OpenSSL block (" +
      trailers +
      ').',
    '"kernel": skmem buffers of the server sockets (an idle socket holds none); the socket ' +
      'structures themselves are kernel slab memory no per-socket figure reports.',
    `Tracking cost: median over ${rounds} rounds of the paired on/off ratio of the server's CPU ` +
      `(process) per full handshake (RSA-2048, 8 concurrent clients) and per MB of bulk TLS (one ` +
      `connection streaming 64 KiB writes); in brackets the median's ~95% interval (order statistics ` +
      `of the paired ratios). The main thread alone, where TLS runs (handshake / MB): ${mainThread}. ` +
      `OpenSSL allocator calls tracking sees per handshake / per MB: ${calls}.`,
    `handshakes/s with tracking off, clients on the same 2 cores. ` +
      `Measured ${(results.at(-1).measuredAt ?? new Date().toISOString()).slice(0, 16).replace('T', ' ')} UTC, ` +
      `${results.map((r) => `${r.version} in ${r.seconds.toFixed(0)} s`).join(', ')}.`,
  ].join('\n');
}

let results;
if (FROM) {
  results = JSON.parse(readFileSync(FROM, 'utf8'));
} else {
  const lines = nodeLines({ only, log });
  log(`lines: ${lines.map((l) => l.version).join(', ')}; ${CONNECTIONS} connections, ${ROUNDS} paired rounds`);
  results = lines.map(measureLine);
  if (OUT) writeFileSync(OUT, JSON.stringify(results, null, 2));
}
console.log(table(results));
console.log(notes(results));
process.exitCode = results.some((r) => r.direct.failed || r.pulse.failed || r.overhead.failed) ? 1 : 0;
