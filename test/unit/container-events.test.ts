/**
 * The memory cgroup's event watch: which counters moved (pure), the v2 inotify path and the v1
 * poll over a directory laid out as a group (files written as the kernel words them), and the
 * probe keeping what the watch reports. The real kernel's OOM kill is in test/system/container-events.test.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { movedCounters, watchMemoryEvents, watchMemoryEventsAt, type MemoryEventRecord, type MemoryEventsWatch } from '../../src/container/events';
import type { ContainerMemoryEvents } from '../../src/container/interpret';
import { createProbe } from '../../src/probe/probe';
import { renderReport } from '../../src/probe/report';
import type { ProbeSources } from '../../src/probe/sources';
import { makeSample } from '../helpers/samples';

const MiB = 1024 * 1024;
const none: ContainerMemoryEvents = { low: null, high: null, max: null, oom: null, oomKill: null, oomGroupKill: null };
const events = (text: Record<string, number>) =>
  Object.entries(text)
    .map(([k, v]) => `${k} ${v}`)
    .join('\n') + '\n';

const dirs: string[] = [];
const watches: MemoryEventsWatch[] = [];
afterEach(() => {
  for (const w of watches.splice(0)) w.stop();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function group(version: 1 | 2, files: Record<string, string>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sockprobe-events-v${version}-`));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return { version, path: '/test', directory: dir, mountPoint: path.dirname(dir), readOnly: false };
}

function until<T>(read: () => T | undefined, ms: number): Promise<T> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      const value = read();
      if (value !== undefined) return resolve(value);
      if (Date.now() - started > ms) return reject(new Error(`nothing within ${ms} ms`));
      setTimeout(tick, 5);
    };
    tick();
  });
}

describe('movedCounters', () => {
  it('names each counter that rose, and not one that fell (a reset) or is unread', () => {
    const before = { ...none, max: 10, oomKill: 0, high: 5 };
    const after = { ...none, max: 12, oomKill: 1, high: 3, oom: 4 };
    expect(movedCounters(before, after)).toEqual([
      { counter: 'max', from: 10, to: 12 },
      { counter: 'oomKill', from: 0, to: 1 },
    ]);
    expect(movedCounters(after, after)).toEqual([]);
  });
});

describe('watchMemoryEventsAt', () => {
  const v2Events = { low: 0, high: 3, max: 0, oom: 0, oom_kill: 0, oom_group_kill: 0 };
  const v2Files = {
    'memory.events': events(v2Events),
    'memory.max': `${512 * MiB}\n`,
    'memory.current': `${300 * MiB}\n`,
    'memory.stat': events({ anon: 250 * MiB, file: 40 * MiB, inactive_file: 30 * MiB, active_file: 10 * MiB }),
  };

  it('v2: a modify event on memory.events reports the counter that moved, with the limit and working set then', async () => {
    const location = group(2, v2Files);
    const seen: MemoryEventRecord[] = [];
    const watch = watchMemoryEventsAt(location, (r) => seen.push(r), { intervalMs: 60_000 });
    watches.push(watch);
    expect(watch.unavailable).toBeNull();
    expect(watch.method).toBe('inotify');
    const wrote = Date.now();
    fs.writeFileSync(path.join(location.directory, 'memory.events'), events({ ...v2Events, high: 4, oom: 1, oom_kill: 1 }));
    // The poll is a minute away: only the notification can deliver it this soon.
    await until(() => (seen.length >= 3 ? true : undefined), 2000);
    expect(seen.map((r) => r.counter).sort()).toEqual(['high', 'oom', 'oomKill']);
    const kill = seen.find((r) => r.counter === 'oomKill')!;
    expect(kill).toMatchObject({
      from: 0,
      to: 1,
      source: 'memory.events oom_kill',
      method: 'inotify',
      limitBytes: 512 * MiB,
      usageBytes: 300 * MiB,
      workingSetBytes: 270 * MiB,
    });
    expect(kill.time - wrote).toBeLessThan(1000);
    expect(watch.cost().reads).toBeGreaterThanOrEqual(2);
  });

  it('v2: a burst of notifications is read a few times, not once each, and the last value is never missed', async () => {
    const location = group(2, v2Files);
    const seen: MemoryEventRecord[] = [];
    const watch = watchMemoryEventsAt(location, (r) => seen.push(r), { intervalMs: 60_000 });
    watches.push(watch);
    const readsBefore = watch.cost().reads;
    // 50 writes within ~50 ms, as a group throttled above memory.high would signal them.
    for (let high = 4; high < 54; high++) {
      fs.writeFileSync(path.join(location.directory, 'memory.events'), events({ ...v2Events, high }));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await until(() => (seen.at(-1)?.to === 53 ? true : undefined), 2000);
    expect(watch.cost().reads - readsBefore).toBeLessThan(10);
    // Each record carries the span it covers: together they run from 3 to 53 without a gap.
    expect(seen[0].from).toBe(3);
    for (let i = 1; i < seen.length; i++) expect(seen[i].from).toBe(seen[i - 1].to);
  });

  it('v1: memory.oom_control oom_kill and memory.failcnt polled', async () => {
    const oomControl = (kills: number) => `oom_kill_disable 0\nunder_oom 0\noom_kill ${kills}\n`;
    const location = group(1, {
      'memory.oom_control': oomControl(2),
      'memory.failcnt': '7\n',
      'memory.limit_in_bytes': `${256 * MiB}\n`,
      'memory.usage_in_bytes': `${200 * MiB}\n`,
      'memory.stat': events({ total_inactive_file: 8 * MiB }),
    });
    const seen: MemoryEventRecord[] = [];
    const watch = watchMemoryEventsAt(location, (r) => seen.push(r), { intervalMs: 50 });
    watches.push(watch);
    expect(watch.method).toBe('poll 50 ms');
    fs.writeFileSync(path.join(location.directory, 'memory.oom_control'), oomControl(3));
    fs.writeFileSync(path.join(location.directory, 'memory.failcnt'), '9\n');
    await until(() => (seen.length >= 2 ? true : undefined), 2000);
    expect(seen.find((r) => r.counter === 'oomKill')).toMatchObject({
      from: 2,
      to: 3,
      source: 'memory.oom_control oom_kill',
      limitBytes: 256 * MiB,
      workingSetBytes: 192 * MiB,
    });
    expect(seen.find((r) => r.counter === 'max')).toMatchObject({ from: 7, to: 9, source: 'memory.failcnt' });
    // Stopped: nothing more is read or reported.
    watch.stop();
    const reads = watch.cost().reads;
    fs.writeFileSync(path.join(location.directory, 'memory.oom_control'), oomControl(4));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(watch.cost().reads).toBe(reads);
    expect(seen.length).toBe(2);
  });

  it('a group whose counters cannot be read is a watch that says why, not a throw', () => {
    const watch = watchMemoryEventsAt(group(2, {}), () => undefined);
    expect(watch.method).toBeNull();
    expect(watch.unavailable).toMatch(/memory\.events .* could not be read/);
  });

  it('a listener that throws does not stop the watch', async () => {
    const location = group(2, v2Files);
    let calls = 0;
    const watch = watchMemoryEventsAt(
      location,
      () => {
        calls++;
        throw new Error('listener');
      },
      { intervalMs: 30, forcePoll: true },
    );
    watches.push(watch);
    fs.writeFileSync(path.join(location.directory, 'memory.events'), events({ ...v2Events, high: 4 }));
    await until(() => (calls >= 1 ? true : undefined), 2000);
    fs.writeFileSync(path.join(location.directory, 'memory.events'), events({ ...v2Events, high: 5 }));
    await until(() => (calls >= 2 ? true : undefined), 2000);
  });

  it('this process: watches its own group or says why it cannot', () => {
    const watch = watchMemoryEvents(() => undefined);
    watches.push(watch);
    expect(watch.method === null).toBe(watch.unavailable !== null);
  });
});

describe('the probe keeps the events its watch reports', () => {
  function sources(watch: { fire?: (r: MemoryEventRecord) => void; stopped: number }): ProbeSources {
    const s = makeSample(0, {});
    return {
      memory: () => ({ rss: s.rss, heapUsed: s.heapUsed, heapTotal: s.heapTotal, external: s.external, arrayBuffers: s.arrayBuffers }),
      allocator: async () => ({ allocated: null, free: null }),
      opensslLive: () => null,
      connections: () => null,
      sockets: () => null,
      release: async () => {
        throw new Error('not here');
      },
      allocatorName: () => 'test',
      container: async () => ({ limitBytes: 512 * MiB, usageBytes: 300 * MiB, workingSetBytes: 280 * MiB, limitSource: 'memory.max' }),
      watchContainerEvents(onEvent, options) {
        expect(options.intervalMs).toBe(100);
        watch.fire = onEvent;
        return {
          method: 'poll 100 ms',
          unavailable: null,
          cost: () => ({ reads: 1, totalMs: 0.05, maxMs: 0.05 }),
          counters: () => ({ ...none, max: 9, oomKill: 3 }),
          stop: () => void watch.stopped++,
        };
      },
    };
  }

  it('records, reports and renders them; samples carry the OOM kill count; stop() ends the watch', async () => {
    const watch: { fire?: (r: MemoryEventRecord) => void; stopped: number } = { stopped: 0 };
    const probe = createProbe({ sources: sources(watch), containerEvents: { intervalMs: 100 } }).start();
    watch.fire!({
      time: Date.UTC(2026, 11, 3, 15),
      counter: 'oomKill',
      from: 0,
      to: 1,
      source: 'memory.oom_control oom_kill',
      method: 'poll 100 ms',
      limitBytes: 512 * MiB,
      usageBytes: 510 * MiB,
      workingSetBytes: 505 * MiB,
    });
    expect(probe.containerEvents().map((r) => r.counter)).toEqual(['oomKill']);
    const report = probe.report();
    expect(report.containerEvents).toMatchObject({ method: 'poll 100 ms', unavailable: null, records: [{ counter: 'oomKill', to: 1 }] });
    expect(renderReport(report)).toMatch(
      /memory\.oom_control oom_kill 0 → 1: the kernel OOM-killed a process in this container; working set 505\.0 MiB of a 512\.0 MiB limit/,
    );
    expect((await probe.sample()).container).toMatchObject({ limitBytes: 512 * MiB, oomKills: 3 });
    probe.stop();
    expect(watch.stopped).toBe(1);
  });

  it('keeps kills apart from breaches: 100 high breaches do not push out an OOM kill', () => {
    const watch: { fire?: (r: MemoryEventRecord) => void; stopped: number } = { stopped: 0 };
    const probe = createProbe({ sources: sources(watch), containerEvents: { intervalMs: 100 } }).start();
    const record = (i: number, counter: MemoryEventRecord['counter']): MemoryEventRecord => ({
      time: 1000 + i,
      counter,
      from: i,
      to: i + 1,
      source: 'memory.events',
      method: 'inotify',
      limitBytes: null,
      usageBytes: null,
      workingSetBytes: null,
    });
    watch.fire!(record(0, 'oomKill'));
    for (let i = 1; i <= 100; i++) watch.fire!(record(i, 'high'));
    const kept = probe.containerEvents();
    expect(kept[0].counter).toBe('oomKill');
    expect(kept.filter((r) => r.counter === 'high').map((r) => r.from)).toEqual(Array.from({ length: 32 }, (_, i) => 69 + i));
    probe.stop();
  });

  it('containerEvents: false watches nothing; a bad value is a coded error', () => {
    const watch: { fire?: (r: MemoryEventRecord) => void; stopped: number } = { stopped: 0 };
    const probe = createProbe({ sources: sources(watch), containerEvents: false }).start();
    expect(watch.fire).toBeUndefined();
    expect(probe.report().containerEvents).toBeUndefined();
    probe.stop();
    expect(() => createProbe({ containerEvents: { intervalMs: 0 } })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => createProbe({ containerEvents: 'yes' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});
