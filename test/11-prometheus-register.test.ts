import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createProbe } from '../src/index';
import { registerSockprobeMetrics } from '../src/prometheus';
import { root } from './helpers/child';

describe('sockprobe/prometheus', () => {
  it('exports conventional gauges into a real prom-client registry', async () => {
    const register = new Registry();
    const probe = createProbe();
    await probe.sample();
    registerSockprobeMetrics({ probe, register });
    const text = await register.metrics();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(text).toMatch(/# HELP sockprobe_native_free_bytes /);
    expect(text).toMatch(/# TYPE sockprobe_rss_bytes gauge/);
    // The exported RSS is the process's, within what a few allocations move it.
    expect(Math.abs(value('sockprobe_rss_bytes') - process.memoryUsage().rss)).toBeLessThan(16 * 1024 * 1024);
    expect(value('sockprobe_native_allocated_bytes')).toBeGreaterThan(0);
    // OpenSSL tracking is off: NaN (unknown), not a made-up zero.
    expect(text).toMatch(/^sockprobe_openssl_live_bytes NaN$/im); // prom-client writes "Nan"; Prometheus parses either
  });

  it('rejects a missing probe with a typed error', () => {
    expect(() => registerSockprobeMetrics({} as never)).toThrow(/Expected a probe from createProbe\(\) for options.probe/);
  });
});

describe('node -r sockprobe/register', () => {
  it('starts a probe from the environment and writes the report on SIGUSR2', async () => {
    // The app says when it runs: -r has installed the SIGUSR2 handler by then (a signal that
    // arrives earlier, on a slow start, would end the process: SIGUSR2's default action).
    const child = spawn(process.execPath, ['-r', path.join(root, 'dist/cjs/register.js'), '-e', "console.log('running'); setInterval(() => {}, 1000)"], {
      env: { ...process.env, SOCKPROBE_INTERVAL_MS: '100', SOCKPROBE_REPORT: 'stderr' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    await new Promise((r) => child.stdout.once('data', r));
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGUSR2');
    const deadline = Date.now() + 5000;
    while (!stderr.includes('Per connection:') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    expect(stderr).toMatch(/sockprobe report — (\d+) samples/);
    expect(Number(/— (\d+) samples/.exec(stderr)![1])).toBeGreaterThanOrEqual(5);
  });
});
