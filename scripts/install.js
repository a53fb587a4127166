#!/usr/bin/env node
// npm's install step for sockprobe. A diagnostics dependency must never fail the install of the
// service that uses it, so this script always exits 0. In order:
//   1. a prebuild (or an earlier build) that loads here: done;
//   2. Linux with python3, make, a C++ compiler and node-gyp: build from source, as node-gyp-build did;
//   3. otherwise one warning saying what is missing and how to get it. sockprobe still loads: its
//      capabilities() name the reason (written to build/install-problem.txt for it) and every call
//      that needs the addon throws ERR_NATIVE_UNAVAILABLE.
// Plain CommonJS on Node >= 20 with no dependency beyond node-gyp-build: it runs before anything
// else of the package could be built.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const problemFile = path.join(root, 'build', 'install-problem.txt');
const target = `${process.platform}-${process.arch}`;
const BUILD_TIMEOUT_MS = 15 * 60 * 1000;

function main() {
  fs.rmSync(problemFile, { force: true });
  if (process.platform !== 'linux') {
    // No probe works off Linux, so a compiler's time would buy nothing: install quietly.
    console.log(`sockprobe: no native addon on ${target} (its probes need Linux); require('sockprobe') works and capabilities() says why.`);
    return;
  }
  const fromSource = process.env.npm_config_build_from_source === 'true';
  const existing = fromSource ? { ok: false, problem: 'building from source as asked (--build-from-source)' } : tryLoad();
  if (existing.ok) return;

  const missing = missingTools();
  if (missing.length > 0) {
    return giveUp(
      `${existing.problem}, and building from source needs ${missing.map((tool) => tool.name).join(', ')}, not found on PATH.`,
      installHint(missing),
    );
  }
  const built = build();
  if (!built.ok) {
    const again = 'see the whole build with: npm rebuild sockprobe --foreground-scripts';
    return giveUp(`${existing.problem}, and building from source failed: ${built.problem}`, `${built.detail}\n  ${again}`, again);
  }
  const after = tryLoad();
  if (!after.ok) {
    // Leave no addon that fails to load for the package to try at every start.
    fs.rmSync(path.join(root, 'build', 'Release'), { recursive: true, force: true });
    return giveUp(`${existing.problem}; the addon built from source does not load: ${after.problem}`, '');
  }
  console.log(`sockprobe: built the native addon from source for ${target} (${existing.problem}).`);
}

/** Whether the addon node-gyp-build would pick loads, in a child so that a crash in dlopen stays there. */
function tryLoad() {
  const runtimeLoader = path.join(root, 'dist', 'cjs', 'native.js');
  // The package's own loader when built (it refuses a glibc prebuild under musl); in a fresh
  // clone, before dist/ exists, node-gyp-build alone.
  const probe = fs.existsSync(runtimeLoader)
    ? `const p = require(${JSON.stringify(runtimeLoader)}).nativeLoadProblem(); if (p) { console.log(p); process.exit(3); }`
    : `require('node-gyp-build')(${JSON.stringify(root)})`;
  const child = spawnSync(process.execPath, ['-e', probe], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  if (child.status === 0) return { ok: true };
  if (child.signal) return { ok: false, problem: `loading the addon killed a test process with ${child.signal}` };
  const said = `${child.stdout}\n${child.stderr}`;
  const noBuild = /No native build was found/.test(said);
  const reason = (said.match(/the native addon did not load \(([^)]*)\)/) ?? said.match(/^(?:Error: )?(.+)$/m) ?? [])[1] ?? `exit ${child.status}`;
  return { ok: false, problem: noBuild ? `no prebuild matches ${describeHere()}` : reason.trim() };
}

function describeHere() {
  const musl = fs.existsSync('/etc/alpine-release') || /ld-musl/.test(safeRead('/proc/self/maps')) ? ' musl' : '';
  return `${target}${musl}`;
}

function safeRead(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** An executable on PATH (or at an absolute path), else undefined. */
function which(command) {
  if (!command) return undefined;
  const candidates = command.includes('/') ? [command] : (process.env.PATH ?? '').split(path.delimiter).map((dir) => path.join(dir, command));
  return candidates.find((file) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  });
}

