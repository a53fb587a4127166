import { describe, expect, it } from 'vitest';
import { runFixture } from '../helpers/child';

interface Result {
  capability: true | string;
  badInput: Record<string, string>;
  activeAfterBadInput: boolean;
  beforeStart: string;
  activeAfterStart: boolean;
  conflict: string;
  activeAfterStop: boolean;
  afterStop: string;
  sampleBytes: number;
  expectedBytes: number;
  bufferBytesLive: number;
  bufferBytesFreed: number;
  totalBytes: number;
  categorySum: number;
  sortedBySize: boolean;
  source: string;
  startedBeforeTaken: boolean;
  hasJavascriptFrame: boolean;
  namedFrames: number;
  frames: number;
  ownFrames: number;
  hexAddresses: boolean;
  error?: string;
}

describe('nativeHeap API', () => {
  it('refuses bad input with typed errors, keeps its lifecycle, and profiles blocks it can account for', async () => {
    const { json } = await runFixture<Result>('native-heap-api.js', { nodeArgs: ['--expose-gc'] });
    expect(json.error).toBeUndefined();
    expect(json.capability).toBe(true);
    const { zero, negative, fraction, nan, infinity, string, options, rawString, rawMissing, rawFraction } = json.badInput;
    for (const code of [zero, negative, fraction, nan, infinity]) expect(code).toBe('SockprobeTypeError:ERR_INVALID_ARG_VALUE');
    expect(string).toBe('SockprobeTypeError:ERR_INVALID_ARG_TYPE');
    expect(options).toBe('SockprobeTypeError:ERR_INVALID_ARG_TYPE');
    // The raw binding throws too (no abort): a coded TypeError, rebuilt by the seam.
    expect(rawString).toBe('SockprobeTypeError:ERR_INVALID_ARG_TYPE');
    expect(rawMissing).toBe('SockprobeTypeError:ERR_INVALID_ARG_TYPE');
    expect(rawFraction).toBe('SockprobeTypeError:ERR_INVALID_ARG_VALUE');
    expect(json.activeAfterBadInput).toBe(false);
    expect(json.beforeStart).toBe('SockprobeError:ERR_NOT_STARTED');
    expect(json.activeAfterStart).toBe(true);
    expect(json.conflict).toBe('SockprobeError:ERR_SESSION_CONFLICT');
    expect(json.activeAfterStop).toBe(false);
    expect(json.afterStop).toBe('SockprobeError:ERR_NOT_STARTED');
    // A second start() kept the running session's sampling.
    expect(json.sampleBytes).toBe(32 * 1024);
    // 1000 blocks of 64 KiB the fixture holds: the Buffer call site's estimate within 10%
    // (each 64 KiB block is sampled with probability 1 − e^−2, ~865 samples) ...
    expect(Math.abs(json.bufferBytesLive - json.expectedBytes) / json.expectedBytes).toBeLessThanOrEqual(0.1);
    // ... and once freed they are gone from the live profile.
    expect(json.bufferBytesFreed).toBeLessThan(json.expectedBytes * 0.02);
    expect(json.categorySum).toBe(json.totalBytes);
    expect(json.sortedBySize).toBe(true);
    expect(json.source).toMatch(/GOT/);
    expect(json.startedBeforeTaken).toBe(true);
    // The allocating function was compiled by V8: its frame is marked as JavaScript.
    expect(json.hasJavascriptFrame).toBe(true);
    expect(json.namedFrames).toBeGreaterThan(json.frames / 2);
    expect(json.ownFrames).toBe(0);
    expect(json.hexAddresses).toBe(true);
  });
});
