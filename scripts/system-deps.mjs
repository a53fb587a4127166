#!/usr/bin/env node
// What the test suite needs from the system beyond Node and the build tools, as Debian
// packages, and how to tell each is there. One list for the installer and for the suite's
// global setup, which fails naming what is missing instead of skipping tests.
//   node scripts/system-deps.mjs            lists what is missing (exit 1 if anything is)
//   node scripts/system-deps.mjs --install  installs what is missing with apt-get (through
//                                           sudo when not root), saying what it installs
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const lib = (name) => `/usr/lib/x86_64-linux-gnu/${name}`;
const onPath = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

const debPackageInstalled = (name) =>
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format, not a template
  spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' }).stdout?.includes('install ok installed') ?? false;

/** Debian package, why the suite needs it, and a check that it is installed. */
export const SYSTEM_DEPENDENCIES = [
  { pkg: 'libjemalloc2', why: 'jemalloc preloaded in allocator tests', present: () => existsSync(lib('libjemalloc.so.2')) },
  { pkg: 'libtcmalloc-minimal4', why: 'tcmalloc preloaded in allocator tests', present: () => existsSync(lib('libtcmalloc_minimal.so.4')) },
  { pkg: 'libmimalloc2.0', why: 'mimalloc preloaded in allocator tests', present: () => existsSync(lib('libmimalloc.so.2')) },
  { pkg: 'iproute2', why: 'ss, the reference for socket figures', present: () => onPath('ss') },
  { pkg: 'gdb', why: 'the breakpoint cross-check of OpenSSL bytes', present: () => onPath('gdb') },
  {
    pkg: 'libc6-dbg',
    why: "libc's .symtab (a separate debug file), which names libc's frames in native heap profiles",
    present: () => debPackageInstalled('libc6-dbg'),
  },
  { pkg: 'binutils', why: 'objcopy, to make a stripped node; readelf and nm, references of the native unit tests', present: () => onPath('objcopy') },
  { pkg: 'gcc', why: 'cc, to build the OpenSSL reference preload', present: () => onPath('cc') },
  { pkg: 'g++', why: 'g++, to build the lazily bound test addon and the native unit tests', present: () => onPath('g++') },
  {
    pkg: 'g++-aarch64-linux-gnu',
    why: 'cross-compiles the linux-arm64 prebuild that npm pack ships (prepack), which the package test opens',
    present: () => onPath('aarch64-linux-gnu-g++'),
  },
  { pkg: 'chromium', why: 'renders the HTML report in a test', present: () => onPath('chromium') },
  { pkg: 'golang-go', why: 'go tool pprof, an independent reader of the native heap .pb.gz', present: () => onPath('go') },
  { pkg: 'clang-format', why: 'checks the C++ format in npm run lint, which npm test runs first', present: () => onPath('clang-format') },
  {
    pkg: 'prometheus',
    why: 'a real Prometheus scrapes two instrumented services',
    present: () => existsSync('/usr/bin/prometheus') && existsSync('/usr/bin/promtool'),
  },
];

export function missingDependencies() {
  return SYSTEM_DEPENDENCIES.filter((dependency) => !dependency.present());
}

function install(missing) {
  const packages = missing.map((dependency) => dependency.pkg);
  console.log(`sockprobe tests: installing ${packages.join(', ')} (apt-get)`);
  const asRoot = process.getuid?.() === 0;
  const apt = (args) => {
    const [command, argv] = asRoot ? ['apt-get', args] : ['sudo', ['apt-get', ...args]];
    execFileSync(command, argv, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  };
  apt(['update', '-qq']);
  apt(['install', '-y', '-qq', '--no-install-recommends', ...packages]);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  let missing = missingDependencies();
  if (missing.length && process.argv.includes('--install')) {
    install(missing);
    missing = missingDependencies();
  }
  if (missing.length) {
    for (const dependency of missing) console.error(`missing: ${dependency.pkg} (${dependency.why})`);
    process.exit(1);
  }
  console.log('sockprobe tests: every system dependency is installed');
}
