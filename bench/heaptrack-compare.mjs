#!/usr/bin/env node
// heaptrack (Debian's, LD_PRELOAD + libunwind, from process start) and sockprobe's sampled native
// heap profile (GOT-patched in the running process) on the same scenario: one big pulse of idle TLS
// connections against the pulse's embedded server. Two fresh processes (the two hook malloc
// differently and must not stack), same size; prints both views of the top call sites per
// connection as markdown.
//   node bench/heaptrack-compare.mjs [connections=2000] [sampleBytes=65536]
// Needs: heaptrack and heaptrack_print (apt-get install heaptrack), a built dist/ (npm run build:ts).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';
import { createRequire } from 'node:module';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist/cjs/cli/main.js');
const require = createRequire(import.meta.url);
const { Profile } = require('pprof-format');
const { isAllocatorFrame } = require(path.join(root, 'dist/cjs/native-heap/diff.js'));
const connections = Number(process.argv[2] ?? 2000);
const sampleBytes = Number(process.argv[3] ?? 65536);
// OpenSSL tracking off in both: under heaptrack's preload it cannot run (heaptrack's malloc has no
// malloc_usable_size), and the same scenario must run in both.
const pulse = ['pulse', '--connections', String(connections), '--big-pulses', '1', '--small-pulses', '0', '--linger', '3000', '--no-release', '--no-openssl'];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockprobe-heaptrack-'));

for (const tool of ['heaptrack', 'heaptrack_print']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`${tool} is not installed: apt-get install heaptrack`);
    process.exit(3);
  }
}

/** heaptrack's units are SI (K = 1000), as its own output shows them. */
function bytesOf(text) {
  const m = /^([\d.]+)([KMG]?)B?$/.exec(text);
  return Number(m[1]) * { '': 1, K: 1e3, M: 1e6, G: 1e9 }[m[2]];
}

// 1. heaptrack: every allocation from the start, the peak's consumers grouped by the allocator's caller.
const traced = spawnSync('heaptrack', ['-o', path.join(dir, 'pulse'), process.execPath, cli, ...pulse], { encoding: 'utf8', cwd: dir, timeout: 600_000 });
if (traced.status !== 0) throw new Error(`heaptrack run failed:\n${traced.stdout}\n${traced.stderr}`);
const data = fs.readdirSync(dir).find((f) => f.startsWith('pulse.'));
const printed = execFileSync(
  'heaptrack_print',
  [
    '-f',
    path.join(dir, data),
    '--print-peaks',
    '1',
    '--print-allocators',
    '0',
    '--print-temporary',
    '0',
    '--print-leaks',
    '0',
    '--print-histogram',
    '0',
    '-n',
    '12',
    '-s',
    '0',
  ],
  { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
);
const peaks = [...printed.matchAll(/^(\S+) peak memory consumed over (\d+) calls from\n(.+)$/gm)].map((m) => ({
  bytes: bytesOf(m[1]),
  calls: Number(m[2]),
  site: m[3].trim(),
}));
const peakTotal = bytesOf(/peak heap memory consumption: (\S+)/.exec(printed)[1]);

// 2. sockprobe: the same pulse, profiled in-process; its per-connection view (top − before) / connections.
const own = spawnSync(
  process.execPath,
  [cli, ...pulse, '--native-profile', '--native-sample-bytes', String(sampleBytes), '--json', '--out', path.join(dir, 'report.html')],
  { encoding: 'utf8', cwd: dir, timeout: 600_000 },
);
if (own.status !== 0) throw new Error(`sockprobe run failed:\n${own.stderr}`);
const result = JSON.parse(own.stdout.trim().split('\n').pop());
const heap = result.nativeHeap;
if (!heap?.perConnection) throw new Error(`sockprobe gave no native heap profile: ${heap?.unavailable ?? 'no pair of profiles'}`);
const per = heap.perConnection;
const otherNative = result.report.perConnection.find((e) => e.layer === 'otherNative' && e.kind === 'tls');

const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
console.log(
  `Node ${process.versions.node} (OpenSSL ${process.versions.openssl}), ${connections} idle TLS ` +
    `server connections, one pulse; ${new Date().toISOString().slice(0, 10)}\n`,
);
console.log(
  `heaptrack: peak heap ${(peakTotal / 1048576).toFixed(1)} MiB. ` +
    `sockprobe: ${kib(per.bytesPerConnection)} per connection (sampled every ${per.sampleBytes} B; ` +
    `the probe's other-native-in-use ` +
    `regression: ${otherNative?.bytesPerConnection ? kib(otherNative.bytesPerConnection) : 'declined'}).\n`,
);
console.log('| heaptrack: peak consumer (allocator caller) | at the peak | calls | ÷ connections |');
console.log('|---|---|---|---|');
for (const p of peaks.slice(0, 10))
  console.log(`| \`${p.site.slice(0, 80)}\` | ${(p.bytes / 1048576).toFixed(2)} MiB | ${p.calls} | ${kib(p.bytes / connections)} |`);
// heaptrack groups its peak consumers by the allocator's caller: group sockprobe's growth profile
// (the .pb.gz the pulse wrote, read back with pprof-format) the same way.
const growth = Profile.decode(zlib.gunzipSync(fs.readFileSync(result.nativeHeapFiles[1])));
const str = (i) => growth.stringTable.strings[Number(i)];
const fnName = new Map(growth.function.map((f) => [Number(f.id), str(f.name)]));
const locName = new Map(growth.location.map((l) => [Number(l.id), fnName.get(Number(l.line[0]?.functionId))]));
const space = growth.sampleType.findIndex((t) => str(t.type) === 'inuse_space');
const callers = new Map();
for (const sample of growth.sample) {
  const names = sample.locationId.map((id) => locName.get(Number(id)));
  const caller = names.find((name) => !isAllocatorFrame(name)) ?? names[0];
  const entry = callers.get(caller) ?? { bytes: 0, label: sample.label.map((l) => str(l.str)).join(',') };
  entry.bytes += Number(sample.value[space]);
  callers.set(caller, entry);
}
console.log('\n| sockprobe: allocator caller (top of pulse − before) | category | per connection |');
console.log('|---|---|---|');
for (const [caller, { bytes, label }] of [...callers].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 10))
  console.log(`| \`${caller.slice(0, 80)}\` | ${label} | ${kib(bytes / per.connections)} |`);
console.log(
  `\nsockprobe by category per connection: ${Object.entries(per.categories)
    .filter(([, v]) => Math.abs(v) >= 512)
    .map(([c, v]) => `${c} ${kib(v)}`)
    .join(', ')}`,
);
if (!process.env.KEEP) fs.rmSync(dir, { recursive: true, force: true });
else console.error(`kept ${dir}`);
