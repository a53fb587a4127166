import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root, runFixture } from '../helpers/child';
import type { HolderEstimate } from '../../src';

interface Result {
  mode: string;
  pid: number;
  failed: number;
  open: number;
  elapsedMs: number;
  direct: { connections: number; perConnection: number };
  findings: Array<{ kind: string; severity: string; summary: string; advice: string; evidence: { holder?: string } }>;
  nativeHeap: { holders: HolderEstimate[]; unavailable: string | null };
  text: string;
}

/** A service (real TLS, real ws) with clients in another child, profiled as it opens 240 connections in 4 steps. */
const service = (mode: string, nodeArgs: string[] = []) =>
  runFixture<Result>('holders-service.js', { args: [mode, '240', '4'], nodeArgs, timeoutMs: 60_000 }).then((r) => r.json);
/** V8 writes /tmp/perf-<pid>.map, from which sockprobe names JavaScript frames. */
const PERF_MAP_FLAGS = ['--perf-basic-prof-only-functions', '--interpreted-frames-native-stack'];
const holder = (r: Result, id: string) => r.nativeHeap.holders.find((h) => h.holder === id);

describe('holders named in real services', () => {
  it("names permessage-deflate's zlib contexts with a per-connection cost within 15% of the " +
    "allocator's deflate on − off difference, and not with deflate off", async () => {
    const on = await service('deflate');
    const off = await service('no-deflate');
    expect(on.nativeHeap.unavailable).toBeNull();
    expect([on.failed, off.failed]).toEqual([0, 0]);
    const zlibHolder = holder(on, 'zlib')!;
    const direct = on.direct.perConnection - off.direct.perConnection;
    expect(zlibHolder.severity).toBe('warning');
    expect(Math.abs(zlibHolder.bytesPerConnection! - direct) / direct).toBeLessThan(0.15);
    expect(zlibHolder.relativeError).toBeLessThan(0.1);
    expect(holder(off, 'zlib')).toBeUndefined();
    // The text report leads with the holders: one line each, with the cost, its error and the fix.
    const lines = on.text.split('\n');
    const first = lines.findIndex((l) => l.startsWith('Holders'));
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(lines.findIndex((l) => l.startsWith('Findings')));
    expect(lines[first + 1]).toMatch(
      /^ {2}\[warning\] permessage-deflate \/ zlib compression contexts: [\d.]+ KiB per TLS connection ±\d+% — fix: perMessageDeflate: false/,
    );
    const finding = on.findings.find((f) => f.kind === 'holder' && f.evidence.holder === 'zlib')!;
    expect(finding.advice).toMatch(/serverMaxWindowBits/);
    // The probe's own per-category rows carry their Poisson error, 1/√ the sampled allocations they name.
    const rows = [...on.text.matchAll(/^ {2}([\w:-]+), tls +[\d.]+ KiB {2}\(R² [\d.]+, \d+ profiles, ±(\d+)% from (\d+) sampled allocations\)$/gm)];
    expect(
      rows.map((r) => r[1]),
      on.text,
    ).toEqual(expect.arrayContaining(['zlib', 'openssl', 'total']));
    for (const [, , percent, count] of rows) expect(Number(percent)).toBe(Math.max(1, Math.round((1 / Math.sqrt(Number(count))) * 100)));
    expect(on.elapsedMs + off.elapsedMs).toBeLessThan(50_000);
  }, 60_000);

  it('names SecureContexts made per connection, and says nothing of them when one context is shared', async () => {
    const perConnection = await service('context-per-connection');
    const shared = await service('shared-context');
    expect(holder(perConnection, 'secure-contexts')).toMatchObject({ severity: 'warning', method: 'regression' });
    expect(perConnection.findings.find((f) => f.evidence.holder === 'secure-contexts')!.advice).toMatch(/create each SecureContext once and reuse it/);
    expect(holder(shared, 'secure-contexts')).toBeUndefined();
    expect(perConnection.elapsedMs).toBeLessThan(60_000);
  }, 60_000);

  it('raises Buffers retained per connection, at the size retained, with the heap-snapshot fix and how to name their function', async () => {
    const result = await service('buffers');
    const buffers = holder(result, 'js-buffers')!;
    expect(buffers.severity).toBe('warning');
    expect(Math.abs(buffers.bytesPerConnection! - 128 * 1024) / (128 * 1024)).toBeLessThan(0.15);
    // Without V8's perf map the JIT frames carry no name: the advice says how to get one.
    expect(buffers.sites[0].jsFunction).toBeNull();
    const finding = result.findings.find((f) => f.evidence.holder === 'js-buffers')!;
    expect(finding.advice).toMatch(/heap snapshot/);
    expect(finding.advice).toContain('--perf-basic-prof-only-functions --interpreted-frames-native-stack');
    expect(finding.summary).not.toMatch(/allocated in/);
  }, 60_000);

  it("names the JS function that allocated the retained Buffers where V8's perf map is on", async () => {
    const result = await service('buffers', PERF_MAP_FLAGS);
    // The flags make V8 write its perf map and a small isolate log (in the working directory): both removed.
    rmSync(`/tmp/perf-${result.pid}.map`, { force: true });
    for (const file of readdirSync(root)) if (file.startsWith('isolate-') && file.endsWith(`-${result.pid}-v8.log`)) rmSync(join(root, file), { force: true });
    const buffers = holder(result, 'js-buffers')!;
    expect(buffers.severity).toBe('warning');
    expect(buffers.sites[0].jsFunction).toMatch(/^rememberHandshake \(.*holders-service\.js:\d+:\d+\)$/);
    const finding = result.findings.find((f) => f.evidence.holder === 'js-buffers')!;
    expect(finding.summary).toMatch(/allocated in rememberHandshake \(.*holders-service\.js:\d+\)/);
    expect(finding.advice).toMatch(/^The largest site's Buffers were allocated in rememberHandshake .*heap snapshot/);
    expect(finding.advice).not.toContain('--perf-basic-prof');
  }, 60_000);

  it('gives a healthy TLS service only info-level holders', async () => {
    const result = await service('healthy');
    expect(result.nativeHeap.holders.length).toBeGreaterThan(0);
    expect(result.nativeHeap.holders.map((h) => h.severity)).toEqual(result.nativeHeap.holders.map(() => 'info'));
    expect(result.findings.filter((f) => f.kind === 'holder' && f.severity !== 'info')).toEqual([]);
    expect(holder(result, 'tls-buffers')!.bytesPerConnection! / 65536).toBeGreaterThan(0.85);
  }, 60_000);
});
