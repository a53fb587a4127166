import { appendFileSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { frameName, JsNames, MAX_NAMES, PerfMap, scriptOf } from '../../src/native-heap/js-names';
import { TurnSlicer } from '../../src/native-heap/slicer';

// Recorded from /tmp/perf-<pid>.map of `node --perf-basic-prof --interpreted-frames-native-stack`
// running a loop over retainBuffers(): Node 20.20.2, then Node 26.12.1 (Maglev's `+'` tier).
const NODE20 = [
  '18c4000 300 Builtin:DeoptimizationEntry_Eager',
  '7ff5427e3b80 378 JS:~retainBuffers /tmp/jsn/rec.js:1:23',
  '2173ed791f46 34 JS:~retainBuffers /tmp/jsn/rec.js:1:23',
  '7ff5427e5540 148 JS:^FastBuffer node:internal/buffer:960:14',
  '7ff5427e56c0 190 JS:^retainBuffers /tmp/jsn/rec.js:1:23',
  '7ff5427e6100 344 JS:*retainBuffers /tmp/jsn/rec.js:1:23',
  '7ff5427e6480 fc JS:*FastBuffer node:internal/buffer:960:14',
];
const NODE26 = [
  '7fc8c3dc0000 3f8 Builtin:DeoptimizationEntry_Eager',
  '7fc8a4000a40 23c JS:~retainBuffers /tmp/jsn/rec.js:1:23',
  '1793a9d71038 35 JS:~retainBuffers /tmp/jsn/rec.js:1:23',
  '7fc8a4043940 c4 JS:^FastBuffer node:internal/buffer:962:1',
  '7fc8a4043a40 1c0 JS:^retainBuffers /tmp/jsn/rec.js:1:23',
  "7fc8a4044200 a8 JS:+'FastBuffer node:internal/buffer:962:1",
  "7fc8a40013c0 410 JS:+'retainBuffers /tmp/jsn/rec.js:1:23",
  '7fc8a4050000 40 JS:~ /tmp/jsn/rec.js:1:1',
];

const mapOf = (lines: string[]) => {
  const map = new PerfMap();
  for (const line of lines) expect(map.addLine(line)).toBe(true);
  return map;
};

describe('perf map parsing', () => {
  it('names each tier of a function alike, without its tier marker (Node 20 and 26 lines)', () => {
    for (const lines of [NODE20, NODE26]) {
      const map = mapOf(lines);
      for (const line of lines.filter((l) => l.includes('retainBuffers'))) {
        const [start, size] = line.split(' ').map((h) => Number.parseInt(h, 16));
        expect(map.nameAt(start + 1)).toBe('retainBuffers (/tmp/jsn/rec.js:1:23)');
        expect(map.nameAt(start + size)).toBe('retainBuffers (/tmp/jsn/rec.js:1:23)');
      }
    }
    expect(mapOf(NODE26).nameAt(0x7fc8a4044200 + 8)).toBe('FastBuffer (node:internal/buffer:962:1)');
    expect(mapOf(NODE26).nameAt(0x7fc8a4050000 + 8)).toBe('(anonymous) (/tmp/jsn/rec.js:1:1)');
  });

  it('reads a return address as its call (address − 1): the first byte past an entry is still it, its first byte is not', () => {
    const map = mapOf(['1000 10 JS:*a /x.js:1:1', '1010 10 JS:*b /x.js:2:1']);
    expect(map.nameAt(0x1010)).toBe('a (/x.js:1:1)');
    expect(map.nameAt(0x1011)).toBe('b (/x.js:2:1)');
    expect(map.nameAt(0x1000)).toBeNull();
    expect(map.nameAt(0x1021)).toBeNull();
  });

  it('lets the later entry win where V8 put new code at an address it used before', () => {
    const map = mapOf(['1000 100 JS:*old /x.js:1:1', '1040 10 JS:*small /x.js:9:1', '1000 20 JS:*new /x.js:2:1']);
    expect(map.nameAt(0x1010)).toBe('new (/x.js:2:1)');
    expect(map.nameAt(0x1045)).toBe('small (/x.js:9:1)');
    expect(map.nameAt(0x1090)).toBe('old (/x.js:1:1)');
  });

  it('finds, after a sort in slices, the latest entry holding each address, as a scan of every entry does', async () => {
    // Overlapping entries with repeated starts, in a fixed pseudo-random order.
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const entries = Array.from({ length: 3000 }, (_, i) => ({ start: 0x10000 + (next() % 4000) * 16, size: 16 + (next() % 64) * 8, name: `f${i}` }));
    const map = mapOf(entries.map((e) => `${e.start.toString(16)} ${e.size.toString(16)} JS:*${e.name} /x.js:1:1`));
    await map.sort(new TurnSlicer(0));
    expect(map.sorted).toBe(true);
    for (let address = 0x10000; address < 0x10000 + 4000 * 16 + 600; address += 7) {
      const latest = [...entries].reverse().find((e) => e.start < address && address <= e.start + e.size);
      expect(map.nameAt(address)).toBe(latest ? `${latest.name} (/x.js:1:1)` : null);
    }
  });

  it('keeps at most MAX_NAMES distinct names: past it, new functions stay unnamed and are counted', () => {
    const map = new PerfMap();
    const extra = 5;
    for (let i = 0; i < MAX_NAMES + extra; i++) map.addLine(`${(0x1000 + i * 0x100).toString(16)} 80 JS:~f${i} /srv/app.js:${i}:1`);
    expect(map.namesRefused).toBe(extra);
    expect(map.nameAt(0x1000 + 0x10)).toBe('f0 (/srv/app.js:0:1)');
    expect(map.nameAt(0x1000 + (MAX_NAMES + 1) * 0x100 + 0x10)).toBeNull();
    // A name already kept is still given to new code of that function.
    map.addLine(`${(0x1000 + (MAX_NAMES + extra) * 0x100).toString(16)} 80 JS:*f0 /srv/app.js:0:1`);
    expect(map.nameAt(0x1000 + (MAX_NAMES + extra) * 0x100 + 0x10)).toBe('f0 (/srv/app.js:0:1)');
  });

  it('refuses lines that are not `<hex> <hex> <label>`', () => {
    const map = new PerfMap();
    for (const line of ['', 'garbage', '1000 JS:*a', 'zz 10 JS:*a', '1000 0 JS:*a', '1000 10 ']) expect(map.addLine(line)).toBe(false);
    expect(map.size).toBe(0);
  });

  it('keeps labels that are not functions as V8 wrote them, and finds a script in a name', () => {
    expect(frameName('Builtin:ArrayPrototypePush')).toBe('Builtin:ArrayPrototypePush');
    expect(frameName('LazyCompile:~handler /srv/app.js:7:9')).toBe('handler (/srv/app.js:7:9)');
    expect(scriptOf('handler (/srv/app.js:7:9)')).toBe('/srv/app.js');
    expect(scriptOf('Builtin:ArrayPrototypePush')).toBeNull();
  });
});

describe('JsNames', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const tempMap = () => {
    const dir = mkdtempSync(join(tmpdir(), 'sockprobe-perfmap-'));
    dirs.push(dir);
    return join(dir, 'perf-1.map');
  };

  it('is null where no map exists', async () => {
    expect(await new JsNames(tempMap()).current()).toBeNull();
  });

  it('reads what was appended since the last read, leaving a line V8 is still writing for the next', async () => {
    const path = tempMap();
    writeFileSync(path, `${NODE26.join('\n')}\n7fc8a4060000 40 JS:*par`);
    const names = new JsNames(path);
    const first = await names.current();
    expect(first?.size).toBe(NODE26.length);
    expect(first?.nameAt(0x7fc8a4060001)).toBeNull();
    appendFileSync(path, 'tial /x.js:3:1\n');
    const second = await names.current();
    expect(second?.size).toBe(NODE26.length + 1);
    expect(second?.nameAt(0x7fc8a4060001)).toBe('partial (/x.js:3:1)');
  });

  it('ignores a map last written before this process began (a dead process of the same pid)', async () => {
    const path = tempMap();
    writeFileSync(path, `${NODE20.join('\n')}\n`);
    const old = (Date.now() - process.uptime() * 1000) / 1000 - 3600;
    utimesSync(path, old, old);
    expect(await new JsNames(path).current()).toBeNull();
  });
});
