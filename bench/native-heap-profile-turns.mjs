// What nativeHeap.profile() costs the JS thread: the longest single event-loop turn spent
// inside it, and its total JS-thread CPU time, for a heavy profile (thousands of kept crypto
// hashes, HMACs, ciphers, Buffers, TLS contexts and deflate streams) at 1 KiB and 32 KiB
// sampling. Each trial is a fresh process (this file with `child`), so a run compares this
// checkout with another built copy of sockprobe (--baseline=DIR, e.g. main's dist/ and
// build/Release beside its package.json and binding.gyp) side by side, in alternating order.
//   - longest turn: a setImmediate chain runs while profile() is pending; the longest gap
//     between two of its callbacks, less the time the JS thread waited for a CPU in that gap
//     (run_delay in /proc/self/task/<pid>/schedstat: this 2-core machine is shared, and a
//     preempted thread is not doing work), is the longest turn anything else on the loop had
//     to wait for (an upper bound on profile()'s own: the gap includes the chain's callback);
//     given twice: as is, and less V8's garbage collection in it (perf_hooks 'gc' entries:
//     the scavenges and mark-compact steps that the profile's new objects, like any, bring);
//   - JS-thread CPU: the main thread's own CPU time (/proc/self/task/<pid>/schedstat) over a
//     second profile() call with nothing else on the loop: its synchronous part, the
//     completion callback and every continuation (the threadpool's symbolization is not on
//     this thread).
// Usage: npm run build:ts && node bench/native-heap-profile-turns.mjs [rounds=3] [calls=5] [--baseline=DIR] [--json]
import { execFileSync } from 'node:child_process';
import { existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { PerformanceObserver } from 'node:perf_hooks';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const SAMPLINGS = [1024, 32 * 1024];

if (process.argv[2] === 'child') await child(process.argv[3], Number(process.argv[4]), Number(process.argv[5]));
else parent();

// ---- parent: fresh processes, baseline and this checkout alternating ------------------------
function parent() {
  const positional = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
  const rounds = Number(positional[0] ?? 3);
  const calls = Number(positional[1] ?? 5);
  const baselineArg = process.argv.find((arg) => arg.startsWith('--baseline='));
  const packages = { current: path.join(here, '..') };
  if (baselineArg) packages.baseline = path.resolve(baselineArg.slice('--baseline='.length));
  const names = Object.keys(packages);
  const results = {};
  for (const sampleBytes of SAMPLINGS) {
    results[sampleBytes] = Object.fromEntries(names.map((name) => [name, []]));
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? names : [...names].reverse();
      for (const name of order) {
        const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), 'child', packages[name], String(sampleBytes), String(calls)], {
          encoding: 'utf8',
          maxBuffer: 1 << 24,
        });
        results[sampleBytes][name].push(JSON.parse(out.trim().split('\n').pop()));
      }
    }
  }
  const summary = {};
  for (const sampleBytes of SAMPLINGS) {
    summary[sampleBytes] = {};
    for (const name of names) {
      const trials = results[sampleBytes][name];
      const turns = trials.flatMap((t) => t.longestTurnMs);
      const lessGc = trials.flatMap((t) => t.longestTurnLessGcMs);
      const idle = trials.flatMap((t) => t.idleLongestTurnMs);
      const cpu = trials.flatMap((t) => t.jsThreadMs);
      const slices = trials.flatMap((t) => t.sliceMs ?? []);
      summary[sampleBytes][name] = {
        decoderSliceMs: slices.length ? { count: slices.length, median: median(slices), max: Math.max(...slices) } : null,
        sites: range(trials.map((t) => t.sites)),
        frames: range(trials.map((t) => t.frames)),
        longestTurnMs: { median: median(turns), max: Math.max(...turns) },
        longestTurnLessGcMs: { median: median(lessGc), max: Math.max(...lessGc) },
        idleLongestTurnMs: { median: median(idle), max: Math.max(...idle) },
        jsThreadMs: { median: median(cpu), max: Math.max(...cpu) },
      };
    }
  }
  const result = { node: process.versions.node, rounds, calls, packages, summary };
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(result));
    return;
  }
  console.log(`node ${process.version}; ${rounds} fresh processes per package and sampling, ${calls} measured profile() calls each (after one warm-up)`);
  console.log(
    '| sampleBytes | package | sites | distinct frames | longest turn, median / max | longest turn ' +
      'less GC, median / max | same chain, nothing running: longest turn | JS-thread CPU per ' +
      'profile(), median / max | decoder slices: count, median / max |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const sampleBytes of SAMPLINGS) {
    for (const name of names) {
      const s = summary[sampleBytes][name];
      console.log(
        `| ${sampleBytes} | ${name} | ${s.sites} | ${s.frames} | ${ms(s.longestTurnMs.median)} ` +
          `/ ${ms(s.longestTurnMs.max)} | ${ms(s.longestTurnLessGcMs.median)} ` +
          `/ ${ms(s.longestTurnLessGcMs.max)} | ${ms(s.idleLongestTurnMs.median)} ` +
          `/ ${ms(s.idleLongestTurnMs.max)} | ${ms(s.jsThreadMs.median)} / ${ms(s.jsThreadMs.max)} ` +
          `| ${s.decoderSliceMs ? `${s.decoderSliceMs.count}, ${ms(s.decoderSliceMs.median)} / ${ms(s.decoderSliceMs.max)}` : 'not sliced'} |`,
      );
    }
  }
  console.log(JSON.stringify({ ...result, perProcess: results }));
}

