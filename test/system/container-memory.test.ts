/**
 * containerMemory() and containerLedger() against a real memory cgroup the test makes: a cgroup v1
 * child group under this process's own, limited to 512 MiB, with a TLS service (and its load
 * clients) inside holding connections up to ~75% of the limit. Needs root and a writable v1
 * memory hierarchy (CI runs as root); fails with the reason otherwise. Only the group this test
 * made is touched, and it is removed afterwards, also when the test fails.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerLedger, ContainerMemory, Finding } from '../../src';
import { root } from '../helpers/child';
import { ownV1MemoryGroup, removeGroup } from '../helpers/cgroup';

const MiB = 1024 * 1024;
const LIMIT = 512 * MiB;
const SESSION_BYTES = 96 * 1024;
/** The share of the limit filled after the headroom finding, to check its forecast (short of the OOM kill). */
const FILL_SHARE = 0.93;

interface RawGroup {
  dir: string;
  limit: number;
  usage: number;
  kmem: number;
  failcnt: number;
  oomKill: number;
  stat: Record<string, number>;
}
interface ServiceResult {
  pid: number;
  clientPid: number;
  connections: number;
  failed: number;
  steps: Array<{ connections: number; workingSet: number; usage: number }>;
  finding: Extract<Finding, { kind: 'memory-headroom' }> | null;
  atFinding: { connections: number; workingSet: number };
  filled: { connections: number; workingSet: number };
  before: RawGroup;
  result: ContainerMemory;
  after: RawGroup;
  ledgerBefore: RawGroup;
  ledger: ContainerLedger;
  ledgerAfter: RawGroup;
  timing: { medianMs: number; maxMs: number; cpuMsPerCall: number };
  node: { constrainedMemory: number | null; availableMemory: number | null };
}

