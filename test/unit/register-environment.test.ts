import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { releaseOnReportFromEnvironment, settingsFromEnvironment } from '../../src/register-settings';

/**
 * sockprobe/register reads its settings from the environment when it is loaded; each test
 * loads it afresh over a fake addon with the variables it names, then stops the probe it
 * started and removes the SIGUSR2 listener it added.
 */
const VARIABLES = ['SOCKPROBE_INTERVAL_MS', 'SOCKPROBE_AUTO_RELEASE', 'SOCKPROBE_OPENSSL', 'SOCKPROBE_REPORT', 'SOCKPROBE_WORKERS'] as const;
const saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
let cleanup: Array<() => void> = [];

async function register(given: Partial<Record<(typeof VARIABLES)[number], string>>) {
  // The unit tier runs in worker threads, where register starts a probe only when asked.
  const env = { SOCKPROBE_WORKERS: '1', ...given };
  for (const name of VARIABLES) {
    if (env[name] === undefined) delete process.env[name];
    else process.env[name] = env[name];
  }
  vi.resetModules();
  (await import('../helpers/fake-native')).installFakeNative();
  const stderr: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr.push(String(chunk));
    return true;
  });
  const setInterval = vi.spyOn(globalThis, 'setInterval');
  const listenersBefore = process.listeners('SIGUSR2');
  const { probe } = await import('../../src/register');
  const added = process.listeners('SIGUSR2').filter((listener) => !listenersBefore.includes(listener));
  cleanup.push(() => {
    probe.stop();
    for (const listener of added) process.removeListener('SIGUSR2', listener);
  });
  const intervalMs = setInterval.mock.calls.at(-1)?.[1];
  return { probe, stderr, intervalMs, lines: () => stderr.join('').split('\n').filter(Boolean) };
}

