// Socket probes at scale: this process holds N server-side connections (clients live in a
// child process), then measures, side by side in one run:
//   - tcpInfo() per call from JS (full, and without the queue/skmem syscalls),
//   - socketSnapshot(): time to resolve, its threadpool parts, and the longest event-loop stall
//     while it runs (a setImmediate ticker measures the gaps between loop turns),
//   - `ss -tmin` run as a subprocess, plus parsing its output in JS.
// Usage: npx node-gyp build && npm run build:ts && node bench/sockets.mjs [--connections 10000] [--tls 1000] [--rounds 5]
// (BENCH_VERBOSE=1 prints each snapshot round). The last stdout line is the report as JSON.
// With --scaling: the snapshot and `ss -tmin` + parse side by side as this process holds 1k,
// 10k and 19k connections (--points), and at 1k and 10k (--host-points) again while other
// processes hold 3x as many sockets more (bench/host-sockets-child.cjs), so the host holds 5x
// this process's sockets instead of 2x (the load clients' half).
import { execFile, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';

const require = createRequire(import.meta.url);
const sp = require('../dist/cjs/index.js');
const { startServer } = require('../dist/cjs/load/server.js');
const { spawnLoadClients } = require('../dist/cjs/load/clients.js');
const run = promisify(execFile);

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}
const CONNECTIONS = option('connections', 10_000);
const TLS = Math.min(option('tls', 1_000), CONNECTIONS);
const ROUNDS = option('rounds', 5);
function listOption(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1].split(',').map(Number) : fallback;
}
const SCALING = process.argv.includes('--scaling');
const POINTS = listOption('points', [1_000, 10_000, 19_000]);
const HOST_POINTS = listOption('host-points', [1_000, 10_000]);

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** Runs `work` while a setImmediate ticker records the longest gap between event-loop turns. */
async function withStallMeter(work) {
  let longest = 0;
  let last = nowMs();
  let running = true;
  const tick = () => {
    const now = nowMs();
    longest = Math.max(longest, now - last);
    last = now;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  await new Promise((resolve) => setImmediate(resolve));
  last = nowMs();
  longest = 0;
  const result = await work();
  running = false;
  await new Promise((resolve) => setImmediate(resolve));
  return { result, stallMs: longest };
}

/** `ss -tmin` output: a header line per socket, its -m/-i details on indented lines. */
function parseSsTmin(text) {
  const sockets = [];
  let current = null;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('State')) continue;
    if (line[0] !== ' ' && line[0] !== '\t') {
      const [state, recvQ, sendQ, local, peer] = line.trim().split(/\s+/);
      current = {
        state,
        recvQ: Number(recvQ),
        sendQ: Number(sendQ),
        local,
        peer,
        localPort: Number(local.slice(local.lastIndexOf(':') + 1)),
        skmem: null,
        info: {},
      };
      sockets.push(current);
      continue;
    }
    if (!current) continue;
    for (const token of line.trim().split(/\s+/)) {
      const skmem = /^skmem:\((.*)\)$/.exec(token);
      if (skmem) {
        current.skmem = Object.fromEntries(
          skmem[1].split(',').map((part) => {
            const m = /^([a-z]+)(\d+)$/.exec(part);
            return [m[1], Number(m[2])];
          }),
        );
        continue;
      }
      const pair = /^([a-z_]+):([\d.]+)$/.exec(token);
      if (pair) current.info[pair[1]] = Number(pair[2]);
    }
  }
  return sockets;
}

