/**
 * A probe's report built a part at a time: a generator that yields after each part (each layer's
 * per-connection fit, each layer's trend fit, the findings, each extension's part), so a caller
 * can hand the event loop back between parts. At 3600 samples one layer's fit costs milliseconds;
 * the whole report in one call held the JS thread 5-18 ms at 600 samples (2 cores, Node 20).
 * Not exported from the package: sockprobe/register is its user.
 */
import type { Probe } from './probe';
import type { ProbeReport } from './report';

/** Yields the name of the part just built; returns the report, the same as probe.report(). */
export type ReportSteps = Generator<string, ProbeReport, void>;

const stepsOf = new WeakMap<Probe, () => ReportSteps>();

export function registerReportSteps(probe: Probe, steps: () => ReportSteps): void {
  stepsOf.set(probe, steps);
}

/** The probe's report in parts; a probe made elsewhere (or dormant) builds it in one part. */
export function reportSteps(probe: Probe): ReportSteps {
  const steps = stepsOf.get(probe);
  if (steps) return steps();
  return (function* whole(): ReportSteps {
    const report = probe.report();
    yield 'report';
    return report;
  })();
}