afterEach(async () => {
  for (const step of cleanup) step();
  cleanup = [];
  vi.restoreAllMocks();
  for (const name of VARIABLES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  (await import('../../src/native')).setNativeForTesting(undefined);
});

describe('sockprobe/register settings from the environment', () => {
  it('starts a probe on the defaults, saying nothing, when nothing is set', async () => {
    const { probe, lines, intervalMs } = await register({});
    expect(probe.running).toBe(true);
    expect(intervalMs).toBe(1000);
    expect(lines()).toEqual([]);
  });

  it('takes valid values without a word', async () => {
    const { lines, intervalMs } = await register({ SOCKPROBE_INTERVAL_MS: ' 250 ', SOCKPROBE_AUTO_RELEASE: 'YES', SOCKPROBE_OPENSSL: 'off' });
    expect(intervalMs).toBe(250);
    expect(lines()).toEqual([]);
  });

  it("names each value it cannot read, with what it expected, and starts on that setting's default", async () => {
    const { probe, lines, intervalMs } = await register({ SOCKPROBE_INTERVAL_MS: 'abc', SOCKPROBE_AUTO_RELEASE: 'yes please', SOCKPROBE_OPENSSL: '2' });
    expect(probe.running).toBe(true);
    expect(intervalMs).toBe(1000);
    expect(lines()).toEqual([
      'sockprobe/register: SOCKPROBE_INTERVAL_MS="abc" is not a whole number of milliseconds from 10; sampling every 1000 ms',
      'sockprobe/register: SOCKPROBE_AUTO_RELEASE="yes please" is not one of 1/true/yes/on, ' +
        '0/false/no/off, paced or paced:<MiB per second, at least 1>; leaving it off',
      'sockprobe/register: SOCKPROBE_OPENSSL="2" is not one of 1/true/yes/on or 0/false/no/off; leaving it off',
    ]);
  });

  it('refuses intervals below 10 ms and fractions', async () => {
    for (const value of ['5', '12.5', '-100', '']) {
      const { lines, intervalMs } = await register({ SOCKPROBE_INTERVAL_MS: value });
      expect(intervalMs).toBe(1000);
      expect(lines()[0]).toContain(`SOCKPROBE_INTERVAL_MS=${JSON.stringify(value)} is not a whole number`);
    }
  });
});

describe('report files, one per process', () => {
  it('puts the pid before the extension, or where {pid} says', async () => {
    const { reportPath } = await import('../../src/register-report');
    expect(reportPath('/var/log/report.html', 4242)).toBe('/var/log/report.4242.html');
    expect(reportPath('/var/log/report', 4242)).toBe('/var/log/report.4242');
    expect(reportPath('/var/log/.report', 4242)).toBe('/var/log/.report.4242');
    expect(reportPath('report.tar.txt', 7)).toBe('report.tar.7.txt');
    expect(reportPath('./r.txt', 7)).toBe('r.7.txt');
    expect(reportPath('/tmp/{pid}/sockprobe-{pid}.txt', 7)).toBe('/tmp/7/sockprobe-7.txt');
  });

  it('names the process in the first line: pid, cluster role, when', async () => {
    const { reportHeader } = await import('../../src/register-report');
    expect(reportHeader({ pid: 12, role: null }, Date.UTC(2026, 11, 3, 14, 0, 0))).toBe('sockprobe report — pid 12, written 2026-12-03T14:00:00.000Z');
    expect(reportHeader({ pid: 13, role: 'cluster worker 2, primary pid 12' }, 0)).toMatch(
      /^sockprobe report — pid 13 \(cluster worker 2, primary pid 12\), written 1970/,
    );
  });

  it("writes a file whole: a reader never sees another writer's truncation, and no temporary file stays", async () => {
    const { writeWhole } = await import('../../src/register-report');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockprobe-whole-'));
    const file = path.join(dir, 'r.txt');
    const big = 'x'.repeat(4 * 1024 * 1024);
    const write = (text: string) => new Promise<NodeJS.ErrnoException | null>((resolve) => writeWhole(file, text, resolve));
    fs.writeFileSync(file, 'previous report\n');
    const pending = write(big);
    // Until the rename, the previous report is there whole (a plain writeFile truncates it first).
    expect(fs.readFileSync(file, 'utf8')).toBe('previous report\n');
    expect(await pending).toBeNull();
    expect(fs.readFileSync(file, 'utf8')).toBe(big);
    expect(fs.readdirSync(dir)).toEqual(['r.txt']);
    expect(await write('y')).toBeNull();
    expect(fs.readFileSync(file, 'utf8')).toBe('y');
    fs.rmSync(dir, { recursive: true });
  });
});

describe('SOCKPROBE_WORKERS', () => {
  it("leaves a worker thread's probe dormant unless set: no timer, no listener, made on first use", async () => {
    expect((await import('node:worker_threads')).isMainThread).toBe(false);
    const { probe, intervalMs, lines } = await register({ SOCKPROBE_WORKERS: undefined });
    expect([probe.running, intervalMs, lines(), probe.samples(), probe.ownMemoryBytes()]).toEqual([false, undefined, [], [], 0]);
    expect(probe.start().running).toBe(true);
    probe.stop();
    expect(probe.running).toBe(false);
  });

  it('is off unless set, and named when it cannot be read', async () => {
    const { workersFromEnvironment } = await import('../../src/register-settings');
    const said: string[] = [];
    expect(workersFromEnvironment({}, (line) => said.push(line))).toBe(false);
    expect(workersFromEnvironment({ SOCKPROBE_WORKERS: 'yes' }, (line) => said.push(line))).toBe(true);
    expect(workersFromEnvironment({ SOCKPROBE_WORKERS: 'all' }, (line) => said.push(line))).toBe(false);
    expect(said).toEqual(['SOCKPROBE_WORKERS="all" is not one of 1/true/yes/on or 0/false/no/off; leaving it off']);
  });
});

describe('SOCKPROBE_AUTO_RELEASE', () => {
  const read = (value: string | undefined) => {
    const said: string[] = [];
    return { autoRelease: settingsFromEnvironment({ SOCKPROBE_AUTO_RELEASE: value }, (line) => said.push(line)).autoRelease, said };
  };

  it('takes the switch words, and paced or paced:<MiB/s> for a paced autoRelease', () => {
    expect(read(undefined)).toEqual({ autoRelease: false, said: [] });
    expect(read('On')).toEqual({ autoRelease: true, said: [] });
    expect(read('no')).toEqual({ autoRelease: false, said: [] });
    expect(read(' PACED ')).toEqual({ autoRelease: { pace: true }, said: [] });
    expect(read('paced:32')).toEqual({ autoRelease: { pace: { bytesPerSecond: 32 * 1024 * 1024 } }, said: [] });
    expect(read('paced: 1.5')).toEqual({ autoRelease: { pace: { bytesPerSecond: 1.5 * 1024 * 1024 } }, said: [] });
  });

  it('names a pace it cannot use and leaves autoRelease off', () => {
    for (const value of ['paced:0.5', 'paced:', 'paced:fast', 'paced:-4', 'slow']) {
      const { autoRelease, said } = read(value);
      expect(autoRelease).toBe(false);
      expect(said).toEqual([
        `SOCKPROBE_AUTO_RELEASE=${JSON.stringify(value)} is not one of 1/true/yes/on, 0/false/no/off, ` +
          `paced or paced:<MiB per second, at least 1>; leaving it off`,
      ]);
    }
  });

  it('SOCKPROBE_MEMORY_LIMIT makes it limit-aware: cgroup or a size, on unless autoRelease is set off', () => {
    const limit = (env: Record<string, string>) => {
      const said: string[] = [];
      return { autoRelease: settingsFromEnvironment(env, (line) => said.push(line)).autoRelease, said };
    };
    expect(limit({ SOCKPROBE_MEMORY_LIMIT: 'cgroup' })).toEqual({ autoRelease: { memoryLimit: 'cgroup' }, said: [] });
    expect(limit({ SOCKPROBE_MEMORY_LIMIT: '512MiB', SOCKPROBE_AUTO_RELEASE: 'paced:8' })).toEqual({
      autoRelease: { memoryLimit: 512 * 1024 * 1024, pace: { bytesPerSecond: 8 * 1024 * 1024 } },
      said: [],
    });
    expect(limit({ SOCKPROBE_MEMORY_LIMIT: '1.5GiB' }).autoRelease).toEqual({ memoryLimit: 1.5 * 1024 ** 3 });
    expect(limit({ SOCKPROBE_MEMORY_LIMIT: '2097152' }).autoRelease).toEqual({ memoryLimit: 2097152 });
    expect(limit({ SOCKPROBE_MEMORY_LIMIT: 'cgroup', SOCKPROBE_AUTO_RELEASE: 'off' })).toEqual({
      autoRelease: false,
      said: ['SOCKPROBE_MEMORY_LIMIT="cgroup" is not used: SOCKPROBE_AUTO_RELEASE turns autoRelease off'],
    });
    for (const value of ['host', '512', '0.5MiB', '12KB', '-1GiB']) {
      expect(limit({ SOCKPROBE_MEMORY_LIMIT: value })).toEqual({
        autoRelease: false,
        said: [`SOCKPROBE_MEMORY_LIMIT=${JSON.stringify(value)} is not cgroup or a size of at least 1 MiB (bytes, or <n>MiB, <n>GiB); no limit-aware release`],
      });
    }
  });

  it('starts the registered probe with a paced autoRelease, saying nothing', async () => {
    // createProbe validates the pace (an unusable one throws); probe-logic checks the policy hands it to releaseToOS().
    const { probe, lines } = await register({ SOCKPROBE_AUTO_RELEASE: 'paced:8' });
    expect(probe.running).toBe(true);
    expect(lines()).toEqual([]);
  });
});

describe('the report on SIGUSR2', () => {
  it('goes to stderr by default', async () => {
    const { stderr } = await register({});
    process.emit('SIGUSR2', 'SIGUSR2');
    // Built a part a turn: it arrives a few turns later, ending with what it held the JS thread.
    await vi.waitFor(() =>
      expect(stderr.join('')).toMatch(
        new RegExp(`^sockprobe report — pid ${process.pid}, written \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\nsockprobe report — 0 samples`),
      ),
    );
    expect(stderr.join('')).toMatch(
      /\nWriting this report held the JS thread [\d.]+ ms at most in one turn \([\d.]+ ms in \d+ turns over \d+ ms; longest: .+\)\.\n$/,
    );
  });

  it("goes to SOCKPROBE_REPORT when it names a file: this process's own, the pid before the extension", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockprobe-unit-'));
    await register({ SOCKPROBE_REPORT: path.join(dir, 'report.txt') });
    process.emit('SIGUSR2', 'SIGUSR2');
    const file = path.join(dir, `report.${process.pid}.txt`);
    await vi.waitFor(() => expect(fs.readFileSync(file, 'utf8')).toMatch(new RegExp(`^sockprobe report — pid ${process.pid}, `)));
    expect(fs.readdirSync(dir)).toEqual([`report.${process.pid}.txt`]);
    fs.rmSync(dir, { recursive: true });
  });

  it('says so on stderr when the report path cannot be written', async () => {
    const { lines } = await register({ SOCKPROBE_REPORT: '/no/such/dir/r.txt' });
    process.emit('SIGUSR2', 'SIGUSR2');
    await vi.waitFor(() =>
      expect(lines()).toEqual([
        `sockprobe/register: cannot write the report to /no/such/dir/r.${process.pid}.txt ` +
          `(SOCKPROBE_REPORT=/no/such/dir/r.txt): ${lines()[0]?.split(': ').slice(2).join(': ')}`,
      ]),
    );
    expect(lines()[0]).toMatch(/ENOENT/);
  });
});