function runInGroup(group: string, fixture: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // The shell joins the group first, then becomes node: every page node touches is charged there.
  const child = spawn(
    '/bin/sh',
    ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', group, process.execPath, path.join(root, 'test', 'fixtures', fixture), ...args],
    {
      cwd: root,
      env: { ...process.env, LD_PRELOAD: '' },
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `value` lies within the two plain readings taken just before and just after it (± slack). */
function expectBetween(value: number | null, a: number, b: number, slack: number, what: string) {
  expect(value, what).not.toBeNull();
  expect(value!, what).toBeGreaterThanOrEqual(Math.min(a, b) - slack);
  expect(value!, what).toBeLessThanOrEqual(Math.max(a, b) + slack);
}

describe('containerMemory() and containerLedger() in a real 512 MiB cgroup v1 group', () => {
  let group = '';
  let service: ServiceResult;

  beforeAll(async () => {
    const own = ownV1MemoryGroup();
    group = path.join(own, `sockprobe-test-${process.pid}-${Date.now().toString(36)}`);
    fs.mkdirSync(group);
    fs.writeFileSync(path.join(group, 'memory.limit_in_bytes'), String(LIMIT));
    const run = await runInGroup(group, 'container-service.js', [String(SESSION_BYTES), String(FILL_SHARE), '5000']);
    const line = run.stdout.trim().split('\n').pop() ?? '';
    if (run.code !== 0 || !line.startsWith('{'))
      throw new Error(`the service in ${group} exited ${run.code}\nstdout:\n${run.stdout.slice(-2000)}\nstderr:\n${run.stderr.slice(-4000)}`);
    service = JSON.parse(line);
    // SOCKPROBE_CONTAINER_DUMP=file keeps the service's figures (docs/containers.md quotes them).
    if (process.env.SOCKPROBE_CONTAINER_DUMP) fs.writeFileSync(process.env.SOCKPROBE_CONTAINER_DUMP, line);
  }, 160_000);

  afterAll(async () => {
    if (group) await removeGroup(group);
    expect(fs.existsSync(group)).toBe(false);
  });

  it('holds TLS connections up to a good share of the limit, inside the group', () => {
    expect(service.before.dir).toBe(group);
    expect(service.failed).toBe(0);
    expect(service.connections).toBeGreaterThanOrEqual(1000);
    expect(service.result.workingSetBytes!).toBeGreaterThan(0.8 * LIMIT);
    expect(service.result.usageBytes!).toBeLessThan(LIMIT);
  });

  it("containerMemory() equals the group's own files", () => {
    const { result, before, after } = service;
    expect(result.version).toBe(1);
    expect(result.directory).toBe(group);
    expect(result.limitBytes).toBe(before.limit);
    expect(result.limitBytes).toBe(LIMIT);
    // The service is idle between the readings: usage moves by little, if at all.
    const slack = 1 * MiB;
    expectBetween(result.usageBytes, before.usage, after.usage, slack, 'usage');
    expectBetween(result.stat.anon, before.stat.total_rss, after.stat.total_rss, slack, 'anon');
    expectBetween(result.stat.file, before.stat.total_cache, after.stat.total_cache, slack, 'file');
    expectBetween(result.stat.activeFile, before.stat.total_active_file, after.stat.total_active_file, slack, 'active_file');
    expectBetween(result.stat.inactiveFile, before.stat.total_inactive_file, after.stat.total_inactive_file, slack, 'inactive_file');
    expectBetween(result.stat.kernel, before.kmem, after.kmem, slack, 'kernel');
    expectBetween(result.workingSetBytes, before.usage - before.stat.total_inactive_file, after.usage - after.stat.total_inactive_file, slack, 'working set');
    expect(result.events.max).toBe(before.failcnt);
    expect(result.events.oomKill).toBe(before.oomKill);
    expect(result.stat.sock).toBeNull();
    expect(result.missing['stat.sock']).toMatch(/kmem\.tcp/);
  });

  it("the ledger explains the group's usage to within 5%, the load clients as other processes", () => {
    const { ledger, ledgerBefore, ledgerAfter } = service;
    expectBetween(ledger.usageBytes, ledgerBefore.usage, ledgerAfter.usage, 1 * MiB, 'ledger usage');
    const p = ledger.process;
    const lines = [
      p.jsHeap,
      p.external,
      p.nativeInUse,
      p.nativeFree,
      p.stacksAndOther,
      ledger.sockets.charged,
      ledger.pageCache.active,
      ledger.pageCache.inactive,
      ledger.pageCache.other,
      ledger.kernel,
      ledger.otherProcesses,
    ];
    for (const l of lines) expect(l.bytes, l.source).not.toBeNull();
    const sum = lines.reduce((s, l) => s + l.bytes!, 0);
    expect(sum + ledger.unexplained.bytes).toBe(ledger.usageBytes);
    expect(Math.abs(ledger.unexplained.fraction)).toBeLessThan(0.05);
    expect(ledger.otherProcesses.count).toBeGreaterThanOrEqual(1);
    // The session buffers sit in external; this process's sockets hold kernel memory v1 leaves uncharged.
    expect(p.external.bytes!).toBeGreaterThan(service.connections * SESSION_BYTES * 0.9);
    expect(ledger.sockets.charged.bytes).toBe(0);
    // Idle TLS sockets hold next to nothing in the kernel; the figure is measured, not assumed.
    expect(ledger.sockets.thisProcess.bytes).toBeTypeOf('number');
    expect(ledger.sockets.thisProcess.source).toMatch(/skmem of \d+ TCP sockets/);
  });

  it('the probe reports memory-headroom past 80%, and its forecast of connections that fit holds within 15%', () => {
    const { finding, atFinding, filled } = service;
    expect(finding, 'no memory-headroom finding before 5000 connections').not.toBeNull();
    const e = finding!.evidence;
    expect(e.share).toBeGreaterThanOrEqual(0.8);
    expect(e.limitBytes).toBe(LIMIT);
    // The session buffers are what each connection adds: external grew most.
    expect(e.grewMost).toBe('external');
    if ('declined' in e.forecast) throw new Error(`forecast declined: ${e.forecast.declined}`);
    // Forecast to the share filled, from the finding's own per-connection figure and working set.
    const predicted = (filled.workingSet - e.workingSetBytes) / e.forecast.bytesPerConnection;
    const opened = filled.connections - atFinding.connections;
    expect(filled.workingSet).toBeGreaterThanOrEqual(FILL_SHARE * LIMIT);
    expect(Math.abs(opened - predicted) / predicted).toBeLessThan(0.15);
    // And its count to the limit matches the same figure.
    expect(e.forecast.connectionsThatFit).toBe(Math.floor((LIMIT - e.workingSetBytes) / e.forecast.bytesPerConnection));
  });

  it('a read costs well under a millisecond of the loop', () => {
    // The median of 50 calls: single calls stretch when a loaded machine deschedules the loop, and
    // process.cpuUsage() counts every thread (GC, threadpool), so neither bounds the loop's share.
    expect(service.timing.medianMs).toBeLessThan(1);
  });
});
