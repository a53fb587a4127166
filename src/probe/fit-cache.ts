import { perConnection, type PerConnectionEstimate } from './correlate';
import { totalConnections, type Sample } from './sample';

/** How often an exporter refits per-connection figures: they move slowly, and each fit costs
 *  the JS thread about 10 ms at 3600 samples (measured on this 2-core machine). */
export const REFIT_INTERVAL_MS = 30_000;

/**
 * Per-connection estimates for exporters (Prometheus, OpenTelemetry): refit over the probe's
 * window at most once per REFIT_INTERVAL_MS of sample time, not on every scrape or every new
 * sample, and not at all while connection counts have not moved (the fit would decline).
 */
export function cachedPerConnection(samples: () => Sample[], intervalMs = REFIT_INTERVAL_MS): () => PerConnectionEstimate[] {
  let fitted: { at: number; estimates: PerConnectionEstimate[] } = { at: -Infinity, estimates: [] };
  return () => {
    const window = samples();
    const at = window.at(-1)?.time ?? -Infinity;
    if (at - fitted.at < intervalMs) return fitted.estimates;
    const varied = window.length >= 4 && window.some((s) => totalConnections(s.connections) !== totalConnections(window[0].connections));
    fitted = { at, estimates: varied ? perConnection(window) : [] };
    return fitted.estimates;
  };
}
