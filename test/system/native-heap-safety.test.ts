import { describe, expect, it } from 'vitest';
import { emulated, runFixture } from '../helpers/child';

// Under emulation (test:arm64, about 13x slower) 200 cycles.
const CYCLES = emulated ? 200 : 1000;

interface Phase {
  allocated: number;
  openssl: number;
}
interface Result {
  cycles: number;
  profiles: number;
  sampledSites: number;
  baseline: Phase;
  after: Phase;
  slots: Record<string, { before: string; during: string; after: string }>;
  workerIterations: number[];
  errors: string[];
  error?: string;
}

// 1000 start/stop cycles (profiles in between) while TLS connections churn, worker threads
// allocate and start/stop/profile the profiler themselves, and the threadpool runs
// pbkdf2/scrypt, with OpenSSL tracking on. The child must finish (no crash, no deadlock);
// afterwards the same load leaves the allocator's in-use bytes where the baseline did and
// OpenSSL's live bytes exactly there; the executable's GOT slots, located by readelf and
// read from /proc/self/mem, held our hooks during a session and their original values after.
describe('native heap profiler under churn', () => {
  it(
    `survives ${CYCLES} start/stop cycles with workers, threadpool crypto and OpenSSL tracking, and restores every slot`,
    async () => {
      const { json, signal, code } = await runFixture<Result>('native-heap-safety.js', {
        args: [String(CYCLES)],
        nodeArgs: ['--expose-gc'],
        timeoutMs: emulated ? 400_000 : 170_000,
      });
      expect(json.error).toBeUndefined();
      expect(signal).toBeNull();
      expect(code).toBe(0);
      expect(json.errors).toEqual([]);
      expect(json.cycles).toBe(CYCLES);
      expect(json.profiles).toBeGreaterThan(0);
      expect(json.sampledSites).toBeGreaterThan(0);
      // Every worker really ran alongside the churn.
      for (const iterations of json.workerIterations) expect(iterations).toBeGreaterThan(20);
      expect(Object.keys(json.slots)).toEqual(expect.arrayContaining(['malloc', 'free', '_Znwm', '_ZdlPv']));
      for (const [, slot] of Object.entries(json.slots)) {
        expect(slot.during).not.toBe(slot.before);
        expect(slot.after).toBe(slot.before);
      }
      expect(Math.abs(json.after.allocated - json.baseline.allocated)).toBeLessThanOrEqual(8 * 1024 * 1024);
      expect(json.after.openssl).toBe(json.baseline.openssl);
    },
    emulated ? 420_000 : 180_000,
  );
});
