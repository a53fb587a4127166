import { describe, expect, it } from 'vitest';
import { runFixture } from '../helpers/child';

interface Probes {
  tcpInfoCapability: true | string;
  snapshotCapability: true | string;
  tcpInfo: { value?: string; error?: { code: string; message: string } };
  snapshotError?: { code: string; message: string };
}

// capabilities() checks the kernel once with a throwaway listener and a netlink socket. A service
// whose fd table is full (what CLOSE_WAIT leaks end in) must not get the socket probes called
// unsupported, then or for the rest of its life, because that check could not open its sockets.
type Result = { filled: number; full: Probes; freed: Probes; snapshotPorts: number[] | null; localPort: number };

function expectWorkingOnceFreed(json: Result): void {
  expect(json.freed.tcpInfoCapability).toBe(true);
  expect(json.freed.snapshotCapability).toBe(true);
  expect(json.freed.tcpInfo).toEqual({ value: 'ESTABLISHED' });
  expect(json.freed.snapshotError).toBeUndefined();
  expect(json.snapshotPorts).toContain(json.localPort);
}

describe('the socket probes checked while the fd table is full', () => {
  it('addon loaded before: both stay available, tcpInfo() answers with no fd free, the snapshot once a few are', async () => {
    const { json } = await runFixture<Result>('net-support-fd-full.js', { args: ['warm'], timeoutMs: 60_000 });
    expect(json.filled).toBeGreaterThan(64);
    expect(json.full.tcpInfoCapability).toBe(true);
    expect(json.full.snapshotCapability).toBe(true);
    expect(json.full.tcpInfo).toEqual({ value: 'ESTABLISHED' });
    expectWorkingOnceFreed(json);
  });

  it('addon first loaded with no fd free: says so and that it tries again, and works once fds are free', async () => {
    const { json } = await runFixture<Result>('net-support-fd-full.js', { args: ['cold'], timeoutMs: 60_000 });
    expect(json.full.tcpInfoCapability).toMatch(/no fd or memory to spare .* the next call tries again/);
    expect(json.full.tcpInfo.error?.code).toBe('ERR_NATIVE_UNAVAILABLE');
    expectWorkingOnceFreed(json);
  });
});
