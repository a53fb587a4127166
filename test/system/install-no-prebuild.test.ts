// `npm install sockprobe` where no prebuild matches (musl, ppc64, a future Node ABI...): the
// install must never fail the service's own install. The tarball is packed without prebuilds
// (no prepack: dist/ is the one built for the other system tests) and installed offline, with
// an empty npm cache, into projects that already hold sockprobe's dependencies:
//   (a) PATH holds only node, npm and sh: no python3, make or g++ to build with;
//   (b) the machine's PATH: it builds from source, as node-gyp-build did.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root } from '../helpers/child';

const DEPENDENCIES = ['node-gyp-build', 'node-addon-api', 'pprof-format', '@types/node', 'undici-types'];
type Sweep = Record<string, string>;

describe('installing where no prebuild matches', () => {
  let dir: string;
  let tarball: string;
  let bareBin: string;

  /** A project holding sockprobe's dependencies, copied from ours, so that npm needs no registry. */
  function project(name: string): string {
    const at = path.join(dir, name);
    const dependencies: Record<string, string> = {};
    for (const dependency of DEPENDENCIES) {
      fs.cpSync(path.join(root, 'node_modules', dependency), path.join(at, 'node_modules', dependency), { recursive: true });
      const manifest = JSON.parse(fs.readFileSync(path.join(at, 'node_modules', dependency, 'package.json'), 'utf8'));
      dependencies[dependency] = manifest.version;
      // npm reinstalls (from the registry) a package whose bin links are missing.
      const bins: Record<string, string> = typeof manifest.bin === 'string' ? { [manifest.name]: manifest.bin } : (manifest.bin ?? {});
      fs.mkdirSync(path.join(at, 'node_modules', '.bin'), { recursive: true });
      for (const [bin, file] of Object.entries(bins)) fs.symlinkSync(path.join('..', dependency, file), path.join(at, 'node_modules', '.bin', bin));
    }
    fs.writeFileSync(path.join(at, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, dependencies }));
    return at;
  }

  function install(at: string, PATH: string, env: Record<string, string> = {}) {
    const args = ['install', '--offline', '--cache', path.join(at, '.npm-cache'), '--no-audit', '--no-fund', '--foreground-scripts', tarball];
    const npm = path.join(path.dirname(fs.realpathSync(execFileSync('which', ['npm'], { encoding: 'utf8' }).trim())), 'npm-cli.js');
    return spawnSync(process.execPath, [npm, ...args], { cwd: at, env: { HOME: os.homedir(), PATH, ...env }, encoding: 'utf8', timeout: 200_000 });
  }

  function sweep(at: string, PATH: string): Sweep {
    const child = spawnSync(process.execPath, [path.join(root, 'test', 'fixtures', 'api-sweep.js'), at], {
      cwd: at,
      env: { HOME: os.homedir(), PATH },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.status, child.stderr).toBe(0);
    return JSON.parse(child.stdout.trim().split('\n').pop()!);
  }

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockprobe-install-'));
    const source = path.join(dir, 'source');
    const skip = new Set(['node_modules', 'build', 'prebuilds', '.git', 'reports', 'tmp']);
    fs.cpSync(root, source, { recursive: true, filter: (from) => !skip.has(path.relative(root, from).split(path.sep)[0]) });
    const name = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], { cwd: source, encoding: 'utf8' })
      .trim()
      .split('\n')
      .pop()!;
    tarball = path.join(dir, name);
    // The PATH of a slim image: node, npm and a shell, nothing to compile with.
    bareBin = path.join(dir, 'bare-bin');
    fs.mkdirSync(bareBin);
    fs.symlinkSync(process.execPath, path.join(bareBin, 'node'));
    fs.symlinkSync('/bin/sh', path.join(bareBin, 'sh'));
  }, 60_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('packs no prebuild and the install script', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    expect(files.filter((file) => file.includes('/prebuilds/'))).toEqual([]);
    expect(files).toContain('package/scripts/install.js');
    expect(JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' })).os).toBeUndefined();
  });

  it("reads the running executable's libc as readelf does (the loader refuses glibc prebuilds under musl)", () => {
    const readelf = execFileSync('readelf', ['-l', process.execPath], { encoding: 'utf8' }).match(/Requesting program interpreter: ([^\]]+)\]/);
    const { elfInterpreter, runningLibc } = require(path.join(root, 'dist', 'cjs', 'binding', 'libc.js'));
    expect(readelf).not.toBeNull();
    expect(elfInterpreter(process.execPath)).toBe(readelf![1]);
    expect(runningLibc()).toBe(readelf![1].includes('ld-musl-') ? 'musl' : 'glibc');
  });

  it('(a) with no compiler: the install succeeds with one warning, and sockprobe loads saying what is missing', () => {
    const at = project('bare');
    for (const tool of ['make', 'g++', 'cc', 'python3', 'python']) {
      expect(spawnSync('sh', ['-c', `command -v ${tool}`], { env: { PATH: bareBin } }).status, tool).not.toBe(0);
    }
    const result = install(at, bareBin);
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    const warnings = result.stderr.split('\n').filter((line) => line.startsWith('sockprobe: WARNING'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/no prebuild matches linux-x64.*needs python3, make, g\+\+, not found on PATH/);
    expect(result.stderr).toMatch(/apt-get install python3 make g\+\+; Alpine: apk add python3 make g\+\+/);
    expect(fs.existsSync(path.join(at, 'node_modules', 'sockprobe', 'build', 'Release'))).toBe(false);

    const outcomes = sweep(at, bareBin);
    expect(outcomes.require).toMatch(/^ok/);
    const capabilities = JSON.parse(
      spawnSync(process.execPath, ['-p', 'JSON.stringify(require("sockprobe").capabilities())'], { cwd: at, env: { PATH: bareBin }, encoding: 'utf8' }).stdout,
    );
    expect(capabilities.nativeAddon).toMatch(/At install, no prebuild matches linux-x64, and building from source needs python3, make, g\+\+/);
    expect(capabilities.nativeAddon).toMatch(/npm rebuild sockprobe/);
    // Every probe says the same why; counting connections is plain JavaScript.
    for (const [key, value] of Object.entries(capabilities)) {
      if (key === 'platform' || key === 'connectionTracking') expect(value, key).toBe(true);
      else if (key === 'allocator') expect(value).toBe('unknown');
      else expect(value, key).toBe(capabilities.nativeAddon);
    }
    // Each call either works without the addon or throws the coded error; none crashes.
    const pureJs = [
      'require',
      'capabilities',
      'containerMemory',
      'containerLedger',
      'trackConnections',
      'openssl.supported',
      'nativeHeap.supported',
      'register',
    ];
    for (const [call, outcome] of Object.entries(outcomes)) {
      if (pureJs.includes(call)) expect(outcome, call).toMatch(/^ok: /);
      else expect(outcome, call).toMatch(/^coded ERR_NATIVE_UNAVAILABLE: the native addon did not load/);
    }
    // Preloaded with -r, sockprobe/register says why and lets the service start.
    const service = spawnSync(process.execPath, ['-r', 'sockprobe/register', '-e', 'console.log("served")'], {
      cwd: at,
      env: { PATH: bareBin },
      encoding: 'utf8',
    });
    expect(service.status).toBe(0);
    expect(service.stdout.trim()).toBe('served');
    expect(service.stderr).toMatch(/^sockprobe\/register: no probe started: the native addon did not load/);
  }, 120_000);

  it('(a2) with build tools that fail: the install still succeeds, and the warning carries the build error', () => {
    const at = project('broken');
    // A compiler that fails at once: configure runs, the first compile fails.
    const result = install(at, process.env.PATH!, { CXX: '/bin/false' });
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    const warnings = result.stderr.split('\n').filter((line) => line.startsWith('sockprobe: WARNING'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/no prebuild matches linux-x64, and building from source failed: node-gyp exited with 1\./);
    expect(result.stderr).toMatch(/node-gyp's last lines:/);
    expect(fs.readdirSync(path.join(at, 'node_modules', 'sockprobe', 'build')).filter((f) => f.endsWith('.node'))).toEqual([]);
    const nativeAddon = spawnSync(process.execPath, ['-p', 'require("sockprobe").capabilities().nativeAddon'], { cwd: at, encoding: 'utf8' }).stdout;
    expect(nativeAddon).toMatch(/At install, no prebuild matches linux-x64, and building from source failed: node-gyp exited with 1\./);
  }, 120_000);

  it('(b) with the compiler present: builds from source, offline, and every capability is there', () => {
    const at = project('tools');
    const result = install(at, process.env.PATH!);
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/sockprobe: built the native addon from source for linux-x64 \(no prebuild matches linux-x64\)/);
    expect(result.stderr).not.toMatch(/sockprobe: WARNING/);
    expect(fs.readdirSync(path.join(at, 'node_modules', 'sockprobe', 'build', 'Release')).filter((f) => f.endsWith('.node'))).toEqual(['sockprobe.node']);
    const outcomes = sweep(at, process.env.PATH!);
    const capabilities = JSON.parse(
      spawnSync(process.execPath, ['-p', 'JSON.stringify(require("sockprobe").capabilities())'], { cwd: at, encoding: 'utf8' }).stdout,
    );
    expect(Object.entries(capabilities).filter(([key, value]) => key !== 'allocator' && value !== true)).toEqual([]);
    expect(Object.entries(outcomes).filter(([, outcome]) => !outcome.startsWith('ok: '))).toEqual([]);
  }, 240_000);
});
