import { describe, expect, it } from 'vitest';
import { runFixture } from '../helpers/child';
import type { SessionEnd } from '../../src';

type Users = { heap: number; openssl: number };
type End = SessionEnd | null;
interface Result {
  error?: string;
  capabilities: { heap: true | string; openssl: true | string };
  probeStarted: { heap: boolean; openssl: boolean; sampleBytes: number };
  conflict: { code: string; message: string } | null;
  runningAfterConflict: number;
  usersJoined: Users;
  sameSessions: boolean;
  afterAppStop: { users: Users; heapActive: boolean; opensslTracking: boolean; appHandleActive: boolean };
  probeSampleAfterAppStop: number | null;
  probeProfileAfterAppStop: number | string;
  probeReportAfterAppStop: { openssl: End; heap: End };
  afterProbeStop: { users: Users; heapActive: boolean; opensslTracking: boolean };
  appProfileAfterProbeStop: number | string;
  probeReportAfterStop: { openssl: End; heap: End; text: string[] };
  allStopped: { users: Users; heapActive: boolean; opensslTracking: boolean };
  workerConflict: string;
  workerJoined: Users;
  afterWorkerStop: { users: Users; heapActive: boolean; mainHandleActive: boolean };
  afterMainStopWorkerHolds: { users: Users; heapActive: boolean; opensslTracking: boolean };
  afterWorkerTerminated: { users: Users; heapActive: boolean; opensslTracking: boolean; restoreLeft: number };
}

describe('the application and a probe share the process-wide sessions (real addon)', () => {
  it(
    "counts each user: the app's stop() never ends the probe's data, probe.stop() never the app's, " + 'another rate is refused with a code, workers included',
    async () => {
      const { code, json } = await runFixture<Result>('shared-sessions.js', { timeoutMs: 60_000 });
      expect(json.error).toBeUndefined();
      expect(code).toBe(0);
      expect(json.capabilities).toEqual({ heap: true, openssl: true });
      expect(json.probeStarted).toEqual({ heap: true, openssl: true, sampleBytes: 512 * 1024 });
      // Was: a silent no-op while the profile said 512 KiB.
      expect(json.conflict!.code).toBe('ERR_SESSION_CONFLICT');
      expect(json.conflict!.message).toContain('sampling every 524288 bytes');
      expect(json.runningAfterConflict).toBe(512 * 1024);
      expect(json.usersJoined).toEqual({ heap: 2, openssl: 2 });
      expect(json.sameSessions).toBe(true);
      // Was: the app's stop() ended the probe's data.
      expect(json.afterAppStop).toEqual({ users: { heap: 1, openssl: 1 }, heapActive: true, opensslTracking: true, appHandleActive: false });
      expect(json.probeSampleAfterAppStop).toBeGreaterThan(0);
      expect(json.probeProfileAfterAppStop).toBe(512 * 1024);
      expect(json.probeReportAfterAppStop).toEqual({ openssl: null, heap: null });
      // Was: probe.stop() ended the app's sessions (ERR_NOT_STARTED).
      expect(json.afterProbeStop).toEqual({ users: { heap: 1, openssl: 1 }, heapActive: true, opensslTracking: true });
      expect(json.appProfileAfterProbeStop).toBe(512 * 1024);
      expect(json.probeReportAfterStop.openssl!.reason).toBe('probe.stop() was called');
      expect(json.probeReportAfterStop.heap!.reason).toBe('probe.stop() was called');
      expect(json.probeReportAfterStop.text).toHaveLength(2);
      for (const line of json.probeReportAfterStop.text)
        expect(line).toMatch(/counted since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, stopped at .* UTC: probe\.stop\(\) was called/);
      expect(json.allStopped).toEqual({ users: { heap: 0, openssl: 0 }, heapActive: false, opensslTracking: false });
      // Worker threads share the sessions: refused the same way, their stop() gives back theirs only.
      expect(json.workerConflict).toBe('ERR_SESSION_CONFLICT');
      expect(json.workerJoined).toEqual({ heap: 2, openssl: 1 });
      expect(json.afterWorkerStop).toEqual({ users: { heap: 1, openssl: 0 }, heapActive: true, mainHandleActive: true });
      expect(json.afterMainStopWorkerHolds).toEqual({ users: { heap: 1, openssl: 1 }, heapActive: true, opensslTracking: true });
      // A worker ended while holding references: its teardown gave them back, every slot restored.
      expect(json.afterWorkerTerminated).toEqual({ users: { heap: 0, openssl: 0 }, heapActive: false, opensslTracking: false, restoreLeft: 0 });
    },
  );
});
