// sockprobe/register in a cluster (one report per process) and in worker threads (the main
// thread's probe only, unless SOCKPROBE_WORKERS=1).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { root, runFixture } from '../helpers/child';

const register = path.join(root, 'dist', 'cjs', 'register.js');

describe('sockprobe/register across processes and threads', () => {
  it('writes one whole report per cluster process, each named by its pid in the file name and the text', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockprobe-cluster-'));
    try {
      const { code, json, stderr } = await runFixture<{ pids: number[]; files: Record<string, string>; leftovers: string[] }>('register-cluster.js', {
        nodeArgs: ['-r', register],
        env: { SOCKPROBE_REPORT: path.join(dir, 'report.txt'), SOCKPROBE_INTERVAL_MS: '100' },
        timeoutMs: 60_000,
      });
      expect(code, stderr).toBe(0);
      expect(json.pids).toHaveLength(5);
      expect(Object.keys(json.files).sort()).toEqual(json.pids.map((pid) => `report.${pid}.txt`).sort());
      for (const pid of json.pids) {
        const text = json.files[`report.${pid}.txt`];
        const role = pid === json.pids[0] ? 'cluster primary' : `cluster worker \\d, primary pid ${json.pids[0]}`;
        expect(text).toMatch(new RegExp(`^sockprobe report — pid ${pid} \\(${role}\\), written \\d{4}-\\d\\d-\\d\\dT`));
        expect(text).toMatch(/\nsockprobe report — \d+ samples over/);
      }
      expect(json.leftovers).toEqual([]); // no temporary file left behind
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts a probe on the main thread only; worker threads get a dormant one unless SOCKPROBE_WORKERS=1', async () => {
    const plain = await runFixture<{ main: boolean; workers: Array<{ running: boolean; started: boolean }> }>('register-cluster.js', {
      nodeArgs: ['-r', register],
      env: { SOCKPROBE_CASE: 'threads' },
    });
    expect(plain.json).toEqual({
      main: true,
      workers: [
        { running: false, started: true },
        { running: false, started: true },
      ],
    });
    const asked = await runFixture<{ main: boolean; workers: Array<{ running: boolean; started: boolean }> }>('register-cluster.js', {
      nodeArgs: ['-r', register],
      env: { SOCKPROBE_CASE: 'threads', SOCKPROBE_WORKERS: '1' },
    });
    expect(asked.json).toEqual({
      main: true,
      workers: [
        { running: true, started: true },
        { running: true, started: true },
      ],
    });
  });
});