function ms(value) {
  return `${value.toFixed(2)} ms`;
}
function range(values) {
  return Math.min(...values) === Math.max(...values) ? `${values[0]}` : `${Math.min(...values)}–${Math.max(...values)}`;
}
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// ---- child: one package, one sampling --------------------------------------------------------
async function child(packageDir, sampleBytes, calls) {
  const require = createRequire(path.join(packageDir, 'package.json'));
  const { nativeHeap } = require(path.join(packageDir, 'dist/cjs'));
  const { testCertificate } = require(path.join(here, '..', 'dist/cjs/load/certificate'));
  const crypto = require('node:crypto');
  const tls = require('node:tls');
  const zlib = require('node:zlib');
  const { key, cert } = testCertificate();
  nativeHeap.start({ sampleBytes });
  const kept = [];
  // Many call paths into OpenSSL, V8's ArrayBuffer allocator, zlib and libuv, from many
  // JIT-compiled JS functions: hundreds of distinct stacks of ~40 frames.
  // (Each function is called until V8 compiles it, so its frame is a distinct JIT address.)
  const allocators = Array.from({ length: 1000 }, (_, i) => new Function('size', `return Buffer.allocUnsafeSlow(size + ${i});`));
  for (const allocate of allocators) for (let call = 0; call < 600; call++) allocate(8);
  for (const allocate of allocators) for (let call = 0; call < 4; call++) kept.push(allocate(4096));
  const curves = ['prime256v1', 'secp384r1', 'secp521r1', 'secp256k1'];
  for (let i = 0; i < 3000; i++) {
    kept.push(crypto.createHash(['sha256', 'sha512', 'sha1', 'md5', 'sha3-256'][i % 5]).update(`x${i}`));
    kept.push(crypto.createHmac(['sha256', 'sha384'][i % 2], `k${i}`).update('y'));
    kept.push(Buffer.allocUnsafeSlow(64 + ((i * 977) % 16384)));
    if (i % 3 === 0) kept.push(crypto.createCipheriv('aes-256-gcm', crypto.randomBytes(32), crypto.randomBytes(12)));
    if (i % 15 === 0) kept.push(tls.createSecureContext({ key, cert }));
    if (i % 20 === 0) kept.push(crypto.createECDH(curves[(i / 20) % 4]).generateKeys());
    if (i % 60 === 0)
      kept.push(
        zlib.createDeflate(),
        zlib.createGzip({ level: 1 }),
        zlib.createBrotliCompress(),
        new crypto.X509Certificate(cert),
        crypto.createPrivateKey(key),
      );
  }
  await nativeHeap.profile(); // warm-up: symbol tables read, JIT; not reported
  const gcs = [];
  new PerformanceObserver((list) => gcs.push(...list.getEntries().map((e) => [e.startTime, e.startTime + e.duration]))).observe({ entryTypes: ['gc'] });
  const results = { longestTurnMs: [], longestTurnLessGcMs: [], idleLongestTurnMs: [], jsThreadMs: [] };
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  let profile;
  for (let call = 0; call < calls; call++) {
    const started = performance.now();
    const during = await watchTurns(async () => (profile = await nativeHeap.profile()), gcs);
    // The floor: the same chain as long, with nothing else to do (this machine's own stalls).
    const idle = await watchTurns(() => sleep(performance.now() - started), gcs);
    results.longestTurnMs.push(during.longest);
    results.longestTurnLessGcMs.push(during.lessGc);
    results.idleLongestTurnMs.push(idle.longest);
    // JS-thread CPU, nothing else on the loop. The schedstat figure is brought up to date when
    // the thread sleeps: a short sleep before each read.
    await sleep(5);
    const before = threadCpuNs();
    await nativeHeap.profile();
    await sleep(5);
    results.jsThreadMs.push((threadCpuNs() - before) / 1e6);
  }
  results.sliceMs = await decoderSlices(packageDir, calls);
  const frames = new Set(profile.sites.flatMap((site) => site.stack.map((frame) => frame.address)));
  console.log(
    JSON.stringify({ sampleBytes, sites: profile.sites.length, frames: frames.size, totalBytes: profile.totalBytes, keptItems: kept.length, ...results }),
  );
  nativeHeap.stop();
}

