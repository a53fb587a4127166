/**
 * Throughput and latency from what a load tool printed: autocannon's summary, k6's end-of-test
 * summary, or a line `sockprobe-load {"throughput":…,"unit":…,"p50Ms":…,"p99Ms":…}` a script of the
 * user's own prints. Anything else: wall time only.
 */
export interface LoadFigures {
  throughput: number | null;
  throughputUnit: string | null;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  source: string;
}

const number = (text: string) => Number(text.replace(/,/g, ''));

/** k6 durations: `1.2ms`, `850µs`, `1.5s`, `2m3s` is not used in summaries. */
function k6Ms(text: string): number | null {
  const m = /^([\d.]+)(µs|us|ms|s)$/.exec(text);
  if (!m) return null;
  const scale = m[2] === 's' ? 1000 : m[2] === 'ms' ? 1 : 0.001;
  return Number(m[1]) * scale;
}

export function parseLoadOutput(output: string): LoadFigures {
  const own = [...output.matchAll(/^sockprobe-load (\{.*\})\s*$/gm)].at(-1);
  if (own) {
    try {
      const j = JSON.parse(own[1]) as { throughput?: number; unit?: string; p50Ms?: number; p99Ms?: number };
      const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
      return {
        throughput: n(j.throughput),
        throughputUnit: typeof j.unit === 'string' ? j.unit : 'ops/s',
        latencyP50Ms: n(j.p50Ms),
        latencyP99Ms: n(j.p99Ms),
        source: 'sockprobe-load line',
      };
    } catch {
      /* not ours after all: try the tools */
    }
  }
  // autocannon: "│ Latency │ 0 ms │ 1 ms │ 3 ms │ 4 ms │ 1.2 ms │ …" (2.5%, 50%, 97.5%, 99%) and "12k requests in 10.02s".
  const requests = /([\d.,]+)(k?) requests in ([\d.]+)s/.exec(output);
  const latencyRow = /│\s*Latency\s*│\s*([\d.]+) ms\s*│\s*([\d.]+) ms\s*│\s*([\d.]+) ms\s*│\s*([\d.]+) ms\s*│/.exec(output);
  if (requests || latencyRow) {
    const count = requests ? number(requests[1]) * (requests[2] === 'k' ? 1000 : 1) : null;
    return {
      throughput: requests && count !== null ? count / Number(requests[3]) : null,
      throughputUnit: requests ? 'req/s' : null,
      latencyP50Ms: latencyRow ? Number(latencyRow[2]) : null,
      latencyP99Ms: latencyRow ? Number(latencyRow[4]) : null,
      source: 'autocannon',
    };
  }
  // k6: "http_reqs......: 12345  1234.5/s" and "http_req_duration..: avg=1.2ms min=… med=1.1ms max=… p(90)=… p(95)=… p(99)=…".
  const reqs = /http_reqs\.*:\s*[\d.]+\s+([\d.]+)\/s/.exec(output);
  const duration = /http_req_duration\.*:([^\n]*)/.exec(output);
  if (reqs || duration) {
    const field = (name: string) => {
      const m = duration ? new RegExp(`${name.replace(/[()]/g, '\\$&')}=(\\S+)`).exec(duration[1]) : null;
      return m ? k6Ms(m[1]) : null;
    };
    return {
      throughput: reqs ? Number(reqs[1]) : null,
      throughputUnit: reqs ? 'req/s' : null,
      latencyP50Ms: field('med'),
      latencyP99Ms: field('p(99)') ?? field('p(95)'),
      source: field('p(99)') === null && field('p(95)') !== null ? 'k6 (p95: k6 prints p99 only with summaryTrendStats)' : 'k6',
    };
  }
  return { throughput: null, throughputUnit: null, latencyP50Ms: null, latencyP99Ms: null, source: 'wall time only' };
}
