import { describe, expect, it } from 'vitest';
import { emulated, runFixture } from '../helpers/child';

interface Result {
  arch: string;
  node: string;
  capabilities: Record<string, unknown>;
}

interface NetResult {
  arch: string;
  tcpInfoCapability: true | string;
  snapshotCapability: true | string;
  localPort: number;
  tcpInfo?: { state: string; tcpInfoLength: number; sndMss: number | null };
  tcpInfoError?: { code: string; message: string };
  snapshotLocalPorts?: number[];
  snapshotError?: { code: string; message: string };
}

// Under qemu-user (test:arm64, SOCKPROBE_CHILD_EMULATED=1) the emulator copies 4 bytes of
// TCP_INFO and refuses NETLINK_SOCK_DIAG sockets: those two must say so, everything else holds.
const EMULATOR_REFUSES = emulated ? ['socketSnapshot', 'tcpInfo'] : [];

// Every capability on every machine with a prebuild: test:arm64 runs this under an arm64 Node
// (SOCKPROBE_CHILD_ARCH=arm64), the suite under the machine's own.
describe('capabilities() on the machine under test', () => {
  it(`reports every capability available${emulated ? ' but the socket probes the emulator refuses' : ''}, with glibc as the allocator`, async () => {
    const { json } = await runFixture<Result>('capabilities.js');
    expect(json.arch).toBe(process.env.SOCKPROBE_CHILD_ARCH || process.arch);
    const { allocator, ...flags } = json.capabilities;
    expect(allocator).toBe('glibc');
    const unavailable = Object.entries(flags).filter(([, value]) => value !== true);
    expect(unavailable.map(([name]) => name).sort(), `Node ${json.node} on ${json.arch}: ${JSON.stringify(unavailable)}`).toEqual(EMULATOR_REFUSES);
  });

  it('socket probes: what capabilities() says is what tcpInfo() and socketSnapshot() do', async () => {
    const { json } = await runFixture<NetResult>('net-support.js', { timeoutMs: emulated ? 100_000 : 30_000 });
    if (emulated) {
      // Not an empty tcp_info, not an obscure syscall error: ERR_UNSUPPORTED with the reason capabilities() gave.
      expect(json.tcpInfoCapability).toMatch(/TCP_INFO\) filled \d+ bytes/);
      expect(json.tcpInfo).toBeUndefined();
      expect(json.tcpInfoError?.code).toBe('ERR_UNSUPPORTED');
      expect(json.tcpInfoError?.message).toContain(json.tcpInfoCapability);
      expect(json.snapshotCapability).toMatch(/NETLINK_SOCK_DIAG/);
      expect(json.snapshotLocalPorts).toBeUndefined();
      expect(json.snapshotError?.code).toBe('ERR_UNSUPPORTED');
      expect(json.snapshotError?.message).toContain(json.snapshotCapability);
      return;
    }
    expect(json.tcpInfoCapability).toBe(true);
    expect(json.snapshotCapability).toBe(true);
    expect(json.tcpInfoError).toBeUndefined();
    expect(json.tcpInfo?.state).toBe('ESTABLISHED');
    expect(json.tcpInfo?.tcpInfoLength).toBeGreaterThanOrEqual(104);
    expect(json.tcpInfo?.sndMss).toBeGreaterThan(0);
    expect(json.snapshotError).toBeUndefined();
    expect(json.snapshotLocalPorts).toContain(json.localPort);
  });
});
