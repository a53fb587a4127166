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

  it('names each value it cannot read, with what it expected, and still starts on defaults', async () => {
    const code = `import { probe } from '${esm}'; console.log(JSON.stringify({ running: probe.running })); process.exit(0);`;
    const { stdout, stderr } = await runWith({ SOCKPROBE_INTERVAL_MS: 'abc', SOCKPROBE_AUTO_RELEASE: 'sometimes', SOCKPROBE_OPENSSL: 'maybe' }, ['--input-type=module', '-e', code]);
    expect(JSON.parse(stdout.trim())).toEqual({ running: true });
    expect(stderr).toContain('SOCKPROBE_INTERVAL_MS="abc" is not a whole number of milliseconds from 10; sampling every 1000 ms');
    expect(stderr).toContain('SOCKPROBE_AUTO_RELEASE="sometimes" is not one of 1/true/yes/on or 0/false/no/off');
    expect(stderr).toContain('SOCKPROBE_OPENSSL="maybe" is not one of');
  });

  it('says so when SIGUSR2 arrives and the report path cannot be written, and writes a path that can', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockprobe-register-'));
    try {
      const code = `require(${JSON.stringify(path.join(root, 'dist', 'cjs', 'register.js'))}); console.log('READY'); setTimeout(() => process.exit(0), 1500);`;
      const bad = await runWith({ SOCKPROBE_REPORT: path.join(dir, 'missing', 'report.txt'), SOCKPROBE_AUTO_RELEASE: 'yes' }, ['-e', code], true);
      expect(bad.stderr).toMatch(/cannot write the report to SOCKPROBE_REPORT=.*missing\/report\.txt: ENOENT/);
      expect(bad.stderr).not.toContain('SOCKPROBE_AUTO_RELEASE'); // "yes" is understood
      const good = path.join(dir, 'report.txt');
      await runWith({ SOCKPROBE_REPORT: good }, ['-e', code], true);
      expect(fs.readFileSync(good, 'utf8')).toMatch(/^sockprobe report — \d+ samples/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
