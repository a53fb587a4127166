import { describe, expect, it } from 'vitest';
import { runFixture, type PreloadName } from '../helpers/child';

describe.each<PreloadName>(['glibc', 'jemalloc'])('the addon across threads and teardown under %s', (name) => {
  it('serves the main thread and several workers at once, survives workers terminated with releases pending, and exits with work queued', async () => {
    const run = await runFixture<{ terminated: number; completed: number; mainCalls: number }>('lifecycle-workers.js', { preload: name });
    expect(run.signal).toBeNull();
    expect(run.stderr).not.toMatch(/FATAL ERROR/);
    expect(run.code).toBe(0);
    expect(run.json).toEqual({ terminated: 6, completed: 6, mainCalls: 60 });
  });
});
