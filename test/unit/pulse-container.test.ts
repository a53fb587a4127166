import { describe, expect, it } from 'vitest';
import type { ContainerMemory } from '../../src/container/interpret';
import { pulseContainer } from '../../src/experiments/pulse';

const reading = (fields: Partial<ContainerMemory>): ContainerMemory => ({
  version: 1,
  path: '/g',
  directory: '/sys/fs/cgroup/memory/g',
  limitBytes: null,
  highBytes: null,
  usageBytes: null,
  workingSetBytes: null,
  stat: {} as ContainerMemory['stat'],
  events: {} as ContainerMemory['events'],
  pressure: null,
  sources: {},
  missing: {},
  readMs: 0,
  ...fields,
});

describe("the pulse report's memory limit", () => {
  it('takes the limit, its file and the working set from containerMemory()', () => {
    expect(pulseContainer(reading({ limitBytes: 1 << 30, workingSetBytes: 40e6, sources: { limitBytes: 'memory.limit_in_bytes' } }))).toEqual({
      limitBytes: 1 << 30,
      limitSource: 'memory.limit_in_bytes',
      workingSetBytes: 40e6,
      reason: null,
    });
  });

  it("says why there is no line, in containerMemory()'s words: no limit, or no group", () => {
    expect(pulseContainer(reading({ missing: { limitBytes: 'memory.max reads "max": no limit' } })).reason).toBe('memory.max reads "max": no limit');
    expect(pulseContainer(reading({ version: null, missing: { version: 'no memory controller in /proc/self/cgroup' } })).reason).toBe(
      'no memory controller in /proc/self/cgroup',
    );
  });

  it('reads this process when given nothing, and always gives a limit or a reason', () => {
    const own = pulseContainer();
    expect(own.limitBytes === null).toBe(own.reason !== null);
  });
});