async function main() {
  const tcpServer = await startServer({ kind: 'tcp' });
  const tlsServer = await startServer({ kind: 'tls' });
  const clients = await spawnLoadClients();
  // The server-side socket objects, to time tcpInfo() with fd resolution from live handles.
  const socketObjects = [];
  tcpServer.server.on('connection', (socket) => socketObjects.push(socket));
  tlsServer.server.on('secureConnection', (socket) => socketObjects.push(socket));
  try {
    const started = nowMs();
    const tcpOpened = await clients.open('tcp', tcpServer.port, CONNECTIONS - TLS, { concurrency: 256 });
    const tlsOpened = TLS > 0 ? await clients.open('tls', tlsServer.port, TLS, { concurrency: 64 }) : { open: tcpOpened.open, failed: 0 };
    await tcpServer.waitForOpen(CONNECTIONS - TLS);
    await tlsServer.waitForOpen(TLS);
    const setupMs = nowMs() - started;
    await new Promise((resolve) => setTimeout(resolve, 500));

    const snapshotForFds = await sp.socketSnapshot();
    const fds = [];
    for (let i = 0; i < snapshotForFds.sockets.length; i++) {
      const fd = snapshotForFds.sockets.fd(i);
      if (fd !== null && snapshotForFds.sockets.stateCode(i) === 1) fds.push(fd);
    }

    // tcpInfo per call: over every held connection, by fd, several rounds.
    const perCall = {};
    const variants = [
      ['full', fds, {}],
      ['tcpInfoOnly', fds, { queues: false, skmem: false }],
      ['fromSocketObjects', socketObjects, {}],
    ];
    for (const [name, targets, options] of variants) {
      for (const target of targets) sp.tcpInfo(target, options); // warm-up: compile the decoder, fault pages in
      const rounds = [];
      for (let round = 0; round < ROUNDS; round++) {
        const t0 = process.hrtime.bigint();
        for (const target of targets) sp.tcpInfo(target, options);
        rounds.push(Number(process.hrtime.bigint() - t0) / 1e3 / targets.length);
      }
      perCall[name] = { calls: targets.length, medianUs: median(rounds), minUs: Math.min(...rounds) };
    }

    // socketSnapshot: total, parts, stall.
    const snapshots = [];
    let last;
    for (let round = 0; round < ROUNDS; round++) {
      const t0 = nowMs();
      const { result, stallMs } = await withStallMeter(() => sp.socketSnapshot());
      if (process.env.BENCH_VERBOSE) console.log(`round ${round}: main thread ${result.timings.mainThreadMs.toFixed(2)} ms, loop gap ${stallMs.toFixed(2)} ms`);
      snapshots.push({
        totalMs: nowMs() - t0,
        stallMs,
        mainThreadMs: result.timings.mainThreadMs,
        scanMs: result.timings.scanMs,
        dumpMs: result.timings.dumpMs,
        rows: result.sockets.length,
        hostSockets: result.hostSockets,
      });
      last = result; // only the last one is kept: retained snapshots would only add GC work
    }
    last.sockets.toArray(); // warm-up: the first build pays for compiling the row code
    const t0 = nowMs();
    const rows = last.sockets.toArray();
    const allRowsMs = nowMs() - t0;
    const baseline = await withStallMeter(() => new Promise((resolve) => setTimeout(resolve, 50)));

    // ss -tmin + parse, the way a service would shell out.
    const ssRuns = [];
    for (let round = 0; round < ROUNDS; round++) {
      const t1 = nowMs();
      const { stdout } = await run('ss', ['-tmin'], { maxBuffer: 1 << 30 });
      const t2 = nowMs();
      const parsed = parseSsTmin(stdout);
      const t3 = nowMs();
      ssRuns.push({ totalMs: t3 - t1, ssMs: t2 - t1, parseMs: t3 - t2, sockets: parsed.length, parsed });
    }
    const ssParsed = ssRuns[ssRuns.length - 1].parsed;

    // Both views agree on the held connections.
    const ours = (port) => last.counts.byLocalPort[port]?.ESTABLISHED ?? 0;
    const theirs = (port) => ssParsed.filter((s) => s.state === 'ESTAB' && s.localPort === port).length;
    const snapshotMs = median(snapshots.map((s) => s.totalMs));
    const ssMs = median(ssRuns.map((s) => s.totalMs));
    const report = {
      connections: {
        requested: CONNECTIONS,
        tcp: tcpOpened.open,
        tls: tlsOpened.open - tcpOpened.open,
        failed: tcpOpened.failed + tlsOpened.failed,
        setupMs: Math.round(setupMs),
      },
      agreement: {
        sockprobeEstablished: ours(tcpServer.port) + ours(tlsServer.port),
        ssEstablished: theirs(tcpServer.port) + theirs(tlsServer.port),
      },
      tcpInfo: { sockets: fds.length, ...perCall },
      socketSnapshot: {
        rows: snapshots[0].rows,
        hostSockets: snapshots[0].hostSockets,
        medianTotalMs: snapshotMs,
        medianScanMs: median(snapshots.map((s) => s.scanMs)),
        medianDumpMs: median(snapshots.map((s) => s.dumpMs)),
        longestStallMs: Math.max(...snapshots.map((s) => s.stallMs)),
        longestMainThreadMs: Math.max(...snapshots.map((s) => s.mainThreadMs)),
        baselineStallMs: baseline.stallMs,
        buildAllRowsMs: allRowsMs,
        builtRows: rows.length,
        fds: last.fds,
      },
      ssTmin: {
        sockets: ssRuns[0].sockets,
        medianTotalMs: ssMs,
        medianSsMs: median(ssRuns.map((s) => s.ssMs)),
        medianParseMs: median(ssRuns.map((s) => s.parseMs)),
      },
      speedup: ssMs / snapshotMs,
    };
    const r2 = (x) => (typeof x === 'number' ? Math.round(x * 100) / 100 : x);
    console.log(
      `connections held: ${report.connections.tcp} tcp + ${report.connections.tls} tls ` +
        `(failed ${report.connections.failed}, setup ${report.connections.setupMs} ms)`,
    );
    console.log(`ESTABLISHED on the servers' ports: sockprobe ${report.agreement.sockprobeEstablished}, ss ${report.agreement.ssEstablished}`);
    console.log(
      `tcpInfo per call (${fds.length} sockets, ${ROUNDS} rounds, median/best round): by ` +
        `fd ${r2(perCall.full.medianUs)}/${r2(perCall.full.minUs)} µs; from socket ` +
        `objects ${r2(perCall.fromSocketObjects.medianUs)}/${r2(perCall.fromSocketObjects.minUs)} µs; ` +
        `tcp_info only (queues, skmem ` +
        `off) ${r2(perCall.tcpInfoOnly.medianUs)}/${r2(perCall.tcpInfoOnly.minUs)} µs`,
    );
    console.log(
      `socketSnapshot: ${r2(snapshotMs)} ms median (fd scan ${r2(report.socketSnapshot.medianScanMs)} ` +
        `ms, sock_diag dump ${r2(report.socketSnapshot.medianDumpMs)} ms, ${report.socketSnapshot.rows} ` +
        `rows of ${report.socketSnapshot.hostSockets} sockets the kernel sent after its port filter); on ` +
        `the event loop at most ${r2(report.socketSnapshot.longestMainThreadMs)} ms of its own work; ` +
        `longest loop gap seen ${r2(report.socketSnapshot.longestStallMs)} ms (idle baseline ` +
        `gap ${r2(baseline.stallMs)} ms: other load on the host); building all ${rows.length} row ` +
        `objects: ${r2(allRowsMs)} ms`,
    );
    console.log(
      `ss -tmin + parse: ${r2(ssMs)} ms median (ss ${r2(report.ssTmin.medianSsMs)} ms, ` +
        `parse ${r2(report.ssTmin.medianParseMs)} ms, ${report.ssTmin.sockets} sockets)`,
    );
    console.log(`snapshot vs ss -tmin + parse: ${r2(report.speedup)}x faster`);
    console.log(JSON.stringify(report, (key, value) => (key === 'parsed' || key === 'snapshot' ? undefined : value)));
  } finally {
    await clients.stop();
    await tcpServer.close();
    await tlsServer.close();
  }
}

