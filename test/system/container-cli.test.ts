/**
 * `sockprobe snapshot` prints the memory cgroup: for a process in a 128 MiB cgroup v1 group the
 * test makes (--pid), the group's limit, working set and ledger against the group's own files and
 * the process's /proc status; for itself, the ledger with its layers. Needs root and a writable v1
 * memory hierarchy; only the group this test made is touched, and it is removed afterwards.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root } from '../helpers/child';
import { ownV1MemoryGroup, removeGroup } from '../helpers/cgroup';

const MiB = 1024 * 1024;
const LIMIT = 128 * MiB;
const cli = path.join(root, 'dist/cjs/cli/main.js');

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, LD_PRELOAD: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('sockprobe snapshot: the memory cgroup view', () => {
  let group = '';
  let target: ChildProcessWithoutNullStreams | undefined;

  beforeAll(async () => {
    group = path.join(ownV1MemoryGroup(), `sockprobe-cli-${process.pid}-${Date.now().toString(36)}`);
    fs.mkdirSync(group);
    fs.writeFileSync(path.join(group, 'memory.limit_in_bytes'), String(LIMIT));
    // A process in the group holding 48 MiB of written Buffers and a listener.
    const code =
      'const k=[];for(let i=0;i<48;i++)k.push(Buffer.alloc(1<<20,1));' +
      "require('net').createServer().listen(0,'127.0.0.1',()=>console.log('ready'));setTimeout(()=>{},60000)";
    target = spawn('/bin/sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', group, process.execPath, '-e', code], {
      env: { ...process.env, LD_PRELOAD: '' },
    });
    await new Promise((resolve, reject) => {
      target!.stdout.once('data', resolve);
      target!.once('exit', (exitCode) => reject(new Error(`the target exited (${exitCode})`)));
    });
  }, 30_000);

  afterAll(async () => {
    target?.kill('SIGKILL');
    if (group) await removeGroup(group);
    expect(fs.existsSync(group)).toBe(false);
  });

  it("--pid --json: the target's group, its limit and working set as its files say, and a ledger of its usage", async () => {
    const read = (name: string) => fs.readFileSync(path.join(group, name), 'utf8');
    const usageBefore = Number(read('memory.usage_in_bytes'));
    const { code, stdout, stderr } = await run(['snapshot', '--pid', String(target!.pid), '--json']);
    const usageAfter = Number(read('memory.usage_in_bytes'));
    expect(code, stderr).toBe(0);
    const { container, ledger } = JSON.parse(stdout);
    expect(container.directory).toBe(group);
    expect(container.limitBytes).toBe(LIMIT);
    expect(container.usageBytes).toBeGreaterThanOrEqual(Math.min(usageBefore, usageAfter) - MiB);
    expect(container.usageBytes).toBeLessThanOrEqual(Math.max(usageBefore, usageAfter) + MiB);
    // The target's anonymous memory, from its /proc status, holds the 48 MiB it wrote.
    const rssAnon = Number(/^RssAnon:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${target!.pid}/status`, 'utf8'))![1]) * 1024;
    expect(ledger.process.pid).toBe(target!.pid);
    expect(Math.abs(ledger.process.anon.bytes - rssAnon)).toBeLessThan(2 * MiB);
    expect(ledger.process.anon.bytes).toBeGreaterThan(48 * MiB);
    // Its layers are not readable from outside, and say so.
    expect(ledger.process.jsHeap).toEqual({ bytes: null, source: expect.stringMatching(/read from inside the process only/) });
    expect(ledger.otherProcesses.count).toBe(0);
    expect(Math.abs(ledger.unexplained.fraction)).toBeLessThan(0.1);
  });

  it('--pid as text: the limit, the share of it in use, the ledger', async () => {
    const { code, stdout } = await run(['snapshot', '--pid', String(target!.pid)]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/memory cgroup \(v1\) \S+sockprobe-cli-/);
    expect(stdout).toMatch(/limit 128\.0 MiB \(memory\.limit_in_bytes/);
    expect(stdout).toMatch(/working set [\d.]+ MiB = [\d.]+% of the limit \(the kernel OOM-kills at 100%\)/);
    expect(stdout).toMatch(new RegExp(`process ${target!.pid} \\(RssAnon\\)\\s+[\\d.]+ MiB`));
    expect(stdout).toMatch(/its layers are read from inside the process/);
  });

  it('its own process: the ledger with its layers', async () => {
    const { code, stdout } = await run(['snapshot']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/memory cgroup \(v1\)/);
    expect(stdout).toMatch(/process \d+: V8 heap\s+[\d.]+ MiB/);
    expect(stdout).toMatch(/unexplained\s+-?[\d.]+ MiB/);
  });
});
