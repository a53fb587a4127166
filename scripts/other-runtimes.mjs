// Bun and Deno, the other runtimes that load Node-API addons, pinned and installed from the npm
// registry (their packages carry the official binaries) into a cache outside the work tree:
// ${XDG_CACHE_HOME:-$HOME/.cache}/sockprobe/runtimes/<name>-<version>/, or SOCKPROBE_RUNTIMES_CACHE.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

// Exact versions, so a new release cannot change a result unseen.
export const RUNTIMES = {
  bun: { version: '1.4.5', bin: ['node_modules', '.bin', 'bun'], args: [] },
  deno: { version: '2.9.6', bin: ['node_modules', '.bin', 'deno'], args: ['run', '--allow-all'] },
};

const cacheRoot = () => process.env.SOCKPROBE_RUNTIMES_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sockprobe', 'runtimes');

const versionOf = (bin) => (spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 }).stdout ?? '').match(/(\d+\.\d+\.\d+)/)?.[1];

/** { bin, args, version } of the pinned runtime, installed with `npm i --prefix` when missing. */
export function installRuntime(name, log = (line) => console.error(line)) {
  const { version, bin: binPath, args } = RUNTIMES[name];
  const prefix = join(cacheRoot(), `${name}-${version}`);
  const bin = join(prefix, ...binPath);
  if (!(existsSync(bin) && versionOf(bin) === version)) {
    log(`installing ${name}@${version} into ${prefix}`);
    mkdirSync(prefix, { recursive: true });
    const npm = spawnSync(
      'npm',
      ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', `${name}@${version}`],
      {
        cwd: prefix,
        stdio: ['ignore', 'inherit', 'inherit'],
        timeout: 300_000,
      },
    );
    if (npm.status !== 0) throw new Error(`npm install ${name}@${version} exited with ${npm.status ?? npm.signal}`);
    const installed = versionOf(bin);
    if (installed !== version) throw new Error(`${bin} is ${installed ?? 'missing'} after installing ${name}@${version}`);
  }
  return { bin, args, version };
}
