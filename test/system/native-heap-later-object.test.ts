import { describe, expect, it } from 'vitest';
import { runFixture } from '../helpers/child';

interface Result {
  before: number;
  after: number;
  problem: string;
  problemAgain: string;
  startError: string | null;
  sampleBytes: number;
  afterStop: number;
  restoreLeft: number;
  error?: string;
}

// A second copy of the addon loaded (from another path) while the profiler runs: profile()
// patches the copy's own operator new/delete slots; the copy refuses to start with a
// reason naming the first copy, since the executable's slots already hold its hooks; stop()
// puts every slot back, and the copy then may profile.
describe('native heap profiler and objects loaded after start()', () => {
  it('patches them at the next profile(), refuses a second profiler, and restores everything', async () => {
    const { json } = await runFixture<Result>('native-heap-later-object.js');
    expect(json.error).toBeUndefined();
    expect(json.before).toBeGreaterThan(0);
    expect(json.after).toBeGreaterThan(json.before);
    expect(json.startError).toBe('ERR_UNSUPPORTED');
    expect(json.problem).toMatch(
      /^another copy of sockprobe \(.*\/build\/Release\/sockprobe\.node\) holds the malloc slots: \d+ of the executable's GOT slots/,
    );
    expect(json.problemAgain).toBe('');
    expect(json.sampleBytes).toBe(65536);
    expect(json.afterStop).toBe(0);
    expect(json.restoreLeft).toBe(0);
  });
});