// Each slice the decoder takes on the JS thread, timed by the decoder's own slicer (a package
// whose profile() is not sliced has none): the raw tables from the addon, then decodeProfile
// with a TurnSlicer that notes how long each slice ran before it yielded.
async function decoderSlices(packageDir, calls) {
  const decoder = path.join(packageDir, 'dist/cjs/native-heap/decode.js');
  if (!existsSync(decoder)) return [];
  const require = createRequire(path.join(packageDir, 'package.json'));
  const { decodeProfile } = require(decoder);
  const { TurnSlicer } = require(path.join(packageDir, 'dist/cjs/native-heap/slicer.js'));
  const { native } = require(path.join(packageDir, 'dist/cjs/native.js'));
  const slices = [];
  class TimedSlicer extends TurnSlicer {
    sliceStarted = performance.now();
    async next() {
      slices.push(performance.now() - this.sliceStarted);
      await super.next();
      this.sliceStarted = performance.now();
    }
  }
  for (let call = 0; call < calls; call++) {
    const raw = await native().heapProfile();
    const slicer = new TimedSlicer();
    await decodeProfile(raw, slicer);
    slices.push(performance.now() - slicer.sliceStarted);
  }
  return slices;
}

// The longest turn while `work` runs, as the module comment says: a setImmediate chain,
// each gap less the time the thread waited for a CPU; and that less GC within the gap.
async function watchTurns(work, gcs) {
  let pending = true;
  let last = performance.now();
  let waited = runDelayNs();
  const turns = []; // [start, end, ms on a CPU] of every turn over 0.2 ms
  const turn = () => {
    const now = performance.now();
    const delay = runDelayNs();
    const onCpu = now - last - (delay - waited) / 1e6;
    if (onCpu > 0.2) turns.push([last, now, onCpu]);
    last = now;
    waited = delay;
  };
  const tick = () => {
    turn();
    if (pending) setImmediate(tick);
  };
  setImmediate(tick);
  await work();
  pending = false;
  turn();
  await new Promise((resolve) => setTimeout(resolve, 20)); // the observer's entries
  const gcIn = (start, end) => gcs.reduce((sum, [from, to]) => sum + Math.max(0, Math.min(end, to) - Math.max(start, from)), 0);
  return { longest: Math.max(0, ...turns.map((t) => t[2])), lessGc: Math.max(0, ...turns.map(([start, end, onCpu]) => onCpu - gcIn(start, end))) };
}

// CPU time of the main thread alone, ns (the first field of its schedstat).
function threadCpuNs() {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
}

// Time the main thread has waited, runnable, for a CPU, ns (the second field), read without
// making garbage (the chain calls it every turn: its own scavenges would show as turns).
function runDelayNs() {
  runDelayNs.fd ??= openSync(`/proc/self/task/${process.pid}/schedstat`, 'r');
  runDelayNs.buffer ??= Buffer.alloc(96);
  const { fd, buffer } = runDelayNs;
  const length = readSync(fd, buffer, 0, buffer.length, 0);
  let value = 0;
  for (let at = buffer.indexOf(32) + 1; at < length && buffer[at] !== 32; at++) value = value * 10 + (buffer[at] - 48);
  return value;
}
