/**
 * The limit-aware autoRelease against the real kernel: a process in a 256 MiB cgroup v1 group the
 * test makes holds free native memory (glibc keeps what 15 of every 16 freed 16 KiB Buffers held,
 * the 16th pinning the heap) with its working set at 85% of the limit and no connection at all, so
 * only the limit can call for a release. Its probe (autoRelease { memoryLimit: 'cgroup',
 * memoryLimitShare: 0.8 }) releases, and the group's own files show the working set fall. Needs
 * root and a writable v1 memory hierarchy; only the group this test made is touched, and it is
 * removed afterwards, also when the test fails.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AutoReleaseRecord } from '../../src';
import { root } from '../helpers/child';
import { ownV1MemoryGroup, removeGroup } from '../helpers/cgroup';

const MiB = 1024 * 1024;
const LIMIT = 256 * MiB;
const FILL = 0.85;
const SHARE = 0.8;

interface Reading {
  dir: string;
  limit: number;
  usage: number;
  workingSet: number;
}
interface Result {
  start: Reading;
  before: Reading;
  after: Reading;
  seenAt: number;
  rssBefore: number;
  rssAfter: number;
  releases: AutoReleaseRecord[];
  rendered: string;
}

describe('limit-aware autoRelease in a real 256 MiB cgroup v1 group', () => {
  let group = '';
  let result: Result;

  beforeAll(async () => {
    group = path.join(ownV1MemoryGroup(), `sockprobe-limit-${process.pid}-${Date.now().toString(36)}`);
    fs.mkdirSync(group);
    fs.writeFileSync(path.join(group, 'memory.limit_in_bytes'), String(LIMIT));
    const child = spawn(
      '/bin/sh',
      [
        '-c',
        'echo $$ > "$0/cgroup.procs" && exec "$@"',
        group,
        process.execPath,
        '--expose-gc',
        path.join(root, 'test', 'fixtures', 'container-limit-release.js'),
        String(FILL),
        String(SHARE),
      ],
      { cwd: root, env: { ...process.env, LD_PRELOAD: '' } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await new Promise((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    const line = stdout.trim().split('\n').pop() ?? '';
    if (code !== 0 || !line.startsWith('{')) throw new Error(`the process in ${group} exited ${code}\n${stdout.slice(-2000)}\n${stderr.slice(-3000)}`);
    result = JSON.parse(line);
  }, 90_000);

  afterAll(async () => {
    if (group) await removeGroup(group);
    expect(fs.existsSync(group)).toBe(false);
  });

  it('held its working set past the release share, in the group, with no connection open', () => {
    expect(result.before.dir).toBe(group);
    expect(result.before.limit).toBe(LIMIT);
    expect(result.before.workingSet).toBeGreaterThanOrEqual(SHARE * LIMIT);
    expect(result.before.workingSet).toBeLessThan(LIMIT);
  });

  it('released because of the limit, and said so', () => {
    expect(result.releases.length).toBeGreaterThanOrEqual(1);
    const [first] = result.releases;
    expect(first.trigger).toBe('memory-limit');
    expect(first.memoryLimit).toMatchObject({ limitBytes: LIMIT, measure: 'working set', threshold: SHARE });
    expect(first.memoryLimit!.share).toBeGreaterThanOrEqual(SHARE);
    expect(first.reason).toMatch(
      /of the 256\.0 MiB limit \(memory\.limit_in_bytes.*past the 80% release share: releasing before the kernel reclaims or OOM-kills/,
    );
    expect(result.rendered).toMatch(/releasing before the kernel reclaims or OOM-kills.* → [\d.]+ MiB back/);
  });

  it('took its loop-delay baseline from the loop the probe watched since start(), and did not wait for one', () => {
    const [first] = result.releases;
    const { loopDelay, longestStallMs } = first.result!.jsThread;
    // The probe started 250 ms before its first sample: the whole 200 ms baseline was watched already.
    expect(loopDelay.baselineWindowMs).toBeGreaterThan(199);
    expect(loopDelay.baselineWindowMs).toBeLessThan(210);
    expect(loopDelay.note).toBeNull();
    // The fixture's 40 ms block fell in it: a waiting request's p99 there is most of the block.
    expect(loopDelay.baselineP99Ms).toBeGreaterThan(30);
    expect(longestStallMs).toBeGreaterThan(0);
    // From the decision to the record: the release's own wall time, not 200 ms more of waiting first.
    expect(result.seenAt - first.time - first.result!.wallMs).toBeLessThan(100);
  });

  it("the group's working set fell by what the release gave back, and what looked releasable was released", () => {
    const [first] = result.releases;
    const fell = result.before.workingSet - result.after.workingSet;
    console.log(
      `working set ${(result.before.workingSet / MiB).toFixed(1)} ` +
        `→ ${(result.after.workingSet / MiB).toFixed(1)} MiB of ${LIMIT / MiB}; ` +
        `expected ${(first.expectedBytes / MiB).toFixed(1)} MiB, ` +
        `released ${(first.result!.releasedBytes / MiB).toFixed(1)} MiB ` +
        `in ${first.result!.wallMs.toFixed(0)} ms; Node ${process.versions.node}`,
    );
    // The independent figure: the kernel's own count for the group, read by the fixture with fs.
    expect(fell).toBeGreaterThan(0.5 * first.expectedBytes);
    expect(result.after.workingSet).toBeLessThan(SHARE * LIMIT);
    // What it called releasable came back (RSS from /proc), within a quarter.
    expect(first.result!.releasedBytes).toBeGreaterThan(0.75 * first.expectedBytes);
    expect(Math.abs(fell - first.result!.releasedBytes)).toBeLessThan(0.25 * first.result!.releasedBytes);
  });
});
