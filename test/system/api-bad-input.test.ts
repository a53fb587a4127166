import { describe, expect, it } from 'vitest';
import { runFixture } from '../helpers/child';

interface Outcome {
  name: string;
  threw: string | null;
  code?: string | null;
  message?: string;
}

describe('bad input never crashes the host', () => {
  it('the raw binding throws coded TypeErrors or returns; the process survives', async () => {
    const run = await runFixture<Outcome[]>('bad-input.js');
    expect(run.code).toBe(0);
    expect(run.signal).toBeNull();
    const thrown = run.json.filter((o) => o.threw !== null);
    expect(thrown.length).toBeGreaterThan(50);
    for (const outcome of thrown) {
      expect(outcome.code, `${outcome.name}: ${outcome.message}`).toMatch(/^ERR_/);
    }
  });

  it('public calls name the bad argument in one message format', async () => {
    const sockprobe = await import('../../src/index');
    await expect(sockprobe.releaseToOS(5 as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: 'Expected an object for options but received number 5',
    });
    await expect(sockprobe.releaseToOS({ gc: 'yes' } as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: 'Expected a boolean for options.gc but received string "yes"',
    });
    await expect(sockprobe.releaseToOS({ shrinkHeap: 'soon' } as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: `Expected a boolean or 'blocking' for options.shrinkHeap but received string "soon"`,
    });
  });
});
