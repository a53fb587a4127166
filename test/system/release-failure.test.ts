// A release that fails midway must not leave its 1 ms event-loop monitor and GC observer
// running in the host process.
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.mock('../../src/memory/release-slices', async (original) => ({
  ...(await original<typeof import('../../src/memory/release-slices')>()),
  releaseInSlices: async () => {
    throw Object.assign(new Error('glibc is not the allocator serving malloc in this process'), { code: 'ERR_ALLOCATOR_NOT_SERVING' });
  },
}));

import { releaseToOS } from '../../src/memory/release';
import { JsThreadMeter } from '../../src/memory/release-js-thread';

describe('releaseToOS() failing midway', () => {
  afterEach(() => vi.restoreAllMocks());

  it('rejects with the error and stops its event-loop monitor and GC observer', async () => {
    const disposed = vi.spyOn(JsThreadMeter.prototype, 'dispose');
    await expect(releaseToOS({ gc: false, shrinkHeap: false })).rejects.toMatchObject({ code: 'ERR_ALLOCATOR_NOT_SERVING' });
    expect(disposed).toHaveBeenCalledTimes(1);
    // The monitor really is off: its histogram gathers no more timer turns.
    const meter = disposed.mock.contexts[0] as unknown as { histogram: { count: number } };
    const count = meter.histogram.count;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(meter.histogram.count).toBe(count);
  });
});
