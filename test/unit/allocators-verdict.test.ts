import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BUILT_IN_CONFIGURATIONS,
  chooseConfigurations,
  dockerfileLines,
  hostHugePages,
  parseUserConfiguration,
  QUICK_CONFIGURATIONS,
  resolveConfiguration,
  systemdLines,
  type AllocatorConfiguration,
  type ResolvedConfiguration,
} from '../../src/allocators/configurations';
import { parseLoadOutput } from '../../src/allocators/load-output';
import { parseLoad } from '../../src/allocators/load';
import type { RunResult } from '../../src/allocators/run-result';
import { median, medianInterval, pairedChange, percentile, spread } from '../../src/allocators/stats';
import { buildVerdict, changeText, costSentence } from '../../src/allocators/verdict';
import { EnvironmentError, UsageError } from '../../src/cli/args';
import { interleave, takeConfigs } from '../../src/cli/allocators-command';

const MiB = 1048576;

describe('allocators: medians and intervals', () => {
  it('takes the median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('gives the distribution-free 95% interval from 6 values, none below', () => {
    expect(medianInterval([5, 1, 4, 2, 6, 3])).toEqual([1, 6]); // k = 1: P(Bin(6,½) < 1) = 1/64
    expect(medianInterval([1, 2, 3, 4, 5])).toBeNull();
    // n = 10: k = 2 (P(Bin(10,½) < 2) = 11/1024 ≤ 2.5%, < 3 is 56/1024).
    expect(medianInterval([10, 9, 8, 7, 6, 5, 4, 3, 2, 1])).toEqual([2, 9]);
  });

  it('says which spread it gives: one run, a range, or the interval', () => {
    expect(spread([7])).toEqual({ median: 7, low: 7, high: 7, kind: 'one', n: 1 });
    expect(spread([3, 1, 2])).toEqual({ median: 2, low: 1, high: 3, kind: 'range', n: 3 });
    expect(spread([1, 2, 3, 4, 5, 6])?.kind).toBe('95%');
    expect(spread([])).toBeNull();
  });

  it('pairs the change with the reference by round and leaves out rounds missing either', () => {
    const change = pairedChange([90, 120, null, 60], [100, 100, 100, 0])!;
    expect(change).toMatchObject({ kind: 'range', n: 2 });
    expect(change.median).toBeCloseTo(0.05, 12);
    expect(change.low).toBeCloseTo(-0.1, 12);
    expect(change.high).toBeCloseTo(0.2, 12);
  });

  it('takes percentiles by nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile([5], 99)).toBe(5);
  });
});

function run(configuration: string, round: number, settledMiB: number, throughput: number, p99: number, stall: number | null = null): RunResult {
  return {
    configuration,
    round,
    servedBy: 'glibc',
    load: { throughput, throughputUnit: 'req/s', latencyP50Ms: p99 / 2, latencyP99Ms: p99, wallMs: 1000, source: 'test', connections: null },
    rss: { beforeLoad: 50 * MiB, peak: 200 * MiB, afterLoad: 190 * MiB, settled: settledMiB * MiB, afterRelease: 60 * MiB },
    releaseStallMs: 20,
    autoReleaseStallMs: stall,
    autoReleases: stall === null ? 0 : 1,
    loopDelayP99Ms: 5,
    allocatorInUse: 40 * MiB,
    allocatorFree: 10 * MiB,
    cpuMs: 1500,
    series: [[0, 50 * MiB]],
    marks: { loadStart: 100, loadEnd: 1100, release: 2100 },
  };
}

const config = (name: string, release = false): ResolvedConfiguration => ({
  configuration: BUILT_IN_CONFIGURATIONS.find((c) => c.name === name)!,
  library: name.startsWith('jemalloc') ? '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2' : null,
  skipped: release ? 'not here' : null,
});

