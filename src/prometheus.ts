/**
 * A prom-client collector for sockprobe's figures: `require('sockprobe/prometheus')`.
 * prom-client is an optional peer dependency; pass yours in, or it is required lazily.
 */
import type { Probe } from './probe/probe';
import { cachedPerConnection } from './probe/fit-cache';
import { releaseTotals as cumulativeReleases } from './probe/release-totals';
import { RESIDENT_FREE_METHOD, type Sample } from './probe/sample';
import { SockprobeTypeError } from './errors';

/** The parts of prom-client this collector uses. */
interface PromClient {
  Gauge: new (config: {
    name: string;
    help: string;
    labelNames?: string[];
    registers?: unknown[];
    collect?: (this: GaugeLike) => void | Promise<void>;
  }) => GaugeLike;
  Counter: new (config: { name: string; help: string; registers?: unknown[]; collect?: (this: CounterLike) => void | Promise<void> }) => CounterLike;
  register: unknown;
}
interface GaugeLike {
  set(labels: Record<string, string>, value: number): void;
  set(value: number): void;
  reset(): void;
}
interface CounterLike {
  inc(value: number): void;
  reset(): void;
}

export interface CollectorOptions {
  /** The probe whose samples are exported; its newest sample is read at each scrape. */
  probe: Probe;
  /** A prom-client Registry; default prom-client's global one. */
  register?: unknown;
  /** Your prom-client module (default: require('prom-client')). */
  client?: PromClient;
  /** Metric name prefix. Default `sockprobe_`. */
  prefix?: string;
}

