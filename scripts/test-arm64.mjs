// Runs the arm64 subset of the system tests on this x86-64 machine: vitest runs here, its
// fixtures under the official arm64 Node (qemu-user through binfmt_misc), loading the
// cross-compiled prebuild with the arm64 builds of the allocators preloaded. Installs what is
// missing (qemu-user-static, g++-aarch64-linux-gnu, the binfmt entry, the arm64 Node, the
// allocators' arm64 Debian packages, extracted into the cache), builds the prebuild, then runs.
//
//   npm run test:arm64                       Node 26 (arm64)
//   npm run test:arm64 -- 22 24 26           these lines
//
// What emulation cannot test is named at the start, with why (NOT_UNDER_EMULATION).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PINNED_VERSIONS, SYSROOT, arm64CacheRoot, ensureBinfmt, ensureDebianPackages, installArm64Line } from './arm64-env.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const lineTimeoutMs = Number(process.env.SOCKPROBE_LINE_TIMEOUT_MS) || 12 * 60_000;

// Exact counts, which emulation leaves as they are: capabilities (with the socket probes the
// emulator refuses named as unsupported, and their calls throwing ERR_UNSUPPORTED), OpenSSL bytes against the
// preloaded CRYPTO_set_mem_functions counter, the profile against the allocators' in-use
// counts, GOT slots patched and restored (eager and lazily bound) under churn.
const SUBSET = [
  'test/system/capabilities-platform.test.ts',
  'test/system/openssl-reference.test.ts',
  'test/system/native-heap-accuracy.test.ts',
  'test/system/native-heap-lazy-object.test.ts',
  'test/system/native-heap-safety.test.ts',
];

const NOT_UNDER_EMULATION = [
  [
    'memory-breakdown, release-*, container-*, probe-* RSS checks',
    '/proc/self memory figures (RSS, smaps) are the emulator’s: process.memoryUsage().rss reads 0',
  ],
  ['openssl-crosscheck', 'gdb attaches to the qemu process, not the arm64 guest'],
  [
    'net-* (tcpInfo, socket snapshots)',
    'qemu-user 7.2 copies only 4 bytes of getsockopt(TCP_INFO) (it treats TCP options as ints) and refuses NETLINK_SOCK_DIAG sockets ' +
      '(capabilities() says so and the calls throw ERR_UNSUPPORTED: checked by capabilities-platform); ' +
      'the kernel structures read are the same on both machines',
  ],
  ['everything else', 'about 13x slower than native: the subset is sized to finish in about 12 minutes'],
];

const fail = (message) => {
  console.error(`test:arm64: ${message}`);
  process.exit(2);
};
const log = (line) => console.log(`test:arm64: ${line}`);

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.status !== 0) fail(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
}

/** The arm64 allocators: Debian's arm64 packages, downloaded with apt (multiarch) and extracted. */
function ensureAllocators() {
  const dir = join(arm64CacheRoot(), '..', 'arm64-allocators');
  const libDir = join(dir, 'root', 'usr', 'lib', 'aarch64-linux-gnu');
  const wanted = ['libjemalloc.so.2', 'libtcmalloc_minimal.so.4', 'libmimalloc.so.2'];
  if (wanted.every((file) => existsSync(join(libDir, file)))) return libDir;
  const debs = join(dir, 'debs');
  mkdirSync(debs, { recursive: true });
  const foreign = spawnSync('dpkg', ['--print-foreign-architectures'], { encoding: 'utf8' }).stdout ?? '';
  if (!foreign.split('\n').includes('arm64')) {
    log('adding arm64 to dpkg architectures (for apt-get download of the allocators)');
    run('dpkg', ['--add-architecture', 'arm64']);
    run('apt-get', ['update', '-qq']);
  }
  run('apt-get', ['download', 'libjemalloc2:arm64', 'libtcmalloc-minimal4:arm64', 'libmimalloc2.0:arm64'], { cwd: debs });
  for (const deb of readdirSync(debs).filter((file) => file.endsWith('.deb'))) run('dpkg-deb', ['-x', join(debs, deb), join(dir, 'root')]);
  for (const file of wanted) if (!existsSync(join(libDir, file))) fail(`${file} is not in the arm64 packages`);
  return libDir;
}

function parseLines(argv) {
  const lines = argv.map(
    (arg) => PINNED_VERSIONS.find((v) => v === arg.replace(/^v/, '') || v.split('.')[0] === arg.replace(/^v/, '')) ?? fail(`no pinned line ${arg}`),
  );
  return lines.length ? [...new Set(lines)] : [PINNED_VERSIONS.at(-1)];
}

function runLine(version, packageDir, libDir) {
  const env = {
    ...process.env,
    QEMU_LD_PREFIX: SYSROOT,
    SOCKPROBE_CHILD_NODE: join(packageDir, 'bin', 'node'),
    SOCKPROBE_CHILD_ARCH: 'arm64',
    SOCKPROBE_CHILD_EMULATED: '1',
    SOCKPROBE_CHILD_CC: 'aarch64-linux-gnu-gcc',
    SOCKPROBE_CHILD_CXX: 'aarch64-linux-gnu-g++',
    SOCKPROBE_CHILD_LIBDIR: libDir,
    // node-gyp-build would take build/Release (this machine's x64 build) first.
    PREBUILDS_ONLY: '1',
  };
  log(`Node ${version} (arm64, emulated): vitest run ${SUBSET.join(' ')}`);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...SUBSET], {
      cwd: root,
      env,
      stdio: 'inherit',
      detached: true,
    });
    const timer = setTimeout(() => {
      console.error(`test:arm64: Node ${version} exceeded ${lineTimeoutMs / 1000} s; stopping it`);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, lineTimeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ version, ok: code === 0, outcome: code === 0 ? 'pass' : `fail (${code ?? signal})`, seconds: (Date.now() - started) / 1000 });
    });
  });
}

const lines = parseLines(process.argv.slice(2).filter((arg) => arg !== '--'));
log('not run under emulation, and why:');
for (const [tests, why] of NOT_UNDER_EMULATION) log(`  ${tests}: ${why}`);
try {
  ensureDebianPackages({ log });
  ensureBinfmt();
} catch (error) {
  fail(error.message);
}
const libDir = ensureAllocators();
const installs = new Map(lines.map((version) => [version, installArm64Line(version, log)]));
run('npm', ['run', 'build:ts', '--silent'], { cwd: root });
run(process.execPath, [join(root, 'scripts', 'prebuild-arm64.mjs')], { cwd: root });

const results = [];
for (const version of lines) results.push(await runLine(version, installs.get(version), libDir));
console.log('\ntest:arm64 summary');
for (const { version, outcome, seconds } of results) console.log(`  Node ${version.padEnd(8)} arm64 ${outcome.padEnd(12)} ${seconds.toFixed(1).padStart(7)} s`);
process.exit(results.every((result) => result.ok) ? 0 : 1);