describe('allocators: the verdict', () => {
  const resolved = [config('glibc'), config('jemalloc-bg'), config('glibc-arena2+release'), config('tcmalloc', true)];
  const runs = [
    // Three rounds, interleaved: jemalloc-bg keeps less RSS at a small throughput cost; arena2 is fastest, with a stall.
    ...[1, 2, 3].map((r) => run('glibc', r, 160 + r, 1000 + r, 10)),
    ...[1, 2, 3].map((r) => run('jemalloc-bg', r, 100 + r, 980 + r, 11)),
    ...[1, 2, 3].map((r) => run('glibc-arena2+release', r, 120 + r, 1100 + r, 9, 30)),
  ];

  it.each([
    ['rss', ['jemalloc-bg', 'glibc-arena2+release', 'glibc']],
    ['throughput', ['glibc-arena2+release', 'glibc', 'jemalloc-bg']],
    ['latency', ['glibc-arena2+release', 'glibc', 'jemalloc-bg']],
    ['balanced', ['glibc-arena2+release', 'jemalloc-bg', 'glibc']],
  ] as const)('sorts by %s', (goal, order) => {
    const verdict = buildVerdict(resolved, runs, goal, 'glibc');
    expect(verdict.rows.map((r) => r.name)).toEqual(order);
    expect(verdict.best?.name).toBe(order[0]);
    expect(verdict.skipped).toEqual([{ name: 'tcmalloc', reason: 'not here' }]);
  });

  it('states the cost against the default, paired by round, with its spread', () => {
    const verdict = buildVerdict(resolved, runs, 'rss', 'glibc');
    const row = verdict.rows[0];
    // (101/161, 102/162, 103/163) − 1: median −37.0%, range −37.3% … −36.8%.
    expect(row.versusDefault?.settledRss?.median).toBeCloseTo(102 / 162 - 1, 10);
    expect(verdict.best?.sentence).toBe(
      'jemalloc, background purge: 37% less RSS after the spike (range −37% … −37%), peak RSS +0% (range +0% … +0%), throughput −2% (range −2% … −2%), ' +
        'p99 latency +10% (range +10% … +10%), no release stall (sockprobe does not release)',
    );
    expect(verdict.best?.dockerfile).toEqual([
      'RUN apt-get update && apt-get install -y --no-install-recommends libjemalloc2',
      'ENV LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
      'ENV MALLOC_CONF=background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0',
    ]);
  });

  it('balanced counts the peak: a configuration that settles lowest but peaks far higher does not win', () => {
    const peaked = (r: RunResult, peakMiB: number): RunResult => ({ ...r, rss: { ...r.rss, peak: peakMiB * MiB } });
    const both = [config('glibc'), config('glibc-thp+release'), config('jemalloc-bg+release')];
    const spikeRuns = [1, 2, 3].flatMap((r) => [
      peaked(run('glibc', r, 340, 1000, 100), 340),
      // Like glibc with huge pages after the 5000-connection spike (docs/benchmarks.md): settles at 80, peaks at 590.
      peaked(run('glibc-thp+release', r, 80, 1000, 100, 30), 590),
      peaked(run('jemalloc-bg+release', r, 85, 1000, 100, 30), 320),
    ]);
    expect(buildVerdict(both, spikeRuns, 'rss', 'glibc').best?.name).toBe('glibc-thp+release');
    const balanced = buildVerdict(both, spikeRuns, 'balanced', 'glibc');
    expect(balanced.best?.name).toBe('jemalloc-bg+release');
    const thp = balanced.rows.find((r) => r.name === 'glibc-thp+release')!;
    expect(thp.versusDefault?.peakRss?.median).toBeCloseTo(590 / 340 - 1, 10);
    expect(costSentence(thp, 'glibc')).toContain('peak RSS +74% (range +74% … +74%)');
  });

  it("gives a spike's peak growth per held connection, and none for a load command (its connections unknown)", () => {
    const spiked = [1, 2, 3].map((r) => {
      const one = run('glibc', r, 160, 1000, 10);
      return { ...one, load: { ...one.load, connections: 1000 }, rss: { ...one.rss, peak: (150 + r) * MiB } };
    });
    const row = buildVerdict([config('glibc')], spiked, 'rss', 'glibc').rows[0];
    // (peak − before the load) ÷ 1000: (101, 102, 103) MiB ÷ 1000.
    expect(row.peakPerConnection).toMatchObject({ median: (102 * MiB) / 1000, low: (101 * MiB) / 1000, high: (103 * MiB) / 1000 });
    expect(buildVerdict(resolved, runs, 'rss', 'glibc').rows.every((r) => r.peakPerConnection === null)).toBe(true);
  });

  it('names the autoRelease stall of a release configuration and says when a change is within the noise', () => {
    const balanced = buildVerdict(resolved, runs, 'balanced', 'glibc');
    expect(balanced.best?.sentence).toContain("autoRelease's longest loop stall 30.0 ms (median of rounds)");
    const noisy = [...[1, 2, 3].map((r) => run('glibc', r, 100, 1000, 10)), ...[1, 2, 3].map((r) => run('jemalloc-bg', r, [95, 99, 104][r - 1], 1000, 10))];
    const verdict = buildVerdict([config('glibc'), config('jemalloc-bg')], noisy, 'rss', 'glibc');
    expect(verdict.best?.sentence).toContain('the RSS change is not told apart from the noise');
  });

  it('without the default, ranks but does not compare', () => {
    const verdict = buildVerdict([config('jemalloc-bg')], runs, 'rss', 'glibc');
    expect(verdict.defaultName).toBeNull();
    expect(verdict.best?.sentence).toContain('the default did not run: no comparison');
  });

  it('writes percentages with their sign and interval kind', () => {
    expect(changeText({ median: -0.38, low: -0.4, high: -0.35, kind: '95%', n: 6 })).toBe('−38% (95%: −40% … −35%)');
    expect(changeText({ median: 0.01, low: 0.01, high: 0.01, kind: 'one', n: 1 })).toBe('+1% (one round)');
  });
});

