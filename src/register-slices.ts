/**
 * sockprobe/register's SIGUSR2 report is built in turns of the event loop (setImmediate between
 * parts), each timed on the JS thread, so a service holding thousands of connections is not held
 * for the whole report at once, and the report says what it cost: its longest turn and the total.
 */
import { performance } from 'node:perf_hooks';
import type { ReportSteps } from './probe/report-steps';
import type { ProbeReport } from './probe/report';

/** What building a report cost the JS thread (performance.now() around each of its turns). */
export interface ReportCost {
  /** The longest single turn, ms: the stall the report added to the event loop. */
  longestSliceMs: number;
  /** The part that turn built. */
  longestPart: string;
  /** All turns together, ms. */
  onLoopMs: number;
  slices: number;
  /** From the first turn to the last, ms: the other work the loop did meanwhile included. */
  elapsedMs: number;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class SliceMeter {
  private started = -1;
  private last = 0;
  private readonly cost: ReportCost = { longestSliceMs: 0, longestPart: '', onLoopMs: 0, slices: 0, elapsedMs: 0 };

  /** Runs `part` as one turn and times it. */
  slice<T>(part: string, work: () => T): T {
    const begun = performance.now();
    if (this.started < 0) this.started = begun;
    try {
      return work();
    } finally {
      this.record(part, begun);
    }
  }

  /** Runs the probe's report steps, one part a turn (a step names the part it built). */
  async steps(steps: ReportSteps): Promise<ProbeReport> {
    for (;;) {
      const begun = performance.now();
      if (this.started < 0) this.started = begun;
      const next = steps.next();
      this.record(next.done ? 'report assembly' : next.value, begun);
      if (next.done) return next.value;
      await nextTurn();
    }
  }

  /** `items` turned to JSON `size` at a time, a turn each; the pieces joined with commas. */
  async jsonArray<T>(part: string, items: T[], size: number, map: (item: T) => unknown): Promise<string> {
    const pieces: string[] = [];
    for (let i = 0; i < items.length; i += size) {
      await nextTurn();
      pieces.push(
        this.slice(part, () =>
          items
            .slice(i, i + size)
            .map((item) => JSON.stringify(map(item)))
            .join(','),
        ),
      );
    }
    return `[${pieces.join(',')}]`;
  }

  /** The cost so far (call it after the last turn). */
  total(): ReportCost {
    return { ...this.cost, elapsedMs: this.started < 0 ? 0 : this.last - this.started };
  }

  private record(part: string, begun: number): void {
    this.last = performance.now();
    const ms = this.last - begun;
    this.cost.onLoopMs += ms;
    this.cost.slices += 1;
    if (ms > this.cost.longestSliceMs) {
      this.cost.longestSliceMs = ms;
      this.cost.longestPart = part;
    }
  }
}

/** The report's last line in text: what writing it cost, in the words of the JSON's reportCost. */
export function reportCostLine(cost: ReportCost): string {
  return (
    `Writing this report held the JS thread ${cost.longestSliceMs.toFixed(2)} ms at most in one turn ` +
    `(${cost.onLoopMs.toFixed(2)} ms in ${cost.slices} turns over ${cost.elapsedMs.toFixed(0)} ms; longest: ${cost.longestPart}).`
  );
}
