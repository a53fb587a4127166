#!/usr/bin/env node
// Builds and runs the native unit tests (test/native/*_test.cc): the addon's pure parts (the
// heap profiler's live table, sampler, profile tables and GOT slot scan, the ELF reader)
// compiled with g++ beside the tests, under AddressSanitizer and UBSan, without Node or N-API.
// Also builds the shared objects the ELF tests read. Exits 1 on any failed check.
//   node scripts/native-tests.mjs [name-substring]      (npm run test:native)
// The binary is cached under build/native-tests/ by a hash of every input: a run with nothing
// changed only runs it.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const testDir = path.join(root, 'test', 'native');

// The addon's sources the tests exercise, and what they need to link; nothing here includes napi.h.
const SOURCES = [
  'native/heap/live_table.cc',
  'native/heap/sampler.cc',
  'native/heap/profile_tables.cc',
  'native/heap/got.cc',
  'native/heap/objects.cc',
  'native/heap/maps.cc',
  'native/heap/wrappers.cc',
  'native/common/elf_symbols.cc',
  'native/common/loaded_objects.cc',
];
const TESTS = readdirSync(testDir)
  .filter((file) => file.endsWith('_test.cc') || file === 'main.cc')
  .sort()
  .map((file) => `test/native/${file}`);
const FLAGS = [
  '-std=c++17',
  '-g',
  '-O0',
  '-fno-omit-frame-pointer',
  '-fsanitize=address,undefined',
  '-fno-sanitize-recover=undefined',
  '-Wall',
  '-Wextra',
  '-Wno-unused-parameter',
  '-Inative',
  '-Itest/native',
];

function inputsHash() {
  const hash = createHash('sha256');
  hash.update(execFileSync('g++', ['--version'], { encoding: 'utf8' }));
  hash.update(FLAGS.join(' '));
  const files = [fileURLToPath(import.meta.url)];
  for (const dir of ['native', 'test/native']) {
    for (const file of readdirSync(path.join(root, dir), { recursive: true })) {
      if (/\.(cc|h)$/.test(file)) files.push(path.join(root, dir, file));
    }
  }
  for (const file of files.sort()) hash.update(file).update(readFileSync(file));
  return hash.digest('hex').slice(0, 16);
}

// One g++ per source, as many at once as there are CPUs, then the link.
async function build(binary) {
  const dir = path.dirname(binary);
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  const sources = [...SOURCES, ...TESTS];
  const objects = sources.map((source) => path.join(dir, `${source.replaceAll('/', '_')}.o`));
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < sources.length) {
      const i = next++;
      const result = await new Promise((resolve) => {
        const child = spawn('g++', [...FLAGS, '-c', sources[i], '-o', objects[i]], { cwd: root, stdio: 'inherit' });
        child.on('close', resolve);
        child.on('error', () => resolve(-1));
      });
      if (result !== 0) failed = true;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, availableParallelism()) }, worker));
  const partial = `${binary}.partial`;
  if (failed || spawnSync('g++', [...FLAGS, ...objects, '-o', partial, '-ldl', '-pthread'], { stdio: 'inherit' }).status !== 0) {
    console.error('native tests: the build failed');
    process.exit(1);
  }
  renameSync(partial, binary);
  console.log(`native tests: built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

// The shared object the ELF and GOT tests read, with a build ID; the same without one; a
// stripped copy; its debug-only copy (what a -dbg package ships).
function buildFixtures(dir) {
  const source = path.join(testDir, 'fixture_lib.cc');
  const so = path.join(dir, 'fixture.so');
  execFileSync('g++', ['-O0', '-fPIC', '-shared', '-Wl,--build-id=sha1', '-o', so, source]);
  execFileSync('g++', ['-O0', '-fPIC', '-shared', '-Wl,--build-id=none', '-o', path.join(dir, 'fixture-no-build-id.so'), source]);
  execFileSync('objcopy', ['--strip-all', so, path.join(dir, 'fixture-stripped.so')]);
  execFileSync('objcopy', ['--only-keep-debug', so, path.join(dir, 'fixture.debug')]);
}

const binary = path.join(root, 'build', 'native-tests', inputsHash(), 'native-tests');
if (!existsSync(binary)) {
  // Binaries of earlier inputs are of no further use.
  rmSync(path.dirname(path.dirname(binary)), { recursive: true, force: true });
  await build(binary);
}
const fixtures = mkdtempSync(path.join(tmpdir(), 'sockprobe-native-tests-'));
let status = 1;
try {
  buildFixtures(fixtures);
  const run = spawnSync(binary, [fixtures, ...process.argv.slice(2, 3)], {
    stdio: 'inherit',
    env: {
      ...process.env,
      // A refused malloc must return null (TableBlock's test); any report fails the test.
      ASAN_OPTIONS: 'allocator_may_return_null=1:detect_leaks=1:abort_on_error=0',
      UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
    },
  });
  status = run.status ?? 1;
} finally {
  rmSync(fixtures, { recursive: true, force: true });
}
process.exit(status);
