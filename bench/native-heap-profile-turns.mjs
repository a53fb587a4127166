// What nativeHeap.profile() costs the JS thread: the longest single event-loop turn spent
// inside it, and its total JS-thread CPU time, for a heavy profile (thousands of kept crypto
// hashes, HMACs, ciphers, Buffers, TLS contexts and deflate streams) at 1 KiB and 32 KiB
// sampling. Each trial is a fresh process (this file with `child`), so a run compares this
// checkout with another built copy of sockprobe (--baseline=DIR, e.g. main's dist/ and
// build/Release beside its package.json and binding.gyp) side by side, in alternating order.
//   - longest turn: a setImmediate chain runs while profile() is pending; the longest gap
//     between two of its callbacks is the longest turn anything else on the loop had to wait
//     (an upper bound on profile()'s own longest turn: the gap includes the chain's callback);
//   - JS-thread CPU: the main thread's own CPU time (/proc/self/task/<pid>/schedstat) over a
//     second profile() call with nothing else on the loop: its synchronous part, the
//     completion callback and every continuation (the threadpool's symbolization is not on
//     this thread).
// Usage: npm run build:ts && node bench/native-heap-profile-turns.mjs [rounds=3] [calls=5] [--baseline=DIR] [--json]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
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
        const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), 'child', packages[name], String(sampleBytes), String(calls)], { encoding: 'utf8', maxBuffer: 1 << 24 });
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
      const cpu = trials.flatMap((t) => t.jsThreadMs);
      summary[sampleBytes][name] = {
        sites: range(trials.map((t) => t.sites)),
        frames: range(trials.map((t) => t.frames)),
        longestTurnMs: { median: median(turns), max: Math.max(...turns) },
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
  console.log('| sampleBytes | package | sites | distinct frames | longest turn, median / max | JS-thread CPU per profile(), median / max |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const sampleBytes of SAMPLINGS) {
    for (const name of names) {
      const s = summary[sampleBytes][name];
      console.log(`| ${sampleBytes} | ${name} | ${s.sites} | ${s.frames} | ${ms(s.longestTurnMs.median)} / ${ms(s.longestTurnMs.max)} | ${ms(s.jsThreadMs.median)} / ${ms(s.jsThreadMs.max)} |`);
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
    if (i % 60 === 0) kept.push(zlib.createDeflate(), zlib.createGzip({ level: 1 }), zlib.createBrotliCompress(), new crypto.X509Certificate(cert), crypto.createPrivateKey(key));
  }
  await nativeHeap.profile(); // warm-up: symbol tables read, JIT; not reported
  const longestTurnMs = [];
  const jsThreadMs = [];
  let last;
  for (let call = 0; call < calls; call++) {
    // Longest turn: a setImmediate chain beside the call.
    let longest = 0;
    let pending = true;
    const tick = () => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
      if (pending) setImmediate(tick);
    };
    last = performance.now();
    setImmediate(tick);
    const profile = await nativeHeap.profile();
    pending = false;
    const now = performance.now();
    longestTurnMs.push(Math.max(longest, now - last));
    await new Promise((resolve) => setImmediate(resolve));
    // JS-thread CPU: nothing else on the loop.
    const before = threadCpuNs();
    const again = await nativeHeap.profile();
    jsThreadMs.push((threadCpuNs() - before) / 1e6);
    if (call === calls - 1) {
      const frames = new Set(again.sites.flatMap((site) => site.stack.map((frame) => frame.address)));
      console.log(JSON.stringify({ sampleBytes, sites: again.sites.length, frames: frames.size, totalBytes: again.totalBytes, longestTurnMs, jsThreadMs, keptItems: kept.length, firstSites: profile.sites.length }));
    }
  }
  nativeHeap.stop();
}

// CPU time of the main thread alone, ns (the first field of its schedstat).
function threadCpuNs() {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
}
