import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/allocators/run-result';
import type { Verdict } from '../../src/allocators/verdict';
import { root } from '../helpers/child';
import { cliPath, runCli } from '../helpers/cli';

const fixture = (name: string) => path.join(root, 'test', 'fixtures', name);
const MiB = 1048576;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('sockprobe allocators --run', () => {
  it('measures a TLS + WebSocket service under two configurations with its own load script, and names the best', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sp-alloc-')), 'report.html');
    const { code, stdout, stderr } = await runCli([
      'allocators',
      '--run',
      `${process.execPath} ${fixture('allocators-wss-service.js')} 0`,
      '--load',
      `${process.execPath} ${fixture('allocators-wss-load.js')} 200 5`,
      '--only',
      'glibc,jemalloc-bg+release',
      '--repeat',
      '1',
      '--idle',
      '1',
      '--json',
      '--out',
      out,
    ]);
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout) as { verdict: Verdict; runs: RunResult[] };
    expect(result.runs.map((r) => r.configuration).sort()).toEqual(['glibc', 'jemalloc-bg+release']);
    for (const run of result.runs) {
      // The service's own probe names who served malloc: the preload took (or, for glibc, none did).
      expect(run.servedBy).toBe(run.configuration === 'glibc' ? 'glibc' : 'jemalloc');
      expect(run.load.source).toBe('sockprobe-load line');
      expect(run.load.throughput).toBeGreaterThan(0);
      expect(run.load.latencyP99Ms).toBeGreaterThanOrEqual(run.load.latencyP50Ms!);
      // VmHWM is the kernel's own peak: never below what statm showed meanwhile (1 MiB for pages counted between the reads).
      const highest = Math.max(...run.series.map(([, b]) => b));
      expect(run.rss.peak).toBeGreaterThanOrEqual(highest - MiB);
      expect(run.rss.peak).toBeGreaterThan(run.rss.beforeLoad);
      // A release gives back or leaves alone; it never costs RSS (2 MiB for the report's own work).
      expect(run.rss.afterRelease).not.toBeNull();
      expect(run.rss.afterRelease!).toBeLessThanOrEqual(run.rss.settled + 2 * MiB);
      expect(run.releaseStallMs).toBeGreaterThan(0);
      expect(run.loopDelayP99Ms).toBeGreaterThanOrEqual(0);
      expect(run.allocatorInUse).toBeGreaterThan(0);
      expect(run.cpuMs).toBeGreaterThan(0);
      expect(run.marks.loadStart).toBeLessThan(run.marks.loadEnd);
    }
    expect(result.verdict.best).not.toBeNull();
    expect(result.verdict.rows).toHaveLength(2);
    const best = result.verdict.best!;
    if (best.name === 'jemalloc-bg+release') {
      expect(best.dockerfile).toContain('ENV MALLOC_CONF=background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0');
      expect(best.systemd).toContain('Environment=SOCKPROBE_AUTO_RELEASE=1');
    }
    const html = fs.readFileSync(out, 'utf8');
    expect(html.match(/<svg class="rss"/g)).toHaveLength(2);
    expect(html).not.toContain('<script');
  }, 90_000);

  it('with no --load and no --run: sockprobe’s own TLS server, a 2000-connection spike, and the peak growth per connection', async () => {
    const { code, stdout, stderr } = await runCli(['allocators', '--only', 'glibc', '--repeat', '1', '--idle', '0', '--json']);
    expect(code, stderr).toBe(0);
    expect(stderr).toContain('built-in spike: 2000 tls connections, held 1 s, closed · 1 configuration(s) × 1 round(s) = 1 start(s) of the service');
    const result = JSON.parse(stdout) as { load: string; verdict: Verdict; runs: RunResult[] };
    expect(result.load).toBe('built-in spike: 2000 tls connections, held 1 s, closed');
    const [run] = result.runs;
    expect(run.servedBy).toBe('glibc');
    expect(run.load.connections).toBe(2000);
    expect(run.load.throughputUnit).toBe('conn/s');
    // Held TLS connections cost RSS: the kernel's own peak (VmHWM) rose above statm before the spike.
    expect(run.rss.peak).toBeGreaterThan(run.rss.beforeLoad);
    expect(result.verdict.rows[0].peakPerConnection?.median).toBe((run.rss.peak - run.rss.beforeLoad) / 2000);
  }, 120_000);

  it('--repeat rotates the order each round so drift over the run cancels', async () => {
    const { code, stdout, stderr } = await runCli([
      'allocators',
      '--only',
      'glibc,glibc+release,jemalloc',
      '--load',
      'spike:tcp:20',
      '--repeat',
      '2',
      '--idle',
      '0',
      '--json',
    ]);
    expect(code, stderr).toBe(0);
    const { runs } = JSON.parse(stdout) as { runs: RunResult[] };
    // runs are in the order they ran: round 2 starts one further on (the unit test follows all the rotations).
    expect(runs.map((r) => `${r.round} ${r.configuration}`)).toEqual(['1 glibc', '1 glibc+release', '1 jemalloc', '2 glibc+release', '2 jemalloc', '2 glibc']);
    for (const run of runs) expect(run.load.connections).toBe(20);
  }, 180_000);

  it('skips a configuration whose library is missing and says why', async () => {
    const alone = await runCli(['allocators', '--config', 'ghost=LD_PRELOAD=/nonexistent/libjemalloc.so.2', '--only', 'ghost', '--load', 'spike:tcp:10']);
    expect(alone.code).toBe(1);
    expect(alone.stderr).toContain('skipped ghost: LD_PRELOAD=/nonexistent/libjemalloc.so.2 does not exist');
    expect(alone.stderr).toContain('every configuration asked for was skipped: nothing to run [ERR_CLI_SERVICE]');

    const { code, stdout, stderr } = await runCli([
      'allocators',
      '--config',
      'ghost=LD_PRELOAD=/nonexistent/libjemalloc.so.2,MALLOC_CONF=background_thread:true,dirty_decay_ms:0',
      '--only',
      'ghost,glibc',
      '--load',
      'spike:tcp:50',
      '--repeat',
      '1',
      '--idle',
      '0',
      '--json',
    ]);
    expect(code, stderr).toBe(0);
    const { verdict } = JSON.parse(stdout) as { verdict: Verdict };
    expect(verdict.skipped).toEqual([{ name: 'ghost', reason: 'LD_PRELOAD=/nonexistent/libjemalloc.so.2 does not exist' }]);
    expect(verdict.rows.map((r) => r.name)).toEqual(['glibc']);
  }, 60_000);

  it('stops a service that never becomes ready with a clear error and leaves no process behind', async () => {
    const pids = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sp-alloc-')), 'pids.json');
    const port = await freePort();
    const started = Date.now();
    const { code, stderr } = await runCli([
      'allocators',
      '--run',
      `${process.execPath} ${fixture('allocators-never-ready.js')} ${pids}`,
      '--ready',
      `tcp:${port}`,
      '--ready-timeout',
      '3',
      '--load',
      'spike:tcp:10',
      '--only',
      'glibc',
    ]);
    expect(code).toBe(1);
    expect(stderr).toContain(`the service never accepted a connection on 127.0.0.1:${port} within 3 s (--ready-timeout); it was stopped`);
    expect(stderr).toContain('[ERR_CLI_SERVICE]');
    expect(Date.now() - started).toBeLessThan(30_000);
    const { service, child } = JSON.parse(fs.readFileSync(pids, 'utf8')) as { service: number; child: number };
    expect(alive(service)).toBe(false);
    expect(alive(child)).toBe(false);
  }, 60_000);

  it("stops the service's whole group when the command itself is interrupted", async () => {
    const pids = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sp-alloc-')), 'pids.json');
    const port = await freePort();
    const cli = spawn(
      process.execPath,
      [
        cliPath,
        'allocators',
        '--run',
        `${process.execPath} ${fixture('allocators-never-ready.js')} ${pids}`,
        '--ready',
        `tcp:${port}`,
        '--load',
        'spike:tcp:10',
        '--only',
        'glibc',
      ],
      { env: { ...process.env, LD_PRELOAD: '' }, stdio: 'ignore' },
    );
    const exited = new Promise<number | null>((resolve) => cli.once('exit', (code) => resolve(code)));
    for (let waited = 0; !fs.existsSync(pids) && waited < 20_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    const { service, child } = JSON.parse(fs.readFileSync(pids, 'utf8')) as { service: number; child: number };
    expect(alive(service)).toBe(true);
    cli.kill('SIGINT');
    expect(await exited).toBe(130);
    for (let waited = 0; (alive(service) || alive(child)) && waited < 5000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    expect(alive(service)).toBe(false);
    expect(alive(child)).toBe(false);
  }, 60_000);
});
