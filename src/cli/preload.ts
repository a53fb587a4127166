import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { EnvironmentError } from './args';

export const ALLOCATOR_NAMES = ['glibc', 'jemalloc', 'tcmalloc', 'mimalloc'] as const;
export type AllocatorChoice = (typeof ALLOCATOR_NAMES)[number];

const SONAMES: Record<Exclude<AllocatorChoice, 'glibc'>, { sonames: string[]; debian: string }> = {
  jemalloc: { sonames: ['libjemalloc.so.2'], debian: 'libjemalloc2' },
  tcmalloc: { sonames: ['libtcmalloc_minimal.so.4', 'libtcmalloc.so.4'], debian: 'libtcmalloc-minimal4' },
  mimalloc: { sonames: ['libmimalloc.so.2', 'libmimalloc.so'], debian: 'libmimalloc2.0' },
};

/** Finds an installed allocator library through the dynamic linker's cache (ldconfig -p). */
export function findAllocatorLibrary(name: Exclude<AllocatorChoice, 'glibc'>): string {
  const cache = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' }).stdout ?? '';
  // ldconfig names the machine in each entry's flags: (libc6,x86-64), (libc6,AArch64).
  const machine = process.arch === 'x64' ? 'x86-64' : process.arch === 'arm64' ? 'AArch64' : process.arch;
  for (const soname of SONAMES[name].sonames) {
    for (const match of cache.matchAll(new RegExp(`^\\s*${soname.replace(/\./g, '\\.')} \\(([^)]*)\\) => (\\S+)$`, 'gm'))) {
      if (match[1].includes(machine) && fs.existsSync(match[2])) return match[2];
    }
  }
  throw new EnvironmentError(
    `${name} is not installed: none of ${SONAMES[name].sonames.join(', ')} is in the linker cache (on Debian/Ubuntu: apt-get install ${SONAMES[name].debian})`,
  );
}

/** Runs this same command again with `library` preloaded, passing stdio through; resolves with its exit code. */
export function rerunWithPreload(library: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...process.env, LD_PRELOAD: library, SOCKPROBE_PRELOADED: library },
    });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}
