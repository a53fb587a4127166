import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { root } from './child';

export const cliPath = path.join(root, 'dist/cjs/cli/main.js');

/** Runs the built CLI in a child on this Node line, with no allocator preloaded. */
export function runCli(args: string[], env: Record<string, string> = {}, cwd = root): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], { env: { ...process.env, LD_PRELOAD: '', ...env }, cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The DOM Debian's chromium builds from a local file, after its scripts ran (no network, a fresh profile). */
export function dumpDom(file: string, profileDir: string): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(
    'chromium',
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--user-data-dir=${profileDir}`,
      '--dump-dom',
      `file://${file}`,
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
}
