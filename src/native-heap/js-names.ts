/**
 * Names for JavaScript frames from V8's own perf map. A process started with `--perf-basic-prof`
 * (or `--perf-basic-prof-only-functions`) and `--interpreted-frames-native-stack` has V8 append
 * one line per code object to /tmp/perf-<pid>.map: `<hex start> <hex size> <label>`, the label
 * `JS:<tier><function> <script>:<line>:<column>` (tier `~` Ignition trampoline, `^` Sparkplug,
 * `+'` Maglev, `*` TurboFan; Node 20 and 26 alike). A JIT return address of a sampled stack falls
 * inside the entry of the function that made the call. The file is never read on the loop in one
 * piece: it is streamed, only what was appended since the last read, and parsed in slices.
 */
import { open, stat } from 'node:fs/promises';
import { TurnSlicer } from './slicer';

/** The tail kept of a larger map: V8 appends without end, and the latest entries are the live code. */
export const MAX_MAP_BYTES = 16 * 1024 * 1024;
/** Entries kept at most (about 20 bytes each, names shared): the latest win. */
export const MAX_ENTRIES = 1 << 19;
/** Distinct names kept at most: each is a JS string of about 230 bytes with its index entry, so the
 *  names of a service with very many functions take at most ~30 MiB; past it, new names stay unnamed. */
export const MAX_NAMES = 1 << 17;
const CHUNK_BYTES = 64 * 1024;

/** Where V8 writes this process's perf map. */
export const perfMapPath = (pid: number = process.pid): string => `/tmp/perf-${pid}.map`;

/**
 * One map's entries in file order, and a view sorted by start built on demand. Addresses are
 * user-space (under 2^47), exact in a double.
 */
export class PerfMap {
  private starts = new Float64Array(1024);
  private sizes = new Float64Array(1024);
  private labels = new Int32Array(1024);
  private names: string[] = [];
  private nameIds = new Map<string, number>();
  private count = 0;
  private maxSize = 0;
  private order: Uint32Array | null = null;
  /** Entries dropped for MAX_ENTRIES (the oldest). */
  dropped = 0;
  /** Entries left unnamed because MAX_NAMES distinct names were already kept. */
  namesRefused = 0;

  /** The sorted view is current: lookups will not sort. */
  get sorted(): boolean {
    return this.order !== null;
  }

  get size(): number {
    return this.count;
  }

  /** One line of the map; false when it is not `<hex> <hex> <label>`. */
  addLine(line: string): boolean {
    const first = line.indexOf(' ');
    const second = first < 0 ? -1 : line.indexOf(' ', first + 1);
    if (first <= 0 || second <= first + 1 || second === line.length - 1) return false;
    const start = Number.parseInt(line.slice(0, first), 16);
    const size = Number.parseInt(line.slice(first + 1, second), 16);
    if (!Number.isFinite(start) || !Number.isFinite(size) || size <= 0) return false;
    this.add(start, size, frameName(line.slice(second + 1)));
    return true;
  }

  private add(start: number, size: number, name: string): void {
    if (this.count === MAX_ENTRIES) this.dropOldest(MAX_ENTRIES >> 2);
    if (this.count === this.starts.length) this.grow();
    let id = this.nameIds.get(name);
    if (id === undefined && this.names.length < MAX_NAMES) {
      id = this.names.length;
      this.names.push(name);
      this.nameIds.set(name, id);
    }
    if (id === undefined) {
      id = -1;
      this.namesRefused++;
    }
    this.starts[this.count] = start;
    this.sizes[this.count] = size;
    this.labels[this.count] = id;
    this.count++;
    if (size > this.maxSize) this.maxSize = size;
    this.order = null;
  }

  private grow(): void {
    const length = Math.min(this.starts.length * 2, MAX_ENTRIES);
    const copy = <T extends Float64Array | Int32Array>(from: T, to: T) => {
      to.set(from);
      return to;
    };
    this.starts = copy(this.starts, new Float64Array(length));
    this.sizes = copy(this.sizes, new Float64Array(length));
    this.labels = copy(this.labels, new Int32Array(length));
  }

  private dropOldest(n: number): void {
    this.starts.copyWithin(0, n, this.count);
    this.sizes.copyWithin(0, n, this.count);
    this.labels.copyWithin(0, n, this.count);
    this.count -= n;
    this.dropped += n;
  }