describe('SOCKPROBE_NATIVE_HEAP', () => {
  const read = (value: string | undefined, interval?: string) => {
    const said: string[] = [];
    return {
      nativeHeapProfile: settingsFromEnvironment({ SOCKPROBE_NATIVE_HEAP: value, SOCKPROBE_NATIVE_HEAP_INTERVAL_MS: interval }, (line) => said.push(line))
        .nativeHeapProfile,
      said,
    };
  };
  const refused = (value: string) =>
    `SOCKPROBE_NATIVE_HEAP=${JSON.stringify(value)} is not one of 1/true/yes/on, 0/false/no/off or ` +
    `a mean sample size in bytes from 1024 to 1073741824 (a number, or with k/KiB or m/MiB: 64k, ` +
    `1MiB); leaving it off`;

  it('takes the switch words: on is the profiler default sample size', () => {
    expect(read(undefined)).toEqual({ nativeHeapProfile: false, said: [] });
    expect(read('')).toEqual({ nativeHeapProfile: false, said: [] });
    expect(read('1')).toEqual({ nativeHeapProfile: true, said: [] });
    expect(read(' On ')).toEqual({ nativeHeapProfile: true, said: [] });
    expect(read('off')).toEqual({ nativeHeapProfile: false, said: [] });
  });

  it('takes a sample size in bytes, plain or with k/KiB/m/MiB, so an operator trades cost for precision', () => {
    expect(read('65536')).toEqual({ nativeHeapProfile: { sampleBytes: 65536 }, said: [] });
    expect(read('4096')).toEqual({ nativeHeapProfile: { sampleBytes: 4096 }, said: [] });
    expect(read('64k')).toEqual({ nativeHeapProfile: { sampleBytes: 65536 }, said: [] });
    expect(read('128 KiB')).toEqual({ nativeHeapProfile: { sampleBytes: 131072 }, said: [] });
    expect(read('1MiB')).toEqual({ nativeHeapProfile: { sampleBytes: 1048576 }, said: [] });
    expect(read('1.5m')).toEqual({ nativeHeapProfile: { sampleBytes: 1572864 }, said: [] });
    expect(read('1024m')).toEqual({ nativeHeapProfile: { sampleBytes: 2 ** 30 }, said: [] });
  });

  it('takes a profile interval from 1000 ms beside it', () => {
    expect(read('on', '5000')).toEqual({ nativeHeapProfile: { intervalMs: 5000 }, said: [] });
    expect(read('64k', ' 1000 ')).toEqual({ nativeHeapProfile: { sampleBytes: 65536, intervalMs: 1000 }, said: [] });
  });

  it('refuses sizes below 1 KiB, above 1 GiB, negative, fractional bytes of no unit, and unknown units; leaves profiling off and says so', () => {
    for (const value of ['2', '1023', '2g', '1025m', '-65536', 'lots', '64q', '0x1000', '64 k b']) {
      expect(read(value)).toEqual({ nativeHeapProfile: false, said: [refused(value)] });
    }
  });

  it('refuses an interval under 1000 ms or not whole, and ignores one with profiling off, saying which', () => {
    expect(read('on', '500')).toEqual({
      nativeHeapProfile: true,
      said: ['SOCKPROBE_NATIVE_HEAP_INTERVAL_MS="500" is not a whole number of milliseconds from 1000; profiling every 60000 ms'],
    });
    expect(read('on', '1.5e3')).toEqual({
      nativeHeapProfile: true,
      said: ['SOCKPROBE_NATIVE_HEAP_INTERVAL_MS="1.5e3" is not a whole number of milliseconds from 1000; profiling every 60000 ms'],
    });
    expect(read('off', '5000')).toEqual({
      nativeHeapProfile: false,
      said: ['SOCKPROBE_NATIVE_HEAP_INTERVAL_MS="5000" is ignored: SOCKPROBE_NATIVE_HEAP is off'],
    });
  });

  it('starts the registered probe with that sample size', async () => {
    process.env.SOCKPROBE_NATIVE_HEAP = '64k';
    try {
      const { probe, lines } = await register({});
      expect(probe.running).toBe(true);
      expect(lines()).toEqual([]);
      await vi.waitFor(() => expect(probe.report().nativeHeap).toMatchObject({ requested: true }));
    } finally {
      delete process.env.SOCKPROBE_NATIVE_HEAP;
    }
  });
});

describe('SOCKPROBE_RELEASE_ON_REPORT', () => {
  it('is off by default, on for the switch words, and a bad value is named and left off', () => {
    const said: string[] = [];
    const read = (value: string | undefined) => releaseOnReportFromEnvironment({ SOCKPROBE_RELEASE_ON_REPORT: value }, (line) => said.push(line));
    expect(read(undefined)).toBe(false);
    expect(read('1')).toBe(true);
    expect(read('on')).toBe(true);
    expect(read('0')).toBe(false);
    expect(said).toEqual([]);
    expect(read('sometimes')).toBe(false);
    expect(said).toEqual(['SOCKPROBE_RELEASE_ON_REPORT="sometimes" is not one of 1/true/yes/on or 0/false/no/off; leaving it off']);
  });
});