const range = (values) => [Math.min(...values), Math.max(...values)];

/** Snapshot and `ss -tmin` + parse, ROUNDS each, alternating so load from other work hits both alike. */
async function measurePoint(label, own, hostFactor) {
  const snapshots = [];
  const ssRuns = [];
  let hostSockets = 0;
  let dump;
  for (let round = 0; round < ROUNDS; round++) {
    const t0 = nowMs();
    const { result, stallMs } = await withStallMeter(() => sp.socketSnapshot());
    snapshots.push({
      totalMs: nowMs() - t0,
      stallMs,
      mainThreadMs: result.timings.mainThreadMs,
      scanMs: result.timings.scanMs,
      dumpMs: result.timings.dumpMs,
      cpuMs: result.timings.cpuMs,
      rows: result.sockets.length,
      sent: result.hostSockets,
    });
    dump = result.dump;
    const t1 = nowMs();
    const { stdout } = await run('ss', ['-tmin'], { maxBuffer: 1 << 30 });
    const parsed = parseSsTmin(stdout);
    ssRuns.push(nowMs() - t1);
    hostSockets = parsed.length;
  }
  const total = snapshots.map((s) => s.totalMs);
  const point = {
    label,
    own,
    hostFactor,
    hostSockets,
    rows: snapshots[0].rows,
    sent: snapshots[0].sent,
    dump,
    snapshotMs: median(total),
    snapshotRange: range(total),
    scanMs: median(snapshots.map((s) => s.scanMs)),
    dumpMs: median(snapshots.map((s) => s.dumpMs)),
    cpuMs: median(snapshots.map((s) => s.cpuMs)),
    mainThreadMs: median(snapshots.map((s) => s.mainThreadMs)),
    mainThreadMaxMs: Math.max(...snapshots.map((s) => s.mainThreadMs)),
    ssMs: median(ssRuns),
    ssRange: range(ssRuns),
  };
  point.speedup = point.ssMs / point.snapshotMs;
  const r1 = (x) => Math.round(x * 10) / 10;
  console.log(
    `| ${label} | ${point.rows} | ${hostSockets} | ${point.sent} | ${r1(point.snapshotMs)} ` +
      `(${r1(point.snapshotRange[0])}–${r1(point.snapshotRange[1])}) | ${r1(point.scanMs)} ` +
      `| ${r1(point.dumpMs)} | ${r1(point.cpuMs)} | ${r1(point.mainThreadMs)} (max ${r1(point.mainThreadMaxMs)}) ` +
      `| ${r1(point.ssMs)} (${r1(point.ssRange[0])}–${r1(point.ssRange[1])}) | ${r1(point.speedup)}× |`,
  );
  return point;
}

