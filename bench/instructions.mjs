// What the native heap profiler or OpenSSL tracking costs a TLS server, counted in instructions
// rather than timed: the paired CPU benches (bench/native-heap.mjs, bench/openssl.mjs) cannot
// resolve 1–2% on a shared 2-core machine, but valgrind's callgrind counts every instruction the
// server process executes, whatever the load. Each run is one server process under callgrind
// (the feature off, or on: the profiler at its default 512 KiB sampling, or OpenSSL tracking)
// doing a fixed amount of work for a client in an untraced child process:
// N full TLS 1.3 handshakes (RSA-2048), or one connection streaming M MB in 64 KiB writes.
// Two amounts per kind, so start-up and teardown cancel: instructions per handshake (or per MB)
// = (I(large) − I(small)) / (large − small), profiler off against on; and the same for the
// instructions of the feature's own code alone (callgrind_annotate's self cost per function),
// which, unlike the whole process's, does not move with V8's GC and JIT threads.
// Usage: npm run build:ts && node bench/instructions.mjs [--feature=native-heap|openssl] [--repeat=N] [--only=bulk|handshake] [--json]
// (needs valgrind; about five minutes per repeat here).
import { spawnSync, fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const self = fileURLToPath(import.meta.url);
const AMOUNTS = { handshake: [60, 240], bulk: [32, 160] };
const UNIT = { handshake: 'handshake', bulk: 'MB' };
// How each feature is switched on in the server, and which functions outside sockprobe.node
// its hooks call on every allocation (their self cost counts as the feature's own, less what
// the off runs spent in them): __tls_get_addr for per-thread state, and for OpenSSL tracking
// malloc_usable_size, which finds each block's trailer.
const FEATURES = {
  'native-heap': {
    start: (sockprobe) => sockprobe.nativeHeap.start(),
    stop: (sockprobe) => sockprobe.nativeHeap.stop(),
    calls: [':__tls_get_addr '],
    label: 'native heap profiler at 512 KiB sampling',
  },
  openssl: {
    start: (sockprobe) => sockprobe.openssl.start(),
    stop: (sockprobe) => sockprobe.openssl.stop(),
    calls: [':__tls_get_addr ', ':malloc_usable_size ', 'malloc_usable_size '],
    label: 'OpenSSL tracking',
  },
};

const [role, ...rest] = process.argv.slice(2);
if (role === 'server') await server(...rest);
else if (role === 'client') await client(...rest);
else driver();

function driver() {
  const json = process.argv.includes('--json');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockprobe-instructions-'));
  const { makeCertificate } = require('../dist/cjs/load/certificate');
  const { key, cert } = makeCertificate();
  fs.writeFileSync(path.join(dir, 'key.pem'), key);
  fs.writeFileSync(path.join(dir, 'cert.pem'), cert);
  const option = (name, fallback) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
  const repeats = Number(option('repeat', 1));
  const feature = option('feature', 'native-heap');
  if (!(feature in FEATURES)) throw new Error(`--feature must be one of ${Object.keys(FEATURES).join(', ')}`);
  const kinds = option('only', Object.keys(AMOUNTS).join(',')).split(',');
  const results = {};
  for (const kind of kinds) {
    results[kind] = { off: [], on: [], changePercent: [], ownPercent: [] };
    // Off and on alternate within each repeat; each repeat gives its own paired estimate.
    for (let repeat = 0; repeat < repeats; repeat++) {
      const perUnit = {};
      const oursPerUnit = {};
      for (const profiler of ['off', 'on']) {
        const [small, large] = AMOUNTS[kind].map((amount) => instructions(dir, profiler === 'on' ? feature : 'off', kind, amount, FEATURES[feature].calls));
        perUnit[profiler] = (large.instructions - small.instructions) / (large.units - small.units);
        oursPerUnit[profiler] = (large.ours - small.ours) / (large.units - small.units);
        results[kind][profiler].push({ small, large, perUnit: perUnit[profiler], oursPerUnit: oursPerUnit[profiler] });
      }
      results[kind].changePercent.push(Math.round(((perUnit.on - perUnit.off) / perUnit.off) * 10000) / 100);
      // The feature's own instructions per unit against the whole server's without it.
      results[kind].ownPercent.push(Math.round(((oursPerUnit.on - oursPerUnit.off) / perUnit.off) * 10000) / 100);
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  if (json) {
    console.log(JSON.stringify({ node: process.versions.node, feature, results }));
    return;
  }
  console.log(`node ${process.version}: instructions of the server process (callgrind), ${FEATURES[feature].label} off and on`);
  for (const [kind, r] of Object.entries(results)) {
    const per = (runs) => runs.map((run) => `${(run.perUnit / 1e6).toFixed(3)} M`).join(', ');
    const signed = (values) => values.map((c) => `${c >= 0 ? '+' : ''}${c}%`).join(', ');
    const own = r.on.map((run, i) => `${Math.round(run.oursPerUnit - r.off[i].oursPerUnit)}`).join(', ');
    console.log(`  per ${UNIT[kind].padEnd(9)} whole process: off ${per(r.off)}  on ${per(r.on)}  change ${signed(r.changePercent)}`);
    console.log(`  per ${UNIT[kind].padEnd(9)} the feature's own code: ${own} instructions = ${signed(r.ownPercent)} of the server's`);
  }
}

// Runs one server under callgrind: the instructions it executed, and the handshakes it
// accepted or the MB it received (as the server counted them).
function instructions(dir, profiler, kind, amount, calls) {
  const out = path.join(dir, `callgrind.${profiler}.${kind}.${amount}`);
  const run = spawnSync(
    'valgrind',
    [
      '--tool=callgrind',
      '--cache-sim=no',
      '--branch-sim=no',
      '--smc-check=all-non-file',
      `--callgrind-out-file=${out}`,
      process.execPath,
      self,
      'server',
      dir,
      profiler,
      kind,
      String(amount),
    ],
    { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 15 * 60_000 },
  );
  const collected = /Collected : (\d+)/.exec(run.stderr ?? '');
  if (run.status !== 0 || !collected || !/^done /m.test(run.stdout)) {
    throw new Error(`server under callgrind failed (${profiler} ${kind} ${amount}): status ${run.status}\n${(run.stderr ?? '').slice(-2000)}\n${run.stdout}`);
  }
  const done = /^done \S+ handshakes=(\d+) bytes=(\d+)/m.exec(run.stdout);
  const result = { instructions: Number(collected[1]), units: kind === 'bulk' ? Number(done[2]) / 1e6 : Number(done[1]), ours: ownInstructions(out, calls) };
  fs.rmSync(out, { force: true });
  return result;
}

// The instructions the feature's own code executed: every function of sockprobe.node (its
// hooks, sampler and tables; callgrind's self cost, so the real malloc a hook calls is not
// counted) plus the functions outside it that its hooks call on every allocation (`calls`:
// other code calls them too, so the off runs' figure is subtracted). Unlike the whole process's count,
// which moves by a few percent between runs with V8's GC and JIT threads, this one does not.
function ownInstructions(file, calls) {
  const run = spawnSync('callgrind_annotate', ['--inclusive=no', '--threshold=100', file], { encoding: 'utf8', maxBuffer: 256 << 20 });
  let ours = 0;
  for (const line of run.stdout.split('\n')) {
    const m = /^\s*([\d,]+)\s+\([^)]*\)\s+(.*)$/.exec(line);
    if (m && (m[2].includes('sockprobe.node]') || calls.some((call) => m[2].includes(call)))) ours += Number(m[1].replace(/,/g, ''));
  }
  return ours;
}

// The measured process: a TLS server, with the feature on or off, until the client is done.
async function server(dir, profiler, kind, amountText) {
  const amount = Number(amountText);
  const sockprobe = require('../dist/cjs');
  const options = { key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) };
  let received = 0;
  let handshakes = 0;
  const tlsServer = tls.createServer(options, (socket) => {
    handshakes++;
    socket.on('data', (chunk) => (received += chunk.length));
    socket.on('error', () => {});
    socket.on('end', () => socket.end());
  });
  await new Promise((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
  FEATURES[profiler]?.start(sockprobe);
  const child = fork(self, ['client', String(tlsServer.address().port), kind, String(amount)], { stdio: 'inherit' });
  const code = await new Promise((resolve) => child.on('exit', resolve));
  FEATURES[profiler]?.stop(sockprobe);
  tlsServer.close();
  console.log(`done ${kind} handshakes=${handshakes} bytes=${received} client=${code}`);
  process.exit(code === 0 ? 0 : 1);
}

// The load, natively (callgrind does not trace children): handshakes four at a time, or bulk.
async function client(portText, kind, amountText) {
  const port = Number(portText);
  const amount = Number(amountText);
  const connect = () => tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' });
  if (kind === 'handshake') {
    let next = 0;
    const one = () =>
      new Promise((resolve, reject) => {
        const socket = connect();
        socket.once('secureConnect', () => socket.end());
        socket.once('error', reject);
        socket.once('close', resolve);
      });
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next++ < amount) await one();
      }),
    );
  } else {
    const socket = connect();
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    const chunk = Buffer.alloc(64 * 1024, 7);
    const writes = (amount * 1e6) / chunk.length;
    for (let i = 0; i < writes; i++) {
      if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
    }
    await new Promise((resolve) => socket.end(resolve));
    await new Promise((resolve) => socket.once('close', resolve));
  }
  process.exit(0);
}
