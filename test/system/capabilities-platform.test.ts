import { describe, expect, it } from 'vitest';
import { runFixture } from '../helpers/child';

interface Result {
  arch: string;
  node: string;
  capabilities: Record<string, unknown>;
}

// Every capability on every machine with a prebuild: test:arm64 runs this under an arm64 Node
// (SOCKPROBE_CHILD_ARCH=arm64), the suite under the machine's own.
describe('capabilities() on the machine under test', () => {
  it('reports every capability available, with glibc as the allocator', async () => {
    const { json } = await runFixture<Result>('capabilities.js');
    expect(json.arch).toBe(process.env.SOCKPROBE_CHILD_ARCH || process.arch);
    const { allocator, ...flags } = json.capabilities;
    expect(allocator).toBe('glibc');
    const unavailable = Object.entries(flags).filter(([, value]) => value !== true);
    expect(unavailable, `Node ${json.node} on ${json.arch}`).toEqual([]);
  });
});
