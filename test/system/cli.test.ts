import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from '../helpers/child';
import { ownV1MemoryGroup, removeGroup } from '../helpers/cgroup';
import { dumpDom } from '../helpers/cli';
import { containerMemory } from '../../src/container/memory';

const cli = path.join(root, 'dist/cjs/cli/main.js');
const SMALL = ['--connections', '150', '--small', '30', '--big-pulses', '1', '--small-pulses', '1', '--linger', '300', '--gap', '300', '--interval', '100'];

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, LD_PRELOAD: '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('sockprobe CLI', () => {
  it('--help lists every command and the exit codes', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    for (const word of ['pulse', 'allocators', 'demo', 'Exit codes']) expect(stdout).toContain(word);
  });

  it.each([[['help']], [['-h']]])('%j prints the usage and exits 0', async (args) => {
    const { code, stdout } = await run(args);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: sockprobe <command>');
  });

  it.each([
    [['help', 'pulse'], 'pulse', '--linger'],
    [['snapshot', '--help'], 'snapshot', '--peers'],
    [['demo', '-h'], 'demo', '--tcp'],
    [['allocators', '--help'], 'allocators', '--markdown'],
  ])("%j prints that command's usage and exits 0", async (args, command, option) => {
    const { code, stdout } = await run(args);
    expect(code).toBe(0);
    expect(stdout).toContain(`Usage: sockprobe ${command} [options]`);
    expect(stdout).toContain(option);
    expect(stdout).toContain('Exit codes');
  });

  it('--version names the package version and the Node and OpenSSL it runs on', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    const { code, stdout } = await run(['--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(`sockprobe ${version} (Node ${process.versions.node}, OpenSSL ${process.versions.openssl})`);
  });

  it.each([
    [['frobnicate'], /unknown command frobnicate/],
    [['pulse', '--connections', 'lots'], /--connections takes a whole number from 1 to 9000, not lots/],
    [['pulse', '--allocator', 'hoard'], /--allocator takes one of glibc, jemalloc, tcmalloc, mimalloc, not hoard/],
    [['pulse', '--bogus'], /unknown option --bogus/],
    [['pulse', '--out'], /--out needs a value/],
    // The pulse-based comparison's options name what replaced them, never take another meaning.
    [['allocators', '--connections', '500'], /--connections is not an allocators option .*--load spike:tls:N/],
    [['allocators', '--tcp'], /--tcp is not an allocators option .*--load spike:tcp:N/],
    [['allocators', '--allocator', 'jemalloc'], /--allocator is not an allocators option .*--only jemalloc,jemalloc\+release/],
    [['allocators', '--auto-release'], /--auto-release is not an allocators option .*--only glibc\+release/],
    [['allocators', '--run', 'node server.js'], /--run needs --load/],
  ])('exits 2 with a clear message for %j', async (args, message) => {
    const { code, stderr } = await run(args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/\[ERR_CLI_USAGE\]/);
  });

  it('exits 3 naming the package when the allocator library cannot be found', async () => {
    const { code, stderr } = await run(['pulse', '--allocator', 'jemalloc', ...SMALL], { PATH: '/nonexistent' });
    expect(code).toBe(3);
    expect(stderr).toMatch(/jemalloc is not installed.*apt-get install libjemalloc2.*\[ERR_CLI_ENVIRONMENT\]/);
  });

  it('exits 3 with a clear message when --port is in use', async () => {
    const net = await import('node:net');
    const holder = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => holder.once('listening', r));
    const port = (holder.address() as import('node:net').AddressInfo).port;
    try {
      const { code, stderr } = await run(['pulse', '--port', String(port), ...SMALL]);
      expect(code).toBe(3);
      expect(stderr).toMatch(new RegExp(`the port is in use \\(listen EADDRINUSE.*127\\.0\\.0\\.1:${port}\\); pick another with --port`));
    } finally {
      holder.close();
    }
  });

  it('pulse --allocator re-runs itself under that allocator and prints JSON', async () => {
    const { code, stdout, stderr } = await run(['pulse', '--allocator', 'jemalloc', '--json', ...SMALL]);
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(result.allocator.name).toBe('jemalloc');
    expect(result.rss.peak).toBeGreaterThan(result.rss.baseline);
    expect(result.release.method).toBe('thread.tcache.flush on the JS and threadpool threads, then mallctl("arena.<i>.purge") one arena per slice');
    expect(result.release.threadpoolThreads).toBeGreaterThanOrEqual(1);
    expect(result.sampleCount).toBeGreaterThan(10);
  });

  it('pulse --out writes a self-contained report whose plots a real browser draws', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockprobe-report-'));
    const file = path.join(dir, 'report.html');
    const { code, stdout } = await run(['pulse', '--out', file, ...SMALL]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/per TLS connection/);
    expect(stdout).toContain(`Report: ${file}`);
    const html = fs.readFileSync(file, 'utf8');
    expect(html).not.toMatch(/\s(src|href)=|url\(|fetch\(/); // nothing fetched: the SVG namespace is the only URL in it
    const browser = dumpDom(file, path.join(dir, 'profile'));
    expect(browser.status, browser.stderr).toBe(0);
    const drawn = Number(/data-drawn="(\d+)"/.exec(browser.stdout)?.[1]);
    expect(drawn).toBeGreaterThanOrEqual(6); // RSS, heap used/total, native in use/free/other
    const points = [...browser.stdout.matchAll(/class="layer"[^>]*points="([^"]*)"/g)].map((m) => m[1].trim().split(' ').length);
    expect(Math.min(...points)).toBeGreaterThan(10);
    // Each chart's left axis has five distinct labels: a sub-MiB layer (kernel memory of idle
    // sockets) is drawn in KiB rather than read as "1, 1, 1, 0, 0" MiB.
    expect(browser.stdout).toMatch(/Kernel socket memory \((KiB|MiB), left\)/);
    for (const chart of browser.stdout.split('<svg').slice(1)) {
      const ticks = [...chart.matchAll(/<text x="54"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
      expect(ticks).toHaveLength(5);
      expect(new Set(ticks).size).toBe(5);
    }
    // Outside a limited memory cgroup, no limit line: the report says why, in containerMemory()'s words.
    const own = containerMemory();
    const reason = own.version === null ? own.missing.version : own.missing.limitBytes;
    expect(own.limitBytes, 'this test expects to run in a group without a memory limit').toBeNull();
    expect(browser.stdout).toContain(`No memory limit line on the RSS plot: ${reason}.`);
    expect(browser.stdout).not.toContain('class="limit"');
    expect(stdout).toContain(`Memory limit: none — ${reason}.`);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('pulse --out in a memory cgroup with a 1 GiB limit draws the limit and the working set on the RSS plot', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockprobe-report-'));
    const file = path.join(dir, 'report.html');
    const group = path.join(ownV1MemoryGroup(), `sockprobe-pulse-${process.pid}-${Date.now().toString(36)}`);
    fs.mkdirSync(group);
    try {
      fs.writeFileSync(path.join(group, 'memory.limit_in_bytes'), String(1024 * 1024 * 1024));
      // The CLI joins the group before it starts (the shell writes its own pid, then execs node).
      const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn('/bin/sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', group, process.execPath, cli, 'pulse', '--out', file, ...SMALL], {
          env: { ...process.env, LD_PRELOAD: '' },
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (c) => (out += c));
        child.stderr.on('data', (c) => (err += c));
        child.on('close', (exitCode) => resolve({ code: exitCode, stdout: out, stderr: err }));
      });
      expect(code, stderr).toBe(0);
      expect(stdout).toMatch(/Memory limit: 1024\.0 MiB \(memory\.limit_in_bytes.*\); working set at the end [\d.]+ MiB = [\d.]+% of it\./);
      const browser = dumpDom(file, path.join(dir, 'profile'));
      expect(browser.status, browser.stderr).toBe(0);
      const rss = browser.stdout.split('<svg')[1];
      // The limit line across the RSS plot, labelled, at the top of its scale (the limit sets it: 1.1 × 1 GiB).
      expect(rss).toMatch(/<line class="limit" x1="60" y1="([\d.]+)" x2="840" y2="\1"/);
      expect(rss).toContain('>memory limit 1024.0 MiB</text>');
      expect(rss).toMatch(/class="layer" data-name="working set \(cgroup\)" points="[^"]+"/);
      expect(browser.stdout).toMatch(/The RSS plot draws the memory cgroup's limit, 1024\.0 MiB \(memory\.limit_in_bytes/);
      expect(browser.stdout).not.toContain('No memory limit line');
    } finally {
      await removeGroup(group);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(fs.existsSync(group)).toBe(false);
  }, 120_000);

  describe('snapshot --pid', () => {
    /** A process of this user holding 5 connections to its own listener. */
    const holder = () =>
      new Promise<{ pid: number; stop: () => void }>((resolve, reject) => {
        const code =
          "const net=require('net');net.createServer(s=>s.on('error',()=>{})).listen(0,'127.0.0.1',function(){" +
          "const p=this.address().port;for(let i=0;i<5;i++)net.connect(p,'127.0.0.1').on('error',()=>{});" +
          "setTimeout(()=>console.log('ready'),300)});setTimeout(()=>{},60000)";
        const child = spawn(process.execPath, ['-e', code]);
        child.once('error', reject).once('exit', (exitCode) => reject(new Error(`holder exited (${exitCode})`)));
        child.stdout.once('data', () => resolve({ pid: child.pid!, stop: () => child.kill('SIGKILL') }));
      });
    /**
     * A process of another user. Not node: process.execPath may sit where that user cannot
     * reach it (a Node line cached under a 0700 home), and owning the process is all that counts.
     */
    const otherUsersProcess = (uid: number) =>
      new Promise<{ pid: number; stop: () => void }>((resolve, reject) => {
        const child = spawn('sleep', ['60'], { uid, gid: uid, stdio: 'ignore' });
        child.once('error', reject).once('spawn', () => resolve({ pid: child.pid!, stop: () => child.kill('SIGKILL') }));
      });

    it("reads another process's sockets: 5 connections to its own listener", async () => {
      const target = await holder();
      try {
        const { code, stdout } = await run(['snapshot', '--pid', String(target.pid), '--json']);
        expect(code).toBe(0);
        const result = JSON.parse(stdout);
        expect(result.summary.byState).toEqual({ ESTABLISHED: 10, LISTEN: 1 });
        expect(result.fds.open).toBe(fs.readdirSync(`/proc/${target.pid}/fd`).length);
      } finally {
        target.stop();
      }
    });

    it('exits 3 for a process that does not exist', async () => {
      const { code, stderr } = await run(['snapshot', '--pid', '2147483000']);
      expect(code).toBe(3);
      expect(stderr).toMatch(/there is no process 2147483000 \[ERR_NO_SUCH_PROCESS\]/);
    });

    it("refuses another user's process", async () => {
      const target = await otherUsersProcess(65534);
      try {
        const { code, stderr } = await run(['snapshot', '--pid', String(target.pid)]);
        expect(code).toBe(3);
        expect(stderr).toMatch(/belongs to uid 65534, not to this user.*\[ERR_PROCESS_NOT_OWNED\]/);
      } finally {
        target.stop();
      }
    });
  });
});