function nodeGyp() {
  try {
    return require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] });
  } catch {}
  // npm hands its own node-gyp to install scripts.
  const npmGyp = process.env.npm_config_node_gyp;
  if (npmGyp && fs.existsSync(npmGyp)) return npmGyp;
  return which('node-gyp');
}

/** The tools node-gyp needs here that cannot be found, each with the package that brings it. */
function missingTools() {
  const missing = [];
  const python = process.env.npm_config_python || process.env.PYTHON;
  if (!(python ? which(python) : which('python3') || which('python'))) missing.push({ name: 'python3', debian: 'python3', alpine: 'python3' });
  if (!which(process.env.MAKE || 'make')) missing.push({ name: 'make', debian: 'make', alpine: 'make' });
  // gyp's Makefile compiles and links with $CXX, which make defaults to g++.
  const cxx = (process.env.CXX || 'g++').trim().split(/\s+/)[0];
  if (!which(cxx)) missing.push({ name: cxx, debian: 'g++', alpine: 'g++' });
  if (!nodeGyp()) missing.push({ name: 'node-gyp', npm: true });
  return missing;
}

function installHint(missing) {
  const system = missing.filter((tool) => !tool.npm);
  const lines = [];
  if (system.length > 0) {
    const names = (key) => [...new Set(system.map((tool) => tool[key]))].join(' ');
    lines.push(`install them (Debian/Ubuntu: apt-get install ${names('debian')}; Alpine: apk add ${names('alpine')}), then run: npm rebuild sockprobe`);
  }
  if (missing.some((tool) => tool.npm)) lines.push('node-gyp comes with npm; or: npm install -g node-gyp');
  return lines.join('\n  ');
}

/** The running Node's own headers when it carries them (official builds do), so the build needs no download. */
function nodedirArgs() {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const header = safeRead(path.join(prefix, 'include', 'node', 'node_version.h'));
  const part = (name) => (header.match(new RegExp(`#define NODE_${name}_VERSION (\\d+)`)) ?? [])[1];
  const version = `v${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}`;
  return version === process.version && !process.config.variables.use_prefix_to_find_headers ? [`--nodedir=${prefix}`] : [];
}

function build() {
  // One compiler per core: the build is about 40 s of CPU.
  const args = [nodeGyp(), 'rebuild', '--jobs=max', ...nodedirArgs()];
  console.log(`sockprobe: no usable prebuild for ${target}; building from source (node-gyp rebuild)...`);
  const child = spawnSync(process.execPath, args, {
    cwd: root,
    encoding: 'utf8',
    timeout: BUILD_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.status === 0) return { ok: true };
  const output = `${child.stdout ?? ''}${child.stderr ?? ''}`.trim().split('\n');
  const tail = output.slice(-12).join('\n    ');
  const why = child.error ? child.error.message : child.signal ? `node-gyp was stopped by ${child.signal}` : `node-gyp exited with ${child.status}`;
  return { ok: false, problem: why, detail: `node-gyp's last lines:\n    ${tail}` };
}

/** One warning on stderr, and the reason (with `fix`, short) kept for capabilities() to repeat at run time. */
function giveUp(what, hint, fix = hint) {
  const problem = what.endsWith('.') ? what : `${what}.`;
  const reason = `sockprobe installed without its native addon on ${describeHere()}: ${problem}`;
  const how = hint ? `\n  ${hint}` : '';
  const meanwhile =
    "\n  Meanwhile require('sockprobe') works: capabilities() reports each probe unavailable with this reason, " +
    'and calls that need the addon throw ERR_NATIVE_UNAVAILABLE.';
  console.warn(`sockprobe: WARNING: ${reason}${how}${meanwhile}`);
  try {
    fs.mkdirSync(path.dirname(problemFile), { recursive: true });
    fs.writeFileSync(problemFile, `At install, ${problem}${fix ? ` To fix: ${fix.replace(/\n\s*/g, ' ')}` : ''}\n`);
  } catch {}
}

try {
  main();
} catch (error) {
  // Never the host's install: even a bug here only costs the addon.
  console.warn(`sockprobe: WARNING: the install step failed (${error?.message}); sockprobe loads without its native addon.`);
}
process.exitCode = 0;
