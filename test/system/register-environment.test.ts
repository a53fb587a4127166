// sockprobe/register from ESM and CJS, and what it says about environment values it cannot use.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from '../helpers/child';

/** Runs `code` with the given environment; SIGUSR2 is sent once the child prints READY. */
function runWith(env: Record<string, string>, args: string[], signal = false): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, LD_PRELOAD: '', ...env }, cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (signal && stdout.includes('READY')) child.kill('SIGUSR2');
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve({ stdout, stderr });
    });
  });
}

const esm = `file://${path.join(root, 'dist', 'esm', 'register.mjs')}`;

describe('sockprobe/register', () => {
  it('gives ESM and CJS the same running probe', async () => {
    const code = `import { probe } from '${esm}'; import cjs from 'node:module';
      const required = cjs.createRequire(import.meta.url)(${JSON.stringify(path.join(root, 'dist', 'cjs', 'register.js'))}).probe;
      console.log(JSON.stringify({ same: probe === required, running: probe.running, report: typeof probe.report }));
      process.exit(0);`;
    const { stdout } = await runWith({}, ['--input-type=module', '-e', code]);
    expect(JSON.parse(stdout.trim())).toEqual({ same: true, running: true, report: 'function' });
  });

  it("SOCKPROBE_NATIVE_HEAP=1 turns on the probe's native heap profile, split by category", async () => {
    const code = `const { probe } = require(${JSON.stringify(path.join(root, 'dist', 'cjs', 'register.js'))});
      const kept = [];
      setTimeout(async () => {
        for (let i = 0; i < 512; i++) kept.push(Buffer.alloc(64 * 1024, 1));
        const profile = await probe.profileNativeHeap();
        console.log(JSON.stringify({ sampled: profile.totalBytes, nativeHeap: probe.report().nativeHeap }));
        process.exit(0);
      }, 300);`;
    const { stdout, stderr } = await runWith({ SOCKPROBE_NATIVE_HEAP: '1' }, ['-e', code]);
    const result = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(result.nativeHeap.unavailable, stderr).toBeNull();
    expect(result.nativeHeap.sampleBytes).toBe(512 * 1024);
    // 32 MiB of Buffers kept since the profiler started: about 64 samples at 512 KiB, so the estimate is within ±50% by far.
    expect(result.sampled).toBeGreaterThan(16 * 1048576);
    expect(result.sampled).toBeLessThan(64 * 1048576);
    expect(result.nativeHeap.latest.totalBytes).toBe(result.sampled);
    // Buffers' backing stores come from Node's ArrayBuffer allocator: the node:buffers category.
    expect(result.nativeHeap.latest.categories['node:buffers']).toBeGreaterThan(0.5 * result.sampled);
  });

  it('names each value it cannot read, with what it expected, and still starts on defaults', async () => {
    const code = `import { probe } from '${esm}'; console.log(JSON.stringify({ running: probe.running })); process.exit(0);`;
    const { stdout, stderr } = await runWith(
      { SOCKPROBE_INTERVAL_MS: 'abc', SOCKPROBE_AUTO_RELEASE: 'sometimes', SOCKPROBE_OPENSSL: 'maybe', SOCKPROBE_NATIVE_HEAP: 'perhaps' },
      ['--input-type=module', '-e', code],
    );
    expect(JSON.parse(stdout.trim())).toEqual({ running: true });
    expect(stderr).toContain('SOCKPROBE_INTERVAL_MS="abc" is not a whole number of milliseconds from 10; sampling every 1000 ms');
    expect(stderr).toContain('SOCKPROBE_AUTO_RELEASE="sometimes" is not one of 1/true/yes/on, 0/false/no/off, paced or paced:<MiB per second, at least 1>');
    expect(stderr).toContain('SOCKPROBE_OPENSSL="maybe" is not one of');
    expect(stderr).toContain('SOCKPROBE_NATIVE_HEAP="perhaps" is not one of');
  });

  it('says so when SIGUSR2 arrives and the report path cannot be written, and writes a path that can', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockprobe-register-'));
    try {
      const code = `require(${JSON.stringify(path.join(root, 'dist', 'cjs', 'register.js'))}); console.log('READY'); setTimeout(() => process.exit(0), 1500);`;
      const bad = await runWith({ SOCKPROBE_REPORT: path.join(dir, 'missing', 'report.txt'), SOCKPROBE_AUTO_RELEASE: 'yes' }, ['-e', code], true);
      expect(bad.stderr).toMatch(/cannot write the report to .*missing\/report\.\d+\.txt \(SOCKPROBE_REPORT=.*missing\/report\.txt\): ENOENT/);
      expect(bad.stderr).not.toContain('SOCKPROBE_AUTO_RELEASE'); // "yes" is understood
      await runWith({ SOCKPROBE_REPORT: path.join(dir, 'report.txt') }, ['-e', code], true);
      const written = fs.readdirSync(dir).filter((name) => /^report\.\d+\.txt$/.test(name));
      expect(written).toHaveLength(1);
      const pid = written[0].split('.')[1];
      expect(fs.readFileSync(path.join(dir, written[0]), 'utf8')).toMatch(
        new RegExp(`^sockprobe report — pid ${pid}, written .*\nsockprobe report — \\d+ samples`),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