  /** The function whose code holds a return address, or null: the latest entry wins where V8 reused the address. */
  nameAt(returnAddress: number): string | null {
    const order = (this.order ??= this.sortNow());
    // A return address follows its call: the call itself is at address − 1.
    const at = returnAddress - 1;
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[order[mid]] <= at) lo = mid + 1;
      else hi = mid;
    }
    let best = -1;
    // Entries starting below `at` by more than the largest size cannot hold it.
    for (let i = lo - 1; i >= 0 && this.starts[order[i]] > at - this.maxSize; i--) {
      const entry = order[i];
      if (at < this.starts[entry] + this.sizes[entry] && entry > best) best = entry;
    }
    return best < 0 || this.labels[best] < 0 ? null : this.names[this.labels[best]];
  }

  /** Builds the sorted view in slices (a merge sort of entry numbers by start, ties in file order):
   *  half a million entries take a few hundred ms of comparisons, never in one turn. */
  async sort(slicer: TurnSlicer = new TurnSlicer()): Promise<void> {
    if (this.order) return;
    const count = this.count;
    const dropped = this.dropped;
    const order = await this.sortByStart(slicer);
    // Entries added while it sorted (a concurrent refresh) make it stale: the next lookup sorts again.
    if (this.count === count && this.dropped === dropped) this.order = order;
  }

  private async sortByStart(slicer?: TurnSlicer): Promise<Uint32Array> {
    const n = this.count;
    let from = new Uint32Array(n);
    let to = new Uint32Array(n);
    for (let i = 0; i < n; i++) from[i] = i;
    const starts = this.starts;
    let steps = 0;
    for (let width = 1; width < n; width *= 2) {
      for (let lo = 0; lo < n; lo += 2 * width) {
        const mid = Math.min(lo + width, n);
        const hi = Math.min(lo + 2 * width, n);
        let i = lo;
        let j = mid;
        for (let k = lo; k < hi; k++) {
          // Stable: on equal starts the left run (earlier in file order) goes first.
          to[k] = j >= hi || (i < mid && starts[from[i]] <= starts[from[j]]) ? from[i++] : from[j++];
          if (slicer && (++steps & 4095) === 0 && slicer.due()) await slicer.next();
        }
      }
      [from, to] = [to, from];
    }
    return from;
  }

  /** The sorted view without yielding: for small maps (tests); current() sorts in slices. */
  private sortNow(): Uint32Array {
    const order = new Uint32Array(this.count);
    for (let i = 0; i < order.length; i++) order[i] = i;
    const starts = this.starts;
    return order.sort((a, b) => starts[a] - starts[b] || a - b);
  }
}

/**
 * A label as a frame's name: V8's tier marker dropped (a function keeps one name, so one site
 * key, as it tiers up), the script position in parentheses: `retainBuffers (/srv/app.js:12:3)`.
 */
export function frameName(label: string): string {
  const colon = label.indexOf(':');
  const kind = colon < 0 ? '' : label.slice(0, colon);
  if (kind !== 'JS' && kind !== 'LazyCompile' && kind !== 'Function' && kind !== 'Script') return label;
  const rest = label.slice(colon + 1).replace(/^[~^*+']+/, '');
  const space = rest.indexOf(' ');
  const name = space < 0 ? rest : rest.slice(0, space);
  const where = space < 0 ? '' : rest.slice(space + 1);
  return where ? `${name || '(anonymous)'} (${where})` : name || '(anonymous)';
}

/** The script position of a frame name made by frameName(), or null. */
export function scriptOf(name: string): string | null {
  const match = / \((.+):\d+:\d+\)$/.exec(name);
  return match ? match[1] : null;
}

/**
 * This process's perf map, kept current: each refresh() reads what V8 appended since the last one
 * (nothing when the size is unchanged), streamed and parsed in slices.
 */
export class JsNames {
  private map = new PerfMap();
  private readBytes = 0;
  private reading: Promise<void> | null = null;
  private since = Date.now() - process.uptime() * 1000;

  constructor(private readonly path: string = perfMapPath()) {}

  /** The names, or null where this process writes no perf map. */
  async current(slicer: TurnSlicer = new TurnSlicer()): Promise<PerfMap | null> {
    this.reading ??= this.refresh(slicer).finally(() => {
      this.reading = null;
    });
    await this.reading;
    if (this.readBytes === 0) return null;
    // Sorted in slices; again if a concurrent refresh added entries meanwhile (a few rounds at most).
    for (let round = 0; round < 4 && !this.map.sorted; round++) await this.map.sort(slicer);
    // Still unsorted (the map kept growing): no names this time, rather than a sort in one turn of the loop.
    return this.map.sorted ? this.map : null;
  }

  private async refresh(slicer: TurnSlicer): Promise<void> {
    let size: number;
    try {
      const info = await stat(this.path);
      // A map left by an earlier process of the same pid was last written before this one began.
      if (!info.isFile() || info.mtimeMs < this.since - 1000) return;
      size = info.size;
    } catch {
      return;
    }
    if (size === this.readBytes) return;
    if (size < this.readBytes) this.reset();
    let from = this.readBytes;
    // Past MAX_MAP_BYTES, only the tail: its first line is cut, so skipped.
    let skipFirst = false;
    if (size - from > MAX_MAP_BYTES) {
      this.reset();
      from = size - MAX_MAP_BYTES;
      skipFirst = true;
    }
    const file = await open(this.path, 'r');
    try {
      const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
      // Bytes after the last newline read: the start of a line, kept to the next read.
      let carried = 0;
      let position = from;
      let lines = 0;
      while (position < size) {
        const { bytesRead } = await file.read(buffer, carried, Math.min(CHUNK_BYTES - carried, size - position), position);
        if (bytesRead === 0) break;
        position += bytesRead;
        const filled = carried + bytesRead;
        const last = buffer.lastIndexOf(10, filled - 1);
        if (last < 0) {
          // A line longer than a chunk: not a perf map line; dropped.
          carried = filled === CHUNK_BYTES ? 0 : filled;
          continue;
        }
        const text = buffer.toString('utf8', 0, last);
        let start = 0;
        for (;;) {
          const end = text.indexOf('\n', start);
          const line = text.slice(start, end < 0 ? text.length : end);
          if (skipFirst) skipFirst = false;
          else this.map.addLine(line);
          if (end < 0) break;
          start = end + 1;
          if ((++lines & 63) === 0 && slicer.due()) await slicer.next();
        }
        carried = filled - last - 1;
        buffer.copy(buffer, 0, last + 1, filled);
        if (slicer.due()) await slicer.next();
      }
      // A line V8 is still writing stays for the next read.
      this.readBytes = position - carried;
    } finally {
      await file.close();
    }
  }

  private reset(): void {
    this.map = new PerfMap();
    this.readBytes = 0;
  }
}
