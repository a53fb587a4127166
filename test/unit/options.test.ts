/**
 * One validator per option: every entry point that takes sampleBytes or a pace refuses the same
 * values with the same code and takes the same edges. The library's entry points throw coded
 * errors; sockprobe/register never throws into its host, so it names the value and leaves the
 * setting off; the CLI refuses with a usage error.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_PACE_BYTES_PER_SECOND, MIN_PACE_BYTES_PER_SECOND, paceOption } from '../../src/options/pace';
import { DEFAULT_SAMPLE_BYTES, MAX_SAMPLE_BYTES, MIN_SAMPLE_BYTES, parseSize, sampleBytesOption } from '../../src/options/sample-bytes';

const codeOf = (run: () => unknown): string => {
  try {
    run();
    return 'accepted';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
};

/** The modules afresh over the fake addon. Its allocator is one releaseToOS() does not know, so a
 *  release that passes validation ends at once with ERR_UNSUPPORTED instead of trimming. */
async function load() {
  vi.resetModules();
  const { installFakeNative } = await import('../helpers/fake-native');
  installFakeNative((fake) => {
    fake.owner = { ...fake.owner, glibc: false, jemalloc: false, tcmalloc: false, mimalloc: false };
  });
  const { nativeHeap } = await import('../../src/native-heap');
  const { createProbe } = await import('../../src/probe/probe');
  const { releaseToOS } = await import('../../src/memory/release');
  const { AutoReleasePolicy } = await import('../../src/probe/auto-release');
  const { settingsFromEnvironment } = await import('../../src/register-settings');
  const { parseFlags } = await import('../../src/cli/args');
  const { PULSE_FLAGS } = await import('../../src/cli/pulse-command');
  return { nativeHeap, createProbe, releaseToOS, AutoReleasePolicy, settingsFromEnvironment, parseFlags, PULSE_FLAGS };
}

afterEach(async () => {
  (await import('../../src/native')).setNativeForTesting(undefined);
});

const BAD_SAMPLE_VALUES: Array<[unknown, string]> = [
  [0, 'ERR_INVALID_ARG_VALUE'],
  [-4096, 'ERR_INVALID_ARG_VALUE'],
  [MIN_SAMPLE_BYTES - 1, 'ERR_INVALID_ARG_VALUE'],
  [MAX_SAMPLE_BYTES + 1, 'ERR_INVALID_ARG_VALUE'],
  [4096.5, 'ERR_INVALID_ARG_VALUE'],
  [Number.NaN, 'ERR_INVALID_ARG_VALUE'],
  [Number.POSITIVE_INFINITY, 'ERR_INVALID_ARG_VALUE'],
  ['65536', 'ERR_INVALID_ARG_TYPE'],
  [null, 'ERR_INVALID_ARG_TYPE'],
];
const GOOD_SAMPLE_VALUES = [MIN_SAMPLE_BYTES, DEFAULT_SAMPLE_BYTES, MAX_SAMPLE_BYTES];

describe('sampleBytes: one range at every entry point', () => {
  it('the validator names the range and defaults to 512 KiB', () => {
    expect(sampleBytesOption('x', undefined)).toBe(512 * 1024);
    expect(() => sampleBytesOption('options.sampleBytes', 0)).toThrow('Expected an integer from 1024 to 1073741824 (1 KiB to 1 GiB) for options.sampleBytes');
  });

  it('nativeHeap.start() and createProbe() refuse the same values with the same codes', async () => {
    const { nativeHeap, createProbe } = await load();
    for (const [value, code] of BAD_SAMPLE_VALUES) {
      expect([value, codeOf(() => nativeHeap.start({ sampleBytes: value as number }))]).toEqual([value, code]);
      expect([value, codeOf(() => nativeHeap.session({ sampleBytes: value as number }))]).toEqual([value, code]);
      expect([value, codeOf(() => createProbe({ nativeHeapProfile: { sampleBytes: value as number } }))]).toEqual([value, code]);
    }
  });

  it('nativeHeap.start() and createProbe() take the edges', async () => {
    const { nativeHeap, createProbe } = await load();
    for (const sampleBytes of GOOD_SAMPLE_VALUES) {
      const session = nativeHeap.start({ sampleBytes });
      expect(session.sampleBytes).toBe(sampleBytes);
      nativeHeap.stop();
      expect(codeOf(() => createProbe({ nativeHeapProfile: { sampleBytes } }))).toBe('accepted');
    }
  });

  it('SOCKPROBE_NATIVE_HEAP and --native-sample-bytes refuse the same numbers and take the same edges', async () => {
    const { settingsFromEnvironment, parseFlags, PULSE_FLAGS } = await load();
    const env = (value: string) => {
      const said: string[] = [];
      const profile = settingsFromEnvironment({ SOCKPROBE_NATIVE_HEAP: value }, (line) => said.push(line)).nativeHeapProfile;
      return { profile, said: said.length };
    };
    const flag = (value: string) => codeOf(() => parseFlags(['--native-sample-bytes', value], PULSE_FLAGS));
    // 0 is a switch word there (off), so it is left out.
    for (const [value] of BAD_SAMPLE_VALUES.filter(([v]) => typeof v === 'number' && Number.isFinite(v) && v !== 0)) {
      expect([value, env(String(value))]).toEqual([value, { profile: false, said: 1 }]);
      expect([value, flag(String(value))]).not.toEqual([value, 'accepted']);
    }
    for (const value of GOOD_SAMPLE_VALUES) {
      expect(env(String(value))).toEqual({ profile: { sampleBytes: value }, said: 0 });
      expect(flag(String(value))).toBe('accepted');
    }
    expect(parseSize('1k')).toBe(MIN_SAMPLE_BYTES);
    expect(parseSize('1024m')).toBe(MAX_SAMPLE_BYTES);
  });
});

