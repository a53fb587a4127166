import type { OpensslStats } from '../../src/openssl/tracking';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { root, runFixture } from '../helpers/child';

type Stats = OpensslStats;

describe('openssl API contract', () => {
  it('is idempotent, freezes on stop, starts a fresh session per start, and frees tracked blocks safely after stop', async () => {
    const { code, json } = await runFixture<Record<string, Stats & boolean & string>>('openssl-api.js');
    expect(code).toBe(0);
    expect(json.capability).toBe(true);
    expect(json.beforeStart).toMatchObject({ tracking: false, method: null, liveBytes: 0, allocations: 0, sinceMs: null });
    expect(json.withHashes.tracking).toBe(true);
    expect(json.withHashes.method).toBe('impl-pointers');
    expect(json.withHashes.liveBytes).toBeGreaterThan(100 * 64); // 100 live hash contexts
    expect(json.withHashes.liveAllocations).toBe(json.withHashes.allocations - json.withHashes.frees);
    expect(json.sameSession).toBe(true);
    expect(json.stopped.tracking).toBe(false);
    expect(json.workAfterStop).toBe(true);
    // Frees after stop() go to OpenSSL's own allocator and are not counted: frozen figures.
    expect({ ...json.frozen }).toEqual({ ...json.stopped });
    expect(json.restarted).toMatchObject({ tracking: true, liveBytes: 0, allocations: 0, frees: 0 });
    expect(json.restarted.sinceMs).toBeGreaterThanOrEqual(json.stopped.sinceMs as number);
    expect(json.restartedWithHashes.liveBytes).toBeGreaterThan(0);
    expect(json.restartedReleased.liveBytes).toBe(0);
    expect(json.restartedReleased.peakBytes).toBeGreaterThanOrEqual(json.restartedWithHashes.liveBytes);
  });

  it('says why where the binary is stripped, and start() and stats() refuse with ERR_UNSUPPORTED', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockprobe-stripped-'));
    const stripped = path.join(dir, 'node');
    try {
      execFileSync('objcopy', ['--strip-all', process.execPath, stripped]);
      const script = `
        const { openssl, capabilities } = require(${JSON.stringify(path.join(root, 'dist', 'cjs'))});
        const out = { capability: capabilities().opensslTracking };
        for (const name of ['start', 'stats']) {
          try { openssl[name](); out[name] = 'returned'; } catch (error) { out[name] = { code: error.code, message: error.message }; }
        }
        openssl.stop();
        console.log(JSON.stringify(out));`;
      const output = execFileSync(stripped, ['-e', script], { encoding: 'utf8', env: { ...process.env, LD_PRELOAD: '' } });
      const json = JSON.parse(output.trim().split('\n').pop() as string);
      expect(json.capability).toMatch(/no symbol table .*stripped/);
      expect(json.start.code).toBe('ERR_UNSUPPORTED');
      expect(json.start.message).toContain('stripped');
      expect(json.stats.code).toBe('ERR_UNSUPPORTED');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
