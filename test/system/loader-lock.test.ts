// No allocation, lock or callback into unknown code while the dynamic loader's lock is held.
// Under test/fixtures/native/unwinding-preload.c every allocation takes "the profiler's lock"
// and then walks the loaded objects (the loader's lock), as heaptrack and other unwinding
// allocator profilers do. A dl_iterate_phdr callback of ours that allocated took the two the
// other way round: before the fix 8 of 20 such children hung for good (main thread in
// Collect → operator new → the preload's malloc, a threadpool thread in free → dl_iterate_phdr).
// 50 children detect the allocator, start and stop OpenSSL tracking and start, profile and
// stop the native heap profiler while the threadpool allocates; each must finish in time.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root, runFixture } from '../helpers/child';

interface Outcome {
  allocator: string;
  openssl: unknown[];
  nativeHeap: unknown[];
}

const RUNS = 50;
const ROUNDS = 3;
const CONCURRENT = 2;
let dir = '';
let preload = '';

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockprobe-loader-lock-'));
  preload = path.join(dir, 'unwinding.so');
  const source = path.join(root, 'test', 'fixtures', 'native', 'unwinding-preload.c');
  try {
    execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', preload, source, '-ldl', '-lpthread'], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(`cannot build the unwinding preload with cc (Debian package gcc): ${(error as Error).message}`);
  }
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe(`beside an allocator profiler that unwinds in every malloc, Node ${process.versions.node}`, () => {
  it(`${RUNS} children each detect the allocator and run OpenSSL tracking and the native heap profiler ${ROUNDS} times without hanging`, async () => {
    const hung: string[] = [];
    const outcomes: Outcome[] = [];
    let next = 0;
    const lane = async () => {
      while (next < RUNS) {
        const run = next++;
        try {
          const result = await runFixture<Outcome>('loader-lock-preload.js', { preloadPath: preload, args: [String(ROUNDS)], timeoutMs: 20_000 });
          expect(result.signal, result.stderr).toBeNull();
          expect(result.code, result.stderr).toBe(0);
          outcomes.push(result.json);
        } catch (error) {
          hung.push(`run ${run}: ${(error as Error).message.split('\n')[0]}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENT }, lane));
    expect(hung, `${hung.length} of ${RUNS} children hung (killed after 20 s) or died`).toEqual([]);
    expect(outcomes).toHaveLength(RUNS);
    for (const outcome of outcomes) {
      // Every path ran to its end: the preload is no allocator sockprobe knows by name.
      expect(outcome.openssl).toEqual(Array(ROUNDS).fill(true));
      expect(outcome.nativeHeap).toEqual(Array(ROUNDS).fill(true));
    }
  }, 300_000);
});