describe('allocators: configurations', () => {
  it('has each base without and with sockprobe release, and the settings the issue asks for', () => {
    const names = BUILT_IN_CONFIGURATIONS.map((c) => c.name);
    expect(names).toHaveLength(20);
    expect(names.filter((n) => n.endsWith('+release'))).toHaveLength(10);
    const env = (name: string) => BUILT_IN_CONFIGURATIONS.find((c) => c.name === name)!.env;
    expect(env('glibc-arena2').GLIBC_TUNABLES).toBe('glibc.malloc.arena_max=2');
    expect(env('glibc-mmap64k').GLIBC_TUNABLES).toContain('glibc.malloc.mmap_threshold=65536');
    expect(env('glibc-thp').GLIBC_TUNABLES).toBe('glibc.malloc.hugetlb=1');
    expect(env('tcmalloc-rate10').TCMALLOC_RELEASE_RATE).toBe('10');
    expect(env('mimalloc-purge0')).toMatchObject({ MIMALLOC_RESET_DELAY: '0', MIMALLOC_PURGE_DELAY: '0' });
  });

  it('reads --config, joining MALLOC_CONF pieces that hold commas', () => {
    const c = parseUserConfiguration('mine=LD_PRELOAD=jemalloc,MALLOC_CONF=narenas:2,dirty_decay_ms:500,SOCKPROBE_AUTO_RELEASE=1');
    expect(c).toEqual({
      name: 'mine',
      label: 'mine (--config)',
      allocator: 'jemalloc',
      env: { MALLOC_CONF: 'narenas:2,dirty_decay_ms:500' },
      release: true,
      preload: 'jemalloc',
    });
    expect(parseUserConfiguration('plain=GLIBC_TUNABLES=glibc.malloc.arena_max=1')).toMatchObject({
      allocator: 'glibc',
      env: { GLIBC_TUNABLES: 'glibc.malloc.arena_max=1' },
    });
    expect(() => parseUserConfiguration('bad name=X=1')).toThrow(UsageError);
    expect(() => parseUserConfiguration('x=lower=1')).toThrow(/not an environment variable name/);
  });

  it('skips a configuration whose library the linker cache lacks, with the finder’s reason', () => {
    const missing = () => {
      throw new EnvironmentError('tcmalloc is not installed: none of libtcmalloc_minimal.so.4 is in the linker cache');
    };
    const tcmalloc = BUILT_IN_CONFIGURATIONS.find((c) => c.name === 'tcmalloc')!;
    expect(resolveConfiguration(tcmalloc, missing)).toEqual({
      configuration: tcmalloc,
      library: null,
      skipped: 'tcmalloc is not installed: none of libtcmalloc_minimal.so.4 is in the linker cache',
    });
    const glibc = BUILT_IN_CONFIGURATIONS[0];
    expect(resolveConfiguration(glibc, missing).skipped).toBeNull();
    const ghost: AllocatorConfiguration = parseUserConfiguration('ghost=LD_PRELOAD=/nowhere/libmimalloc.so.2');
    expect(resolveConfiguration(ghost, missing).skipped).toBe('LD_PRELOAD=/nowhere/libmimalloc.so.2 does not exist');
  });

  it('skips glibc-thp where the host has no transparent huge pages or glibc is older than 2.35, saying which', () => {
    const thp = BUILT_IN_CONFIGURATIONS.find((c) => c.name === 'glibc-thp+release')!;
    const none = () => '';
    expect(resolveConfiguration(thp, none, { thpMode: 'madvise', glibc: '2.36' }).skipped).toBeNull();
    expect(resolveConfiguration(thp, none, { thpMode: 'always', glibc: '2.39' }).skipped).toBeNull();
    expect(resolveConfiguration(thp, none, { thpMode: 'never', glibc: '2.36' }).skipped).toMatch(
      /^glibc\.malloc\.hugetlb=1 needs transparent huge pages \(\/sys\/kernel\/mm\/transparent_hugepage\/enabled: never\)/,
    );
    expect(resolveConfiguration(thp, none, { thpMode: null, glibc: '2.36' }).skipped).toMatch(/enabled: unreadable\)/);
    expect(resolveConfiguration(thp, none, { thpMode: 'madvise', glibc: '2.31' }).skipped).toMatch(/needs glibc 2\.35 or later \(this is 2\.31\)/);
    // Plain glibc never asks for huge pages.
    expect(resolveConfiguration(BUILT_IN_CONFIGURATIONS[0], none, { thpMode: 'never', glibc: null }).skipped).toBeNull();
    // This host, read for real: the kernel's own file, and glibc's version as Node reports it.
    const host = hostHugePages();
    const enabled = fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
    expect(enabled).toContain(`[${host.thpMode}]`);
    expect(host.glibc).toMatch(/^2\.\d+$/);
  });

  it('filters with --only in the order given and refuses unknown or taken names', () => {
    expect(chooseConfigurations([], ['jemalloc', 'glibc']).map((c) => c.name)).toEqual(['jemalloc', 'glibc']);
    expect(() => chooseConfigurations([], ['nope'])).toThrow(/--only nope: no such configuration/);
    expect(() => chooseConfigurations([parseUserConfiguration('glibc=X=1')], null)).toThrow(/that name is taken/);
  });

  it('expands the quick and all sets: all by default with your service, quick (and your --config) with the built-in one', () => {
    const mine = parseUserConfiguration('mine=LD_PRELOAD=jemalloc,MALLOC_CONF=narenas:2');
    const names = (list: AllocatorConfiguration[]) => list.map((c) => c.name);
    expect(names(chooseConfigurations([mine], null))).toEqual([...BUILT_IN_CONFIGURATIONS.map((c) => c.name), 'mine']);
    expect(names(chooseConfigurations([mine], null, 'quick'))).toEqual([...QUICK_CONFIGURATIONS, 'mine']);
    // Every quick name is a built-in one, each without and with sockprobe's release.
    for (const name of QUICK_CONFIGURATIONS) expect(BUILT_IN_CONFIGURATIONS.map((c) => c.name)).toContain(name);
    expect(QUICK_CONFIGURATIONS.filter((n) => n.endsWith('+release')).map((n) => n.replace('+release', ''))).toEqual(
      QUICK_CONFIGURATIONS.filter((n) => !n.endsWith('+release')),
    );
    // A set expands in place; a name met twice runs once.
    expect(names(chooseConfigurations([], ['tcmalloc', 'quick', 'glibc']))).toEqual(['tcmalloc', ...QUICK_CONFIGURATIONS]);
    expect(chooseConfigurations([mine], ['all'])).toHaveLength(BUILT_IN_CONFIGURATIONS.length + 1);
    expect(() => chooseConfigurations([parseUserConfiguration('quick=X=1')], null)).toThrow(/--config quick: that name is taken \(a set --only expands\)/);
  });

  it('writes systemd lines, quoting what has spaces', () => {
    const resolved = { configuration: BUILT_IN_CONFIGURATIONS.find((c) => c.name === 'glibc-arena2+release')!, library: null, skipped: null };
    expect(systemdLines(resolved)).toEqual([
      'Environment=GLIBC_TUNABLES=glibc.malloc.arena_max=2',
      'Environment="NODE_OPTIONS=-r sockprobe/register"',
      'Environment=SOCKPROBE_AUTO_RELEASE=1',
    ]);
    expect(dockerfileLines({ configuration: BUILT_IN_CONFIGURATIONS[0], library: null, skipped: null })).toEqual([
      '# nothing to set: the default is the choice',
    ]);
  });
});

