// Bun and Deno load Node-API addons, so sockprobe meets them in the wild. Each runs every public
// call once (test/fixtures/api-sweep.js) against the built package: what works must work, and
// what cannot must say why with a coded error, never crash or give a silent zero. The pinned
// runtimes come from the npm registry into a cache outside the tree (scripts/other-runtimes.mjs).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { installRuntime } from '../../scripts/other-runtimes.mjs';
import { root } from '../helpers/child';

type Sweep = Record<string, string>;

function sweep(name: 'bun' | 'deno', permissions?: string[]): Sweep {
  const installed = installRuntime(name);
  const { bin } = installed;
  const args = permissions ? ['run', ...permissions] : installed.args;
  const child = spawnSync(bin, [...args, path.join(root, 'test', 'fixtures', 'api-sweep.js'), root], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  expect(child.status, `${child.stdout}\n${child.stderr}`).toBe(0);
  return JSON.parse(child.stdout.trim().split('\n').pop()!);
}

const detail = (outcome: string) => JSON.parse(outcome.replace(/^ok: /, ''));
const uncoded = (outcomes: Sweep) => Object.entries(outcomes).filter(([, outcome]) => !/^(ok|coded ERR_[A-Z_]+): /.test(outcome));

describe('other runtimes', () => {
  beforeAll(() => {
    installRuntime('bun');
    installRuntime('deno');
  }, 600_000);

  it('Bun: the addon loads; allocator stats, release and sockets work; the rest says why', () => {
    const outcomes = sweep('bun');
    expect(uncoded(outcomes)).toEqual([]);
    for (const call of [
      'require',
      'allocator',
      'allocatorStats',
      'allocatorStatsAsync',
      'mallinfo',
      'releaseToOS',
      'socketSnapshot',
      'createProbe',
      'register',
    ]) {
      expect(outcomes[call], call).toMatch(/^ok: /);
    }
    const capabilities = detail(outcomes.capabilities);
    expect(capabilities.nativeAddon).toBe(true);
    expect(detail(outcomes.tcpInfo).state).toBe('ESTABLISHED');
    // JavaScriptCore's stand-in heap statistics would split RSS wrongly (its "physical size" is the RSS).
    expect(outcomes.memoryBreakdown).toMatch(/^coded ERR_UNSUPPORTED: memoryBreakdown\(\) is not available: Bun 1\.4\.5 runs JavaScriptCore/);
    expect(capabilities.memoryBreakdown).toMatch(/JavaScriptCore/);
    // Bun allocates through its own mimalloc: a malloc-hook profile would read near zero.
    expect(outcomes['nativeHeap.start']).toMatch(
      /^coded ERR_UNSUPPORTED: native heap profiling is not available: Bun 1\.4\.5 allocates through its own mimalloc/,
    );
    expect(capabilities.nativeHeapProfiling).toMatch(/mimalloc/);
    expect(outcomes['openssl.start']).toMatch(/^coded ERR_UNSUPPORTED: .*Bun 1\.4\.5's TLS is BoringSSL/);
    expect(capabilities.opensslTracking).toMatch(/BoringSSL/);
  }, 600_000);

  it('Deno: the addon loads; memory, the native heap profile and snapshots work; tcpInfo(socket) and OpenSSL say why', () => {
    const outcomes = sweep('deno');
    expect(uncoded(outcomes)).toEqual([]);
    for (const call of ['require', 'allocator', 'allocatorStats', 'releaseToOS', 'memoryBreakdown', 'socketSnapshot', 'createProbe', 'register']) {
      expect(outcomes[call], call).toMatch(/^ok: /);
    }
    const capabilities = detail(outcomes.capabilities);
    expect(capabilities.nativeAddon).toBe(true);
    expect(capabilities.nativeHeapProfiling).toBe(true);
    // Deno's V8 allocates Buffers with malloc: the profile sees what the fixture keeps.
    const profile = detail(outcomes['nativeHeap.start']);
    expect(profile.totalBytes).toBeGreaterThan(0.7 * profile.keptBytes);
    // Deno's node:net sockets carry no fd: the socket is open, so not ERR_SOCKET_CLOSED.
    expect(outcomes.tcpInfo).toMatch(/^coded ERR_UNSUPPORTED: socketOrFd: Deno 2\.9\.6's node:net sockets expose no file descriptor/);
    expect(capabilities.tcpInfo).toMatch(/no file descriptor/);
    expect(outcomes['openssl.start']).toMatch(/^coded ERR_UNSUPPORTED: .*rustls/);
  }, 600_000);

  it('Deno without --allow-ffi: sockprobe loads, and every probe names the permission to grant', () => {
    const outcomes = sweep('deno', ['--allow-read', '--allow-env', '--allow-net', '--allow-sys']);
    expect(uncoded(outcomes)).toEqual([]);
    expect(outcomes.require).toMatch(/^ok: /);
    expect(detail(outcomes.capabilities).nativeAddon).toMatch(/Deno loads native addons only with --allow-ffi/);
    expect(outcomes.allocatorStats).toMatch(/^coded ERR_NATIVE_UNAVAILABLE: .*--allow-ffi/);
  }, 120_000);

  it('Deno with --allow-ffi but not --allow-all: what reads /proc/self says so, with a coded error', () => {
    const outcomes = sweep('deno', ['--allow-read', '--allow-env', '--allow-net', '--allow-sys', '--allow-ffi']);
    expect(uncoded(outcomes)).toEqual([]);
    expect(outcomes.allocatorStats).toMatch(/^ok: /);
    expect(outcomes.memoryBreakdown).toMatch(/^coded ERR_UNSUPPORTED: \/proc\/self\/status could not be read \(.*--allow-all/);
  }, 120_000);
});
