/**
 * `sockprobe allocators`: a service started afresh under each allocator configuration, interleaved over
 * rounds, then the verdict (text, markdown, JSON, HTML). The user's service (`--run`, `--load`) under all
 * 18, or with no arguments sockprobe's own TLS server under a 2000-connection spike and the quick six.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  chooseConfigurations,
  DEFAULT_CONFIGURATION,
  QUICK_CONFIGURATIONS,
  parseUserConfiguration,
  resolveConfiguration,
  type ResolvedConfiguration,
} from '../allocators/configurations';
import { renderAllocatorsHtml } from '../allocators/html';
import { describeLoad, parseLoad, type LoadSpec } from '../allocators/load';
import { renderTable, renderVerdict } from '../allocators/render';
import type { RunResult } from '../allocators/run-result';
import { runService } from '../allocators/service-run';
import { buildVerdict, GOALS, type Goal } from '../allocators/verdict';
import { parseFlags, ServiceError, UsageError, type FlagSpec, type ParsedFlags } from './args';

export const SERVICE_FLAGS: Record<string, FlagSpec> = {
  run: { type: 'string' },
  ready: { type: 'string' },
  'ready-timeout': { type: 'integer', min: 1, max: 600 },
  load: { type: 'string' },
  'load-timeout': { type: 'integer', min: 1, max: 3600 },
  repeat: { type: 'integer', min: 1, max: 50 },
  idle: { type: 'integer', min: 0, max: 600 },
  goal: { type: 'choice', values: GOALS },
  only: { type: 'string' },
  interval: { type: 'integer', min: 20, max: 5000 },
  json: { type: 'boolean' },
  markdown: { type: 'boolean' },
  out: { type: 'string' },
  keep: { type: 'boolean' },
};

/** `--config` may come many times: taken out before the other flags are parsed. */
export function takeConfigs(args: string[]): { configs: string[]; rest: string[] } {
  const configs: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] !== '--config') {
      rest.push(args[i]);
      continue;
    }
    const value = args[++i];
    if (value === undefined) throw new UsageError('--config needs a value: name=ENV=VALUE[,ENV=VALUE…]');
    configs.push(value);
  }
  return { configs, rest };
}

function readyPort(text: string | undefined): number | null {
  if (text === undefined) return null;
  const m = /^tcp:(\d{1,5})$/.exec(text);
  const port = m ? Number(m[1]) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new UsageError(`--ready takes tcp:PORT (1–65535), not ${text}`);
  return port;
}

/** Round r runs the configurations rotated by r − 1: each meets every position, so drift over the run cancels. */
export function interleave<T>(items: T[], rounds: number): Array<{ round: number; item: T }> {
  const order: Array<{ round: number; item: T }> = [];
  for (let r = 0; r < rounds; r++) for (let i = 0; i < items.length; i++) order.push({ round: r + 1, item: items[(i + r) % items.length] });
  return order;
}

/** The built-in service's load when none is given: the size of pulse's big pulse. */
export const DEFAULT_BUILT_IN_LOAD = 'spike:tls:2000';

/**
 * The options of the pulse-based comparison this command once ran (each configuration through `pulse`),
 * each with what replaces it, so that an old command line fails clearly instead of meaning something else.
 */
const PULSE_ERA_FLAGS: Record<string, string> = {
  connections: 'the spike size is --load spike:tls:N (or spike:tcp:N)',
  tcp: 'a TCP spike is --load spike:tcp:N',
  small: 'allocators runs one spike per start (--load spike:tls:N); pulse shapes are `sockprobe pulse --allocator NAME`’s',
  'big-pulses': 'allocators runs one spike per start (--load spike:tls:N, --repeat N for rounds)',
  'small-pulses': 'allocators runs one spike per start (--load spike:tls:N, --repeat N for rounds)',
  linger: 'allocators holds the spike 1 s; the time after it is --idle SECONDS',
  gap: 'the time after the spike is --idle SECONDS',
  port: 'each start of the service listens on a free port of its own (--run with --ready tcp:PORT for yours)',
  chatty: 'chatty clients are `sockprobe pulse --chatty --allocator NAME`',
  allocator: 'the configurations are chosen with --only NAME,NAME (e.g. --only jemalloc,jemalloc+release)',
  'auto-release': 'each configuration has a `+release` twin with sockprobe’s autoRelease (e.g. --only glibc+release)',
  'no-release': 'the configurations without `+release` run without autoRelease; the releaseToOS() at the end is its own column',
  'no-openssl': 'OpenSSL accounting is `sockprobe pulse --no-openssl`’s',
  'native-profile': 'the native heap profile is `sockprobe pulse --native-profile --allocator NAME`’s',
  'native-sample-bytes': 'the native heap profile is `sockprobe pulse --native-profile --allocator NAME`’s',
};

