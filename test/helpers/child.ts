import { spawn } from 'node:child_process';
import * as path from 'node:path';

export const root = path.join(__dirname, '..', '..');
/**
 * The Node that runs fixtures: this one, or SOCKPROBE_CHILD_NODE (test:arm64 points it at an
 * official arm64 build, run by qemu-user through binfmt_misc).
 */
export const childNode = process.env.SOCKPROBE_CHILD_NODE || process.execPath;
/**
 * Fixtures run under an emulator (test:arm64): about 13x slower, so scenarios are scaled down,
 * and /proc/self memory figures (RSS) are the emulator's.
 */
export const emulated = process.env.SOCKPROBE_CHILD_EMULATED === '1';
/** The C compiler for the children's machine (test:arm64: aarch64-linux-gnu-gcc). */
export const childCC = process.env.SOCKPROBE_CHILD_CC || 'cc';
// The allocators' directory for the children's machine (test:arm64: the arm64 Debian packages, extracted).
const libDir = process.env.SOCKPROBE_CHILD_LIBDIR || '/usr/lib/x86_64-linux-gnu';
export const LIBS = {
  jemalloc: path.join(libDir, 'libjemalloc.so.2'),
  tcmalloc: path.join(libDir, 'libtcmalloc_minimal.so.4'),
  mimalloc: path.join(libDir, 'libmimalloc.so.2'),
} as const;
export type PreloadName = keyof typeof LIBS | 'glibc';

export interface ChildResult<T> {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The last stdout line that parses as JSON. */
  json: T;
}

/**
 * Runs a fixture script (test/fixtures/NAME, requiring the built dist/cjs) in a fresh Node
 * process, optionally with an allocator preloaded, and returns its last JSON line.
 */
export function runFixture<T = unknown>(
  name: string,
  options: { preload?: PreloadName; preloadPath?: string; args?: string[]; env?: Record<string, string>; nodeArgs?: string[]; timeoutMs?: number } = {},
): Promise<ChildResult<T>> {
  const env: Record<string, string | undefined> = { ...process.env, ...options.env };
  env.LD_PRELOAD = options.preloadPath ?? (options.preload && options.preload !== 'glibc' ? LIBS[options.preload] : '');
  return new Promise((resolve, reject) => {
    const child = spawn(childNode, [...(options.nodeArgs ?? []), path.join(root, 'test', 'fixtures', name), ...(options.args ?? [])], {
      env,
      cwd: root,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = stdout.trim().split('\n').reverse();
      let json: unknown;
      for (const line of lines) {
        try {
          json = JSON.parse(line);
          break;
        } catch {
          /* not the result line */
        }
      }
      if (json === undefined) {
        reject(new Error(`fixture ${name} printed no JSON (code ${code}, signal ${signal})\nstdout:\n${stdout}\nstderr:\n${stderr}`));
        return;
      }
      resolve({ code, signal, stdout, stderr, json: json as T });
    });
  });
}