describe('allocators: load and order', () => {
  it('reads autocannon, k6 and sockprobe-load output', () => {
    const autocannon = [
      '│ Stat    │ 2.5% │ 50%  │ 97.5% │ 99%  │ Avg     │ Stdev   │ Max   │',
      '│ Latency │ 0 ms │ 1 ms │ 3 ms  │ 4 ms │ 1.2 ms  │ 0.9 ms  │ 21 ms │',
      '',
      '123k requests in 10.02s, 25 MB read',
    ].join('\n');
    expect(parseLoadOutput(autocannon)).toEqual({
      throughput: 123000 / 10.02,
      throughputUnit: 'req/s',
      latencyP50Ms: 1,
      latencyP99Ms: 4,
      source: 'autocannon',
    });
    const k6 = [
      '     http_req_duration..............: avg=2.1ms    min=410µs   med=1.8ms  max=95ms   p(90)=3.2ms  p(95)=4.1ms p(99)=9.5ms',
      '     http_reqs......................: 48213   4820.77/s',
    ].join('\n');
    expect(parseLoadOutput(k6)).toEqual({ throughput: 4820.77, throughputUnit: 'req/s', latencyP50Ms: 1.8, latencyP99Ms: 9.5, source: 'k6' });
    expect(parseLoadOutput('noise\nsockprobe-load {"throughput":12.5,"unit":"msg/s","p50Ms":3,"p99Ms":8}\n')).toEqual({
      throughput: 12.5,
      throughputUnit: 'msg/s',
      latencyP50Ms: 3,
      latencyP99Ms: 8,
      source: 'sockprobe-load line',
    });
    expect(parseLoadOutput('done').source).toBe('wall time only');
  });

  it('parses spike loads and refuses what it cannot run', () => {
    expect(parseLoad('spike:wss:300', 1000)).toEqual({ type: 'spike', client: 'wss', connections: 300, holdMs: 1000 });
    expect(parseLoad('autocannon -c 100 https://127.0.0.1:8443', 5000)).toEqual({
      type: 'command',
      command: 'autocannon -c 100 https://127.0.0.1:8443',
      timeoutMs: 5000,
    });
    expect(() => parseLoad('spike:udp:10', 1000)).toThrow(UsageError);
    expect(() => parseLoad('spike:tls:30000', 1000)).toThrow(/from 1 to 20000/);
  });

  it('rotates the configurations each round so each meets every position', () => {
    expect(interleave(['a', 'b', 'c'], 3).map((x) => `${x.round}${x.item}`)).toEqual(['1a', '1b', '1c', '2b', '2c', '2a', '3c', '3a', '3b']);
    // Over as many rounds as configurations, each configuration runs once at each position of a round.
    const items = ['a', 'b', 'c', 'd', 'e', 'f'];
    const order = interleave(items, 6);
    for (const item of items) {
      const positions = order.map((x, i) => (x.item === item ? i % items.length : -1)).filter((p) => p >= 0);
      expect(positions.sort()).toEqual([0, 1, 2, 3, 4, 5]);
    }
    expect(takeConfigs(['--config', 'a=X=1', '--idle', '2', '--config', 'b=Y=2'])).toEqual({ configs: ['a=X=1', 'b=Y=2'], rest: ['--idle', '2'] });
  });
});
