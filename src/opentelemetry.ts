/**
 * OpenTelemetry instruments for sockprobe's figures: `require('sockprobe/opentelemetry')`.
 * @opentelemetry/api is an optional peer dependency: pass in a Meter from your MeterProvider.
 *
 * Names follow the OpenTelemetry semantic conventions where one exists (process.memory.usage,
 * v8js.memory.heap.*, process.unix.file_descriptor.count, nodejs.eventloop.delay.max,
 * network.connection.state, container.memory.usage, container.memory.working_set); where none does, one `sockprobe.*` scheme after the pattern of
 * jvm.memory.used{jvm.memory.type}: kind, side, state and layer are attributes, never name suffixes.
 */
import type { Probe } from './probe/probe';
import { cachedPerConnection } from './probe/fit-cache';
import { releaseTotals as cumulativeReleases } from './probe/release-totals';
import type { Sample } from './probe/sample';
import { SockprobeTypeError } from './errors';

/** Attribute keys of the sockprobe.* scheme. */
export const ATTR_MEMORY_LAYER = 'sockprobe.memory.layer';
export const ATTR_CONNECTION_KIND = 'sockprobe.connection.kind';
export const ATTR_CONNECTION_SIDE = 'sockprobe.connection.side';
/** The semantic conventions' attribute for a TCP state (values in snake case: close_wait, established …). */
export const ATTR_CONNECTION_STATE = 'network.connection.state';

type Attributes = Record<string, string>;
/** The parts of @opentelemetry/api's Meter this module uses (a real Meter fits). */
export interface MeterLike {
  createObservableGauge(name: string, options?: { description?: string; unit?: string }): object;
  createObservableUpDownCounter(name: string, options?: { description?: string; unit?: string }): object;
  createObservableCounter(name: string, options?: { description?: string; unit?: string }): object;
  addBatchObservableCallback(callback: (result: BatchResultLike) => void | Promise<void>, observables: object[]): void;
  removeBatchObservableCallback(callback: (result: BatchResultLike) => void | Promise<void>, observables: object[]): void;
}
interface BatchResultLike {
  observe(observable: object, value: number, attributes?: Attributes): void;
}

export interface InstrumentOptions {
  /** The probe whose newest sample each collection reads (taking one if it has none). */
  probe: Probe;
  /** A Meter, e.g. `metrics.getMeter('sockprobe')` from @opentelemetry/api. */
  meter: MeterLike;
}

export interface SockprobeInstruments {
  /** Removes the batch callback: the instruments report nothing from then on. */
  unregister(): void;
}

/** Linux TCP state names → the semantic conventions' network.connection.state values. */
const STATE_VALUES: Record<string, string> = {
  ESTABLISHED: 'established',
  SYN_SENT: 'syn_sent',
  SYN_RECV: 'syn_received',
  NEW_SYN_RECV: 'syn_received',
  FIN_WAIT1: 'fin_wait_1',
  FIN_WAIT2: 'fin_wait_2',
  TIME_WAIT: 'time_wait',
  CLOSE: 'closed',
  CLOSE_WAIT: 'close_wait',
  LAST_ACK: 'last_ack',
  LISTEN: 'listen',
  CLOSING: 'closing',
};
/** The semantic conventions' value for a kernel state name; a name it has none for, lowercased. */
export function connectionStateValue(kernelName: string): string {
  if (typeof kernelName !== 'string') throw new SockprobeTypeError('kernelName', 'a TCP state name string such as "ESTABLISHED"', kernelName);
  // Own names only: 'constructor' or 'toString' are not states.
  return Object.hasOwn(STATE_VALUES, kernelName) ? STATE_VALUES[kernelName] : kernelName.toLowerCase();
}

type InstrumentKind = 'gauge' | 'upDownCounter' | 'counter';

/** Every instrument, in the order they are created: kind, name, unit, description. */
const INSTRUMENTS = {
  rss: ['upDownCounter', 'process.memory.usage', 'By', 'Resident set size of the process.'],
  heapUsed: ['gauge', 'v8js.memory.heap.used', 'By', 'V8 heap in use, summed over heap spaces.'],
  heapSize: ['gauge', 'v8js.memory.heap.space.size', 'By', 'V8 heap reserved (committed), summed over heap spaces.'],
  memoryUsed: [
    'upDownCounter',
    'sockprobe.memory.used',
    'By',
    'Memory in use by layer: external (ArrayBuffers, external strings), native (the allocator ' +
      'serving malloc), openssl (live OpenSSL allocations), kernel (TCP socket buffers). external and ' +
      'openssl are parts of native: do not sum layers.',
  ],
  memoryFree: ['upDownCounter', 'sockprobe.memory.free', 'By', 'Free memory a layer retains: native is what the allocator keeps and releaseToOS() targets.'],
  connections: ['upDownCounter', 'sockprobe.connection.count', '{connection}', 'Open connections by kind (tls, tcp) and side (server, client).'],
  sockets: ['upDownCounter', 'sockprobe.socket.count', '{socket}', "This process's TCP sockets by network.connection.state."],
  fds: ['upDownCounter', 'process.unix.file_descriptor.count', '{file_descriptor}', 'Open file descriptors.'],
  fdLimit: ['upDownCounter', 'sockprobe.file_descriptor.limit', '{file_descriptor}', 'Soft limit on open file descriptors (RLIMIT_NOFILE).'],
  perConnection: [
    'gauge',
    'sockprobe.connection.memory',
    'By',
    'Bytes per open connection by kind and memory layer (robust regression over the probe window).',
  ],
  released: ['counter', 'sockprobe.autorelease.released', 'By', 'RSS autoRelease returned to the OS, measured from /proc, since the probe started.'],
  releases: ['counter', 'sockprobe.autorelease.releases', '{release}', 'Releases autoRelease performed (failed ones included) since the probe started.'],
  loopDelay: ['gauge', 'nodejs.eventloop.delay.max', 's', 'Longest event-loop delay since the previous sample.'],
  // The memory cgroup: container.memory.usage and container.memory.working_set are the semantic
  // conventions' (cAdvisor's figures); the conventions have no cgroup limit (k8s.container.memory.limit.*
  // is the pod spec's, not the kernel's) nor OOM kill count: sockprobe.container.* for those.
  containerUsage: [
    'upDownCounter',
    'container.memory.usage',
    'By',
    "The memory cgroup's usage (memory.current / memory.usage_in_bytes): every process in it, page cache and kernel memory included.",
  ],
  containerWorkingSet: [
    'upDownCounter',
    'container.memory.working_set',
    'By',
    "The memory cgroup's usage minus inactive file pages: what the kubelet evicts on; at the limit the kernel OOM-kills.",
  ],
  containerLimit: [
    'upDownCounter',
    'sockprobe.container.memory.limit',
    'By',
    "The memory cgroup's limit (memory.max / memory.limit_in_bytes, the lowest up the hierarchy); not reported when none is set.",
  ],
  oomKills: [
    'counter',
    'sockprobe.container.oom_kills',
    '{process}',
    'Processes of the memory cgroup the kernel OOM-killed since the group was made (memory.events / memory.oom_control oom_kill).',
  ],
} as const satisfies Record<string, readonly [InstrumentKind, string, string, string]>;