/** Other processes holding `sockets` more TCP sockets (both ends of loopback connections). */
async function holdHostSockets(sockets) {
  const children = [];
  let left = Math.ceil(sockets / 2);
  while (left > 0) {
    const connections = Math.min(left, 9_000);
    left -= connections;
    const child = fork(new URL('./host-sockets-child.cjs', import.meta.url).pathname, [String(connections)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`host-sockets child exited (${code})`)));
    });
    children.push(child);
  }
  return () =>
    Promise.all(
      children.map(
        (child) =>
          new Promise((resolve) => {
            child.once('exit', resolve);
            child.disconnect();
          }),
      ),
    );
}

async function scaling() {
  const tcpServer = await startServer({ kind: 'tcp' });
  const tlsServer = await startServer({ kind: 'tls' });
  const clients = await spawnLoadClients();
  const points = [];
  let tcpHeld = 0;
  let tlsHeld = 0;
  console.log(
    `load average ${(await import('node:os'))
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}; node ${process.version}; ${ROUNDS} rounds per point`,
  );
  console.log(
    '| point | rows | host TCP sockets (ss) | sent by the kernel | snapshot ms median (range) | fd ' +
      'scan ms | dump ms | threadpool on-CPU ms | on the loop ms | ss -tmin + parse ms (range) | ratio |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  try {
    for (const own of POINTS) {
      const tls = Math.min(TLS, Math.floor(own / 10));
      await clients.open('tcp', tcpServer.port, own - tls - tcpHeld, { concurrency: 256 });
      if (tls > tlsHeld) await clients.open('tls', tlsServer.port, tls - tlsHeld, { concurrency: 64 });
      tcpHeld = own - tls;
      tlsHeld = Math.max(tls, tlsHeld);
      await tcpServer.waitForOpen(tcpHeld);
      await tlsServer.waitForOpen(tlsHeld);
      await new Promise((resolve) => setTimeout(resolve, 500));
      points.push(await measurePoint(`${own} own, host 2×`, own, 2));
      if (HOST_POINTS.includes(own)) {
        const release = await holdHostSockets(3 * own);
        await new Promise((resolve) => setTimeout(resolve, 500));
        points.push(await measurePoint(`${own} own, host 5×`, own, 5));
        await release();
      }
    }
    const growth = HOST_POINTS.map((own) => {
      const at2 = points.find((p) => p.own === own && p.hostFactor === 2);
      const at5 = points.find((p) => p.own === own && p.hostFactor === 5);
      return at2 && at5 ? { own, snapshotGrowth: at5.snapshotMs / at2.snapshotMs, ssGrowth: at5.ssMs / at2.ssMs } : null;
    }).filter(Boolean);
    for (const g of growth)
      console.log(`host 2x -> 5x at ${g.own} own sockets: snapshot x${g.snapshotGrowth.toFixed(2)}, ss -tmin + parse x${g.ssGrowth.toFixed(2)}`);
    console.log(JSON.stringify({ points, growth }));
  } finally {
    await clients.stop();
    await tcpServer.close();
    await tlsServer.close();
  }
}

(SCALING ? scaling() : main()).catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
