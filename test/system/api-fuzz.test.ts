import { describe, expect, it } from 'vitest';
import { runFixture } from '../helpers/child';

interface FuzzResult {
  calls: number;
  targets: number;
  counts: Record<string, number>;
  undocumented: unknown[];
  undocumentedCount: number;
}

describe('fuzzing every export and the raw binding', () => {
  it('10,000 generated calls: no abort, nothing thrown but documented coded errors', async () => {
    const run = await runFixture<FuzzResult>('fuzz.js', { args: ['10000'], timeoutMs: 240_000 });
    expect(run.signal).toBeNull();
    expect(run.stderr).not.toMatch(/FATAL ERROR|Segmentation|Aborted/);
    expect(run.code).toBe(0);
    expect(run.json.calls).toBeGreaterThanOrEqual(10_000);
    expect(run.json.undocumented).toEqual([]);
    // Every target was reached.
    expect(Object.keys(run.json.counts).length).toBe(run.json.targets);
  }, 300_000);
});