/** Registers sockprobe's gauges; each scrape reads the probe's newest sample (taking one if it has none). */
export function registerSockprobeMetrics(options: CollectorOptions): void {
  if (typeof options !== 'object' || options === null || typeof options.probe?.samples !== 'function')
    throw new SockprobeTypeError('options.probe', 'a probe from createProbe()', options?.probe);
  const client = options.client ?? (require('prom-client') as PromClient);
  const registers = [options.register ?? client.register];
  const prefix = options.prefix ?? 'sockprobe_';
  const probe = options.probe;
  const latest = async (): Promise<Sample> => probe.samples().at(-1) ?? probe.sample();

  const perConnectionOnce = cachedPerConnection(() => probe.samples());

  const gauge = (name: string, help: string, read: (s: Sample) => number | null) =>
    new client.Gauge({
      name: prefix + name,
      help,
      registers,
      async collect() {
        // NaN, not 0, where the layer cannot be read here: a gap on a dashboard, never a fake zero.
        this.set(read(await latest()) ?? NaN);
      },
    });

  gauge('rss_bytes', 'Resident set size of the process.', (s) => s.rss);
  gauge('js_heap_used_bytes', 'V8 heap in use.', (s) => s.heapUsed);
  gauge('js_heap_total_bytes', 'V8 heap reserved.', (s) => s.heapTotal);
  gauge('js_heap_resident_bytes', 'V8 heap pages resident in RAM (v8 total_physical_size).', (s) => s.heapPhysical);
  gauge('external_bytes', 'ArrayBuffers and external strings V8 knows of.', (s) => s.external);
  gauge(
    'native_allocated_bytes',
    'Bytes in use according to the allocator serving malloc (includes allocated pages never touched, so not all resident).',
    (s) => s.nativeAllocated,
  );
  gauge('native_free_bytes', `Free native memory that is resident and that releaseToOS() trims: ${RESIDENT_FREE_METHOD}.`, (s) => s.nativeFree);
  gauge(
    'allocator_free_raw_bytes',
    "The allocator's own free count, raw (glibc mallinfo2 fordblks, jemalloc " +
      "resident-allocated-metadata, tcmalloc page heap + caches); not resident memory: glibc's keeps " +
      'pages a trim already returned and can exceed RSS.',
    (s) => s.allocatorFreeRaw,
  );
  gauge('openssl_live_bytes', 'Bytes OpenSSL has allocated and not freed (while tracking is on).', (s) => s.opensslLive);
  gauge('kernel_socket_bytes', "Kernel memory of this process's TCP sockets.", (s) => s.sockets?.kernelBytes ?? null);
  gauge('fds_open', 'Open file descriptors.', (s) => s.sockets?.fds.open ?? null);
  gauge('fds_limit', 'Soft limit on file descriptors.', (s) => s.sockets?.fds.limit ?? null);
  gauge('event_loop_delay_max_seconds', 'Longest event-loop delay since the previous sample.', (s) => s.eventLoopDelayMaxMs / 1000);
  // The memory cgroup, after cAdvisor's container_memory_* (the kubelet evicts on the working set).
  gauge(
    'container_memory_limit_bytes',
    "The memory cgroup's limit, the lowest of the group's and its ancestors' (memory.max / memory.limit_in_bytes); NaN when none is set.",
    (s) => s.container?.limitBytes ?? null,
  );
  gauge(
    'container_memory_usage_bytes',
    "The memory cgroup's usage (memory.current / memory.usage_in_bytes): every process in it, page cache and kernel memory included.",
    (s) => s.container?.usageBytes ?? null,
  );
  gauge(
    'container_memory_working_set_bytes',
    'usage - inactive_file: what the kubelet evicts and cAdvisor alerts on; at the limit the kernel OOM-kills.',
    (s) => s.container?.workingSetBytes ?? null,
  );

  new client.Gauge({
    name: prefix + 'connections',
    help: 'Open connections by kind and side.',
    labelNames: ['kind', 'side'],
    registers,
    async collect() {
      const s = await latest();
      this.reset();
      if (!s.connections) return;
      for (const kind of ['tls', 'tcp'] as const) for (const side of ['server', 'client'] as const) this.set({ kind, side }, s.connections[kind][side]);
    },
  });
  new client.Gauge({
    name: prefix + 'tcp_sockets',
    help: "This process's TCP sockets by state.",
    labelNames: ['state'],
    registers,
    async collect() {
      const s = await latest();
      this.reset();
      for (const [state, count] of Object.entries(s.sockets?.byState ?? {})) this.set({ state }, count);
    },
  });
  new client.Gauge({
    name: prefix + 'connection_bytes',
    help: 'Bytes per open connection, by connection kind and memory layer (robust regression over the probe window).',
    labelNames: ['kind', 'layer'],
    registers,
    collect() {
      this.reset();
      for (const e of perConnectionOnce()) if (e.bytesPerConnection !== null) this.set({ kind: e.kind, layer: e.layer }, e.bytesPerConnection);
    },
  });
  const releaseTotals = cumulativeReleases(() => probe.releases());
  const counter = (name: string, help: string, read: () => number) =>
    new client.Counter({
      name: prefix + name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  // The kernel's own total since the group was made, as cAdvisor's container_oom_events_total; no
  // series at all where the group is not watched (a counter cannot say "unknown").
  new client.Counter({
    name: prefix + 'container_oom_kills_total',
    help:
      'Processes of the memory cgroup the kernel OOM-killed (memory.events oom_kill / ' +
      "memory.oom_control oom_kill), as the probe's event watch last read it.",
    registers,
    async collect() {
      this.reset();
      const kills = (await latest()).container?.oomKills;
      if (typeof kills === 'number') this.inc(kills);
    },
  });
  counter('autorelease_released_bytes_total', 'RSS returned to the OS by autoRelease (GC and trim), measured from /proc.', () => releaseTotals().released);
  counter('autorelease_releases_total', 'Releases autoRelease performed (failed ones included).', () => releaseTotals().count);
  counter(
    'autorelease_js_thread_seconds_total',
    'Time autoRelease held the JS thread: the heap-shrinking GC, plus the trim when it ran there.',
    () => releaseTotals().jsThreadMs / 1000,
  );
}
