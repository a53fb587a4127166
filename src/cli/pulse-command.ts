import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_PULSE, runPulse, type PulseOptions, type PulseResult } from '../experiments/pulse';
import { allocator } from '../memory/detect';
import { EnvironmentError, UsageError, parseFlags, type FlagSpec } from './args';
import { nativeHeapJson, pulseHolders, renderHoldersHtml, renderNativeHeapHtml, writeNativeProfiles } from './pulse-native-heap';
import { mib } from './format';
import { renderHtmlReport } from './html-report';
import { ALLOCATOR_NAMES, findAllocatorLibrary, rerunWithPreload, type AllocatorChoice } from './preload';
import { renderPulseText } from './pulse-text';
import { MAX_SAMPLE_BYTES, MIN_SAMPLE_BYTES } from '../options/sample-bytes';

export const PULSE_FLAGS: Record<string, FlagSpec> = {
  connections: { type: 'integer', min: 1, max: 9000 },
  small: { type: 'integer', min: 1, max: 9000 },
  'big-pulses': { type: 'integer', min: 0, max: 100 },
  'small-pulses': { type: 'integer', min: 0, max: 100 },
  linger: { type: 'integer', min: 0, max: 3_600_000 },
  gap: { type: 'integer', min: 0, max: 3_600_000 },
  interval: { type: 'integer', min: 10, max: 60_000 },
  port: { type: 'integer', min: 1, max: 65_535 },
  tcp: { type: 'boolean' },
  chatty: { type: 'boolean' },
  'auto-release': { type: 'boolean' },
  'no-release': { type: 'boolean' },
  'no-openssl': { type: 'boolean' },
  allocator: { type: 'choice', values: ALLOCATOR_NAMES },
  'native-profile': { type: 'boolean' },
  'native-sample-bytes': { type: 'integer', min: MIN_SAMPLE_BYTES, max: MAX_SAMPLE_BYTES },
  json: { type: 'boolean' },
  out: { type: 'string' },
};

/** Finer than the library's 512 KiB default: a pulse holds a few thousand connections of ~100 KiB for seconds. */
export const DEFAULT_NATIVE_SAMPLE_BYTES = 64 * 1024;

export const PULSE_USAGE = `  pulse        the seed's pulse experiment against an embedded server: big pulses of N
               connections held for a linger time, then small pulses; every layer sampled
    --connections N     connections per big pulse (default ${DEFAULT_PULSE.connections}, at most 9000)
    --small N           connections per small pulse (default ${DEFAULT_PULSE.smallConnections})
    --big-pulses N      (default ${DEFAULT_PULSE.bigPulses})    --small-pulses N   (default ${DEFAULT_PULSE.smallPulses})
    --linger MS         how long each pulse holds (default ${DEFAULT_PULSE.lingerMs})   --gap MS   pause after a pulse (default ${DEFAULT_PULSE.gapMs})
    --interval MS       sampling interval (default ${DEFAULT_PULSE.intervalMs})
    --port N            the embedded server's port on 127.0.0.1 (default: any free one)
    --tcp               plain TCP instead of TLS      --chatty   clients talk every second
    --allocator NAME    glibc, jemalloc, tcmalloc or mimalloc (re-runs itself with LD_PRELOAD)
    --auto-release      let the probe give memory back when a pulse ends
    --no-release        skip the releaseToOS() at the end
    --no-openssl        do not count OpenSSL's live bytes (on by default where supported)
    --native-profile    profile the native heap by call site (nativeHeap): what one connection holds,
                        as a flame graph in the HTML report and FILE.native-heap.pb.gz /
                        FILE.native-heap-growth.pb.gz beside it (pprof; sockprobe-report.* without --out)
    --native-sample-bytes N  its mean bytes between samples (default ${DEFAULT_NATIVE_SAMPLE_BYTES})
    --json              print the result as JSON on stdout
    --out FILE.html     write a self-contained HTML report with plots`;