const BAD_PACES: Array<[unknown, string]> = [
  [{ bytesPerSecond: MIN_PACE_BYTES_PER_SECOND - 1 }, 'ERR_INVALID_ARG_VALUE'],
  [{ bytesPerSecond: 0 }, 'ERR_INVALID_ARG_VALUE'],
  [{ bytesPerSecond: -MIN_PACE_BYTES_PER_SECOND }, 'ERR_INVALID_ARG_VALUE'],
  [{ bytesPerSecond: Number.NaN }, 'ERR_INVALID_ARG_VALUE'],
  [{ bytesPerSecond: Number.POSITIVE_INFINITY }, 'ERR_INVALID_ARG_VALUE'],
  [{ bytesPerSecond: '64' }, 'ERR_INVALID_ARG_TYPE'],
  ['fast', 'ERR_INVALID_ARG_TYPE'],
  [null, 'ERR_INVALID_ARG_TYPE'],
];

describe('pace: one grammar and one floor at every entry point', () => {
  it('the validator: true is the default pace, an object without a rate too, false none', () => {
    expect(paceOption('pace', true, false)).toEqual({ bytesPerSecond: DEFAULT_PACE_BYTES_PER_SECOND });
    expect(paceOption('pace', {}, false)).toEqual({ bytesPerSecond: DEFAULT_PACE_BYTES_PER_SECOND });
    expect(paceOption('pace', undefined, true)).toEqual({ bytesPerSecond: DEFAULT_PACE_BYTES_PER_SECOND });
    expect(paceOption('pace', undefined, false)).toBe(false);
    expect(() => paceOption('options.pace', { bytesPerSecond: 1 }, false)).toThrow(
      'Expected a finite number of at least 1048576 (1 MiB/s) for options.pace.bytesPerSecond but received number 1',
    );
  });

  it('releaseToOS() and autoRelease refuse the same paces with the same codes', async () => {
    const { releaseToOS, AutoReleasePolicy, createProbe } = await load();
    for (const [pace, code] of BAD_PACES) {
      const released = await releaseToOS({ pace: pace as false }).then(
        () => 'accepted',
        (error: { code?: string }) => error.code,
      );
      expect([pace, released]).toEqual([pace, code]);
      expect([pace, codeOf(() => new AutoReleasePolicy({ pace: pace as boolean }))]).toEqual([pace, code]);
      expect([pace, codeOf(() => createProbe({ autoRelease: { pace: pace as boolean } }))]).toEqual([pace, code]);
    }
  });

  it('releaseToOS() and autoRelease take the floor, true and false', async () => {
    const { releaseToOS, AutoReleasePolicy } = await load();
    for (const pace of [{ bytesPerSecond: MIN_PACE_BYTES_PER_SECOND }, true, false]) {
      // Past validation, the fake's unknown allocator is refused.
      const released = await releaseToOS({ pace }).then(
        () => 'ran',
        (error: { code?: string }) => error.code,
      );
      expect([pace, released]).toEqual([pace, 'ERR_UNSUPPORTED']);
      expect(codeOf(() => new AutoReleasePolicy({ pace }))).toBe('accepted');
    }
  });

  it('SOCKPROBE_AUTO_RELEASE=paced:<MiB/s> holds the same floor', async () => {
    const { settingsFromEnvironment } = await load();
    const env = (value: string) => settingsFromEnvironment({ SOCKPROBE_AUTO_RELEASE: value }, () => {}).autoRelease;
    expect(env(`paced:${MIN_PACE_BYTES_PER_SECOND / 1048576}`)).toEqual({ pace: { bytesPerSecond: MIN_PACE_BYTES_PER_SECOND } });
    expect(env('paced:0.99')).toBe(false);
    expect(env('paced')).toEqual({ pace: true });
  });
});
