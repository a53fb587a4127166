// Cross-compiles the linux-arm64 prebuild on an x86-64 machine: node-gyp with --arch=arm64,
// Debian's aarch64-linux-gnu toolchain and the headers of the official arm64 Node build, in a
// staging directory so the x64 build/ is left as it was. Writes
// prebuilds/linux-arm64/sockprobe.glibc.node (the name prebuildify --napi --tag-libc gives
// the x64 one, so the loader's musl guard reads its libc), stripped like prebuildify --strip, and checks that it is an AArch64 ELF.
//
//   node scripts/prebuild-arm64.mjs [--out <dir>]     (--out: where the .node goes instead)
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CROSS, PINNED_VERSIONS, ensureDebianPackages, installArm64Line } from './arm64-env.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const outIndex = process.argv.indexOf('--out');
const outDir = outIndex === -1 ? join(root, 'prebuilds', 'linux-arm64') : process.argv[outIndex + 1];
// N-API 8 (binding.gyp): the oldest pinned line's headers serve every line.
const HEADERS_VERSION = PINNED_VERSIONS[0];

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
  return result;
}

function stage() {
  const dir = mkdtempSync(join(tmpdir(), 'sockprobe-arm64-'));
  copyFileSync(join(root, 'binding.gyp'), join(dir, 'binding.gyp'));
  mkdirSync(join(dir, 'scripts'));
  copyFileSync(join(root, 'scripts', 'native-sources.js'), join(dir, 'scripts', 'native-sources.js'));
  symlinkSync(join(root, 'native'), join(dir, 'native'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

function checkAarch64(file) {
  const header = run('readelf', ['-h', file], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' }).stdout;
  if (!/Class:\s+ELF64/.test(header) || !/Machine:\s+AArch64/.test(header)) throw new Error(`${file} is not a 64-bit AArch64 ELF:\n${header}`);
}

try {
  ensureDebianPackages({ emulator: false });
  const nodedir = installArm64Line(HEADERS_VERSION, (line) => console.error(`prebuild-arm64: ${line}`));
  const dir = stage();
  try {
    const env = { ...process.env, ...CROSS, npm_config_arch: 'arm64', npm_config_nodedir: nodedir };
    const nodeGyp = join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    run(process.execPath, [nodeGyp, 'rebuild', '--arch=arm64', `--nodedir=${nodedir}`, '--jobs=2'], { cwd: dir, env });
    mkdirSync(outDir, { recursive: true });
    const target = join(outDir, 'sockprobe.glibc.node');
    copyFileSync(join(dir, 'build', 'Release', 'sockprobe.node'), target);
    run('aarch64-linux-gnu-strip', ['--strip-all', target]);
    checkAarch64(target);
    console.log(`prebuild-arm64: ${target} (AArch64, N-API, headers of Node ${HEADERS_VERSION})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} catch (error) {
  console.error(`prebuild-arm64: ${error.message}`);
  process.exit(1);
}