export function pulseOptions(flags: Record<string, string | number | boolean>): PulseOptions {
  const connections = (flags.connections as number | undefined) ?? DEFAULT_PULSE.connections;
  return {
    ...DEFAULT_PULSE,
    connections,
    smallConnections: (flags.small as number | undefined) ?? Math.max(1, Math.round(connections / 10)),
    bigPulses: (flags['big-pulses'] as number | undefined) ?? DEFAULT_PULSE.bigPulses,
    smallPulses: (flags['small-pulses'] as number | undefined) ?? DEFAULT_PULSE.smallPulses,
    lingerMs: (flags.linger as number | undefined) ?? DEFAULT_PULSE.lingerMs,
    gapMs: (flags.gap as number | undefined) ?? DEFAULT_PULSE.gapMs,
    intervalMs: (flags.interval as number | undefined) ?? DEFAULT_PULSE.intervalMs,
    kind: flags.tcp ? 'tcp' : 'tls',
    chatty: flags.chatty === true,
    autoRelease: flags['auto-release'] === true,
    releaseAtEnd: flags['no-release'] !== true,
    opensslTracking: flags['no-openssl'] !== true,
    nativeProfileSampleBytes: flags['native-profile'] === true ? ((flags['native-sample-bytes'] as number | undefined) ?? DEFAULT_NATIVE_SAMPLE_BYTES) : null,
    port: (flags.port as number | undefined) ?? 0,
  };
}

/** The JSON form drops the raw samples' bulk but keeps everything the table shows. */
export function pulseJson(result: PulseResult): object {
  const { samples, nativeHeap, ...rest } = result;
  return { ...rest, sampleCount: samples.length, nativeHeap: nativeHeapJson(nativeHeap), holders: pulseHolders(result) };
}

export async function pulseCommand(args: string[]): Promise<number> {
  const flags = parseFlags(args, PULSE_FLAGS);
  const wanted = flags.allocator as AllocatorChoice | undefined;
  if (wanted && wanted !== allocator().name) {
    if (wanted === 'glibc') throw new EnvironmentError(`glibc was asked for, but ${allocator().name} is preloaded (unset LD_PRELOAD)`);
    if (process.env.SOCKPROBE_PRELOADED) throw new EnvironmentError(`${process.env.SOCKPROBE_PRELOADED} was preloaded but ${allocator().name} serves malloc`);
    return rerunWithPreload(findAllocatorLibrary(wanted));
  }
  if (flags['native-sample-bytes'] !== undefined && flags['native-profile'] !== true) throw new UsageError('--native-sample-bytes needs --native-profile');
  const options = pulseOptions(flags);
  const json = flags.json === true;
  const log = (line: string) => (json ? process.stderr : process.stdout).write(line + '\n');
  const who = allocator();
  log(
    `sockprobe pulse: ${options.bigPulses}×${options.connections} ` +
      `then ${options.smallPulses}×${options.smallConnections} ${options.kind.toUpperCase()} ` +
      `connections, ${who.name} ${who.version ?? ''} serving malloc`,
  );
  const result = await runPulse(options, ({ phase, open, rss }) => log(`  ${phase.padEnd(24)} ${String(open).padStart(5)} open   RSS ${mib(rss)}`));
  const out = typeof flags.out === 'string' ? path.resolve(flags.out) : undefined;
  if (out) fs.mkdirSync(path.dirname(out), { recursive: true });
  const profiles = result.nativeHeap ? await writeNativeProfiles(result.nativeHeap, out ?? path.resolve('sockprobe-report.html')) : [];
  if (json) process.stdout.write(JSON.stringify({ ...pulseJson(result), nativeHeapFiles: profiles }) + '\n');
  else log('\n' + renderPulseText(result));
  if (out) {
    fs.writeFileSync(out, renderHtmlReport(result, renderNativeHeapHtml(result, profiles), renderHoldersHtml(result)));
    log(`\nReport: ${out}`);
  }
  for (const file of profiles) log(`Native heap profile (pprof): ${file}`);
  return 0;
}