/** Registers observable instruments over the probe's figures; one batch callback reads one sample for all. */
export function registerSockprobeInstruments(options: InstrumentOptions): SockprobeInstruments {
  if (typeof options !== 'object' || options === null || typeof options.probe?.samples !== 'function')
    throw new SockprobeTypeError('options.probe', 'a probe from createProbe()', options?.probe);
  const meter = options.meter;
  if (typeof meter?.addBatchObservableCallback !== 'function' || typeof meter.createObservableGauge !== 'function')
    throw new SockprobeTypeError('options.meter', 'a Meter from @opentelemetry/api', meter);
  const probe = options.probe;

  const create = (kind: InstrumentKind, name: string, unit: string, description: string): object => {
    if (kind === 'gauge') return meter.createObservableGauge(name, { unit, description });
    if (kind === 'upDownCounter') return meter.createObservableUpDownCounter(name, { unit, description });
    return meter.createObservableCounter(name, { unit, description });
  };
  const instrument = Object.fromEntries(
    Object.entries(INSTRUMENTS).map(([key, [kind, name, unit, description]]) => [key, create(kind, name, unit, description)]),
  ) as Record<keyof typeof INSTRUMENTS, object>;
  const observables = Object.values(instrument);

  const estimates = cachedPerConnection(() => probe.samples());
  const releaseTotals = cumulativeReleases(() => probe.releases());

  const callback = async (result: BatchResultLike): Promise<void> => {
    const s: Sample = probe.samples().at(-1) ?? (await probe.sample());
    // A layer that cannot be read here is left out: no point, never a made-up zero.
    const observe = (instrument: object, value: number | null | undefined, attributes?: Attributes) => {
      if (value !== null && value !== undefined && Number.isFinite(value)) result.observe(instrument, value, attributes);
    };
    observe(instrument.rss, s.rss);
    observe(instrument.heapUsed, s.heapUsed);
    observe(instrument.heapSize, s.heapTotal);
    observe(instrument.memoryUsed, s.external, { [ATTR_MEMORY_LAYER]: 'external' });
    observe(instrument.memoryUsed, s.nativeAllocated, { [ATTR_MEMORY_LAYER]: 'native' });
    observe(instrument.memoryUsed, s.opensslLive, { [ATTR_MEMORY_LAYER]: 'openssl' });
    observe(instrument.memoryUsed, s.sockets?.kernelBytes, { [ATTR_MEMORY_LAYER]: 'kernel' });
    observe(instrument.memoryFree, s.nativeFree, { [ATTR_MEMORY_LAYER]: 'native' });
    if (s.connections) {
      for (const kind of ['tls', 'tcp'] as const) {
        for (const side of ['server', 'client'] as const)
          observe(instrument.connections, s.connections[kind][side], { [ATTR_CONNECTION_KIND]: kind, [ATTR_CONNECTION_SIDE]: side });
      }
    }
    // Two kernel states (SYN_RECV, NEW_SYN_RECV) share one convention value: add them up.
    const byState = new Map<string, number>();
    for (const [state, count] of Object.entries(s.sockets?.byState ?? {}))
      byState.set(connectionStateValue(state), (byState.get(connectionStateValue(state)) ?? 0) + count);
    for (const [state, count] of byState) observe(instrument.sockets, count, { [ATTR_CONNECTION_STATE]: state });
    observe(instrument.fds, s.sockets?.fds.open);
    observe(instrument.fdLimit, s.sockets?.fds.limit);
    for (const e of estimates()) observe(instrument.perConnection, e.bytesPerConnection, { [ATTR_CONNECTION_KIND]: e.kind, [ATTR_MEMORY_LAYER]: e.layer });
    const t = releaseTotals();
    observe(instrument.released, t.released);
    observe(instrument.releases, t.count);
    observe(instrument.loopDelay, s.eventLoopDelayMaxMs / 1000);
    observe(instrument.containerUsage, s.container?.usageBytes);
    observe(instrument.containerWorkingSet, s.container?.workingSetBytes);
    observe(instrument.containerLimit, s.container?.limitBytes);
    observe(instrument.oomKills, s.container?.oomKills);
  };
  meter.addBatchObservableCallback(callback, observables);
  return { unregister: () => meter.removeBatchObservableCallback(callback, observables) };
}
