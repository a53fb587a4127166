import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { allocator, createProbe, releaseToOS } from '../../src/index';
import type { Probe } from '../../src/probe/probe';
import { makeSample, noise } from '../helpers/samples';
import { registerSockprobeMetrics } from '../../src/prometheus';
import { readOwnMemoryGroup } from '../helpers/cgroup';
import { root } from '../helpers/child';

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

  it('exports resident free memory within RSS, the raw allocator count by its own name, and no negative per-connection figure', async () => {
    const register = new Registry();
    const probe = createProbe();
    // 64 MiB in small blocks, freed and trimmed: glibc keeps counting the trimmed pages as free (issue 11: 198.5 MiB "free" at RSS 76 MiB).
    const blocks = Array.from({ length: 4096 }, () => Buffer.alloc(16 * 1024, 1));
    blocks.length = 0;
    await releaseToOS();
    const sample = await probe.sample();
    if (allocator().name === 'glibc') expect(sample.allocatorFreeRaw! - sample.nativeFree!).toBeGreaterThan(32 * 1024 * 1024);
    registerSockprobeMetrics({ probe, register });
    const text = await register.metrics();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('sockprobe_native_free_bytes')).toBeLessThanOrEqual(value('sockprobe_rss_bytes'));
    expect(text).toMatch(/# HELP sockprobe_native_free_bytes Free native memory that is resident .*RssAnon/);
    expect(text).toMatch(/# HELP sockprobe_allocator_free_raw_bytes The allocator's own free count, raw .*not resident memory/);
    expect(value('sockprobe_allocator_free_raw_bytes')).toBeGreaterThanOrEqual(value('sockprobe_native_free_bytes'));
    expect(value('sockprobe_js_heap_resident_bytes')).toBeGreaterThan(0);
  });

  it('exports per-connection figures only where they are non-negative, and autoRelease totals as counters', async () => {
    // Recorded samples: OpenSSL grows 14 KB per connection, the JS heap falls as connections rise.
    const samples = Array.from({ length: 40 }, (_, i) =>
      makeSample(i, { tls: i * 50, opensslLive: 1e6 + 14_000 * i * 50, heapUsed: 40e6 - 1049 * i * 50 + 1000 * noise(i) }),
    );
    const record = {
      time: 1,
      reason: 'test',
      expectedBytes: 50e6,
      result: {
        allocator: 'glibc' as const,
        method: 'malloc_trim(0)',
        releasedBytes: 141.6e6,
        trimReleasedBytes: 100e6,
        trimMs: 4.4,
        onThreadpool: true,
        gc: { durationMs: 35, releasedBytes: 41.6e6 },
        jsThreadMs: 35,
        durationMs: 4.4,
        rssBeforeBytes: 250e6,
        rssAfterBytes: 108.4e6,
      },
    };
    const probe = { samples: () => samples, sample: async () => samples[samples.length - 1], releases: () => [record] } as unknown as Probe;
    const register = new Registry();
    registerSockprobeMetrics({ probe, register });
    const text = await register.metrics();
    expect(text).toMatch(/^sockprobe_connection_bytes\{kind="tls",layer="openssl"\} 14\d\d\d/m);
    expect(text).not.toMatch(/^sockprobe_connection_bytes\{[^}]*\} -/m);
    expect(text).not.toMatch(/layer="jsHeap"/);
    expect(text).toMatch(/# TYPE sockprobe_autorelease_released_bytes_total counter\nsockprobe_autorelease_released_bytes_total 141600000$/m);
    expect(text).toMatch(/^sockprobe_autorelease_releases_total 1$/m);
    expect(text).toMatch(/^sockprobe_autorelease_js_thread_seconds_total 0\.035$/m);
    expect(text).not.toMatch(/# TYPE sockprobe_autorelease\S* gauge/);
    // A second scrape counts the same release once.
    expect(await register.metrics()).toMatch(/^sockprobe_autorelease_releases_total 1$/m);
  });

  it("exports the memory cgroup's limit, usage, working set and OOM kills, against the group's own files", async () => {
    const group = { read: readOwnMemoryGroup };
    const register = new Registry();
    // Started: the event watch that counts OOM kills runs from start() to stop().
    const probe = createProbe({ intervalMs: 3_600_000 }).start();
    try {
      const before = group.read();
      await probe.sample();
      const after = group.read();
      registerSockprobeMetrics({ probe, register });
      const text = await register.metrics();
      const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
      expect(text).toMatch(/# TYPE sockprobe_container_memory_working_set_bytes gauge/);
      expect(text).toMatch(/# TYPE sockprobe_container_oom_kills_total counter/);
      const within = (v: number, a: number, b: number) => {
        expect(v).toBeGreaterThanOrEqual(Math.min(a, b) - 4 * 1024 * 1024);
        expect(v).toBeLessThanOrEqual(Math.max(a, b) + 4 * 1024 * 1024);
      };
      within(value('sockprobe_container_memory_usage_bytes'), before.usage, after.usage);
      within(value('sockprobe_container_memory_working_set_bytes'), before.usage - before.inactiveFile, after.usage - after.inactiveFile);
      // No limit set: NaN (unknown), never a made-up figure; a limit: the kernel's.
      if (after.limit === null) expect(text).toMatch(/^sockprobe_container_memory_limit_bytes Nan$/im);
      else expect(value('sockprobe_container_memory_limit_bytes')).toBe(after.limit);
      expect(value('sockprobe_container_oom_kills_total')).toBe(after.oomKills);
    } finally {
      probe.stop();
    }
  });

  it('rejects a missing probe with a typed error', () => {
    expect(() => registerSockprobeMetrics({} as never)).toThrow(/Expected a probe from createProbe\(\) for options.probe/);
  });
});

describe('node -r sockprobe/register', () => {
  it('starts a probe from the environment and writes the report on SIGUSR2', async () => {
    const child = spawn(process.execPath, ['-r', path.join(root, 'dist/cjs/register.js'), '-e', 'console.log("ready"); setInterval(() => {}, 1000)'], {
      env: { ...process.env, SOCKPROBE_INTERVAL_MS: '100', SOCKPROBE_REPORT: 'stderr' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    // Ask for a report every half second until one covers five samples: a loaded machine can start Node slowly.
    const samplesReported = () => Math.max(0, ...[...stderr.matchAll(/— (\d+) samples/g)].map((m) => Number(m[1])));
    // `-r` modules load before `-e` runs: once "ready" is out, the SIGUSR2 handler is in place.
    await new Promise((resolve) => child.stdout.once('data', resolve));
    const deadline = Date.now() + 20_000;
    while (samplesReported() < 5 && Date.now() < deadline) {
      child.kill('SIGUSR2');
      await new Promise((r) => setTimeout(r, 500));
    }
    child.kill('SIGKILL');
    expect(stderr).toMatch(/sockprobe report — (\d+) samples/);
    expect(samplesReported()).toBeGreaterThanOrEqual(5);
    // The report says what every layer holds now, free memory as resident memory.
    expect(stderr).toMatch(/Now: RSS [\d.]+ MiB; V8 heap [\d.]+ MiB resident/);
  });
});