/** parseFlags, with an option of the pulse-based comparison named as such and its replacement given. */
function parseAllocatorFlags(args: string[]): ParsedFlags {
  try {
    return parseFlags(args, SERVICE_FLAGS);
  } catch (error) {
    const name = error instanceof UsageError ? /^unknown option --(.+)$/.exec(error.message)?.[1] : undefined;
    if (name === undefined || !Object.hasOwn(PULSE_ERA_FLAGS, name)) throw error;
    throw new UsageError(`--${name} is not an allocators option (it was while allocators ran pulse): ${PULSE_ERA_FLAGS[name]}`);
  }
}

export async function allocatorsCommand(args: string[]): Promise<number> {
  const { configs, rest } = takeConfigs(args);
  const flags = parseAllocatorFlags(rest);
  if (flags.run !== undefined && flags.load === undefined)
    throw new UsageError('--run needs --load: spike:tls:N, spike:tcp:N, spike:ws:N, spike:wss:N or a command that loads your service');
  const load: LoadSpec = parseLoad((flags.load as string | undefined) ?? DEFAULT_BUILT_IN_LOAD, ((flags['load-timeout'] as number | undefined) ?? 300) * 1000);
  let command = flags.run as string | undefined;
  if (command === undefined) {
    if (load.type !== 'spike' || (load.client !== 'tls' && load.client !== 'tcp'))
      throw new UsageError('without --run the service is sockprobe’s own TLS/TCP server: --load spike:tls:N or spike:tcp:N');
    command = `${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(__dirname, '..', 'allocators', 'builtin-service.js'))} ${load.client}`;
  }
  const only = flags.only === undefined ? null : (flags.only as string).split(',').filter(Boolean);
  // Your service gets every configuration; sockprobe's own server the quick six (--only all for the 18).
  const chosen = chooseConfigurations(configs.map(parseUserConfiguration), only, flags.run === undefined ? 'quick' : 'all');
  const resolved: ResolvedConfiguration[] = chosen.map((c) => resolveConfiguration(c));
  const runnable = resolved.filter((r) => r.skipped === null);
  const say = (line: string) => process.stderr.write(`${line}\n`);
  for (const r of resolved) if (r.skipped) say(`skipped ${r.configuration.name}: ${r.skipped}`);
  if (runnable.length === 0) throw new ServiceError('every configuration asked for was skipped: nothing to run');
  const rounds = (flags.repeat as number | undefined) ?? 3;
  const goal = ((flags.goal as Goal | undefined) ?? 'balanced') as Goal;
  say(
    `${describeLoad(load)} · ${runnable.length} configuration(s) × ${rounds} round(s) = ${runnable.length * rounds} start(s) of the service` +
      (only === null && flags.run === undefined ? ` (--only quick: ${QUICK_CONFIGURATIONS.join(', ')}; --only all for every one)` : ''),
  );
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'sockprobe-allocators-'));
  const runs: RunResult[] = [];
  try {
    for (const { round, item } of interleave(runnable, rounds)) {
      const run = await runService(item, round, {
        command,
        readyPort: readyPort(flags.ready as string | undefined),
        readyTimeoutMs: ((flags['ready-timeout'] as number | undefined) ?? 30) * 1000,
        load,
        idleMs: ((flags.idle as number | undefined) ?? 10) * 1000,
        directory,
        register: path.join(__dirname, '..', 'register.js'),
        intervalMs: (flags.interval as number | undefined) ?? 100,
        log: say,
      });
      const expected = item.configuration.allocator;
      if (run.servedBy !== null && run.servedBy !== expected && !item.configuration.preload)
        throw new ServiceError(
          `${item.configuration.name}: ${run.servedBy} served malloc in the service, not ${expected} (does the service reset LD_PRELOAD?)`,
        );
      say(
        `${run.configuration} round ${round}: settled ${(run.rss.settled / 1048576).toFixed(1)} MiB, peak ${(run.rss.peak / 1048576).toFixed(1)} MiB` +
          (run.load.throughput === null ? '' : `, ${run.load.throughput.toFixed(0)} ${run.load.throughputUnit}`),
      );
      runs.push(run);
    }
  } finally {
    if (!flags.keep) fs.rmSync(directory, { recursive: true, force: true });
    else say(`reports and logs kept in ${directory}`);
  }
  const verdict = buildVerdict(resolved, runs, goal, DEFAULT_CONFIGURATION);
  const context = { load: describeLoad(load), node: process.versions.node, date: new Date().toISOString() };
  if (flags.out) fs.writeFileSync(flags.out as string, renderAllocatorsHtml(verdict, runs, context));
  if (flags.json) {
    console.log(JSON.stringify({ ...context, command, rounds, verdict, runs }));
    return 0;
  }
  console.log(`${context.load} · Node ${context.node} · ${rounds} round(s) · sorted by ${goal}\n`);
  console.log(renderTable(verdict, flags.markdown ? 'markdown' : 'text'));
  console.log(renderVerdict(verdict));
  return 0;
}
