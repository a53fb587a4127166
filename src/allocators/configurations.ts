/**
 * Allocator configurations as data: which library serves malloc, the environment that tunes it, and
 * whether sockprobe gives memory back (autoRelease in the service). Each becomes one fresh start of
 * the service under test, and the winner becomes the lines an operator pastes into a Dockerfile or a
 * systemd unit.
 */
import * as fs from 'node:fs';
import { EnvironmentError, UsageError } from '../cli/args';
import { ALLOCATOR_NAMES, findAllocatorLibrary, type AllocatorChoice } from '../cli/preload';

export interface AllocatorConfiguration {
  /** Short name, as `--only` takes it: `jemalloc-bg`, `glibc+release`. */
  name: string;
  /** What it is, in an operator's words. */
  label: string;
  allocator: AllocatorChoice;
  /** The allocator's tuning variables (LD_PRELOAD is added where the library is found). */
  env: Record<string, string>;
  /** sockprobe/register with SOCKPROBE_AUTO_RELEASE=1 gives memory back when a spike ends. */
  release: boolean;
  /** LD_PRELOAD as the user gave it (a path or an allocator name), for --config. */
  preload?: string;
}

interface Base {
  name: string;
  label: string;
  allocator: AllocatorChoice;
  env: Record<string, string>;
}

/** mimalloc 2.0 (Debian's libmimalloc2.0) names its purge delays reset_delay and segment_decommit_delay;
 *  2.1 renamed both to purge_delay. Each version reads only its own names, so both are set. */
const MIMALLOC_PROMPT = { MIMALLOC_RESET_DELAY: '0', MIMALLOC_SEGMENT_DECOMMIT_DELAY: '0', MIMALLOC_PURGE_DELAY: '0' };

const BASES: Base[] = [
  { name: 'glibc', label: 'glibc default', allocator: 'glibc', env: {} },
  { name: 'glibc-arena2', label: 'glibc, 2 arenas', allocator: 'glibc', env: { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' } },
  {
    // 64 KiB and larger blocks (libuv's read buffers, TLS records) are mmapped and return at free;
    // a fixed threshold also stops glibc raising it dynamically after the first large free.
    name: 'glibc-mmap64k',
    label: 'glibc, mmap from 64 KiB, trim from 128 KiB',
    allocator: 'glibc',
    env: { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=65536:glibc.malloc.trim_threshold=131072' },
  },
  {
    // glibc 2.35+ marks its heap MADV_HUGEPAGE: a trim then frees whole 2 MiB pages, about a tenth of the kernel's
    // time per MiB of 4 KiB pages, so a release holds the arena lock a serving JS thread waits on for a few ms
    // (docs/benchmarks.md: glibc's trim). The price: a spike's RSS grows by what the huge pages round up to.
    name: 'glibc-thp',
    label: 'glibc, transparent huge pages for its heap',
    allocator: 'glibc',
    env: { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' },
  },
  { name: 'jemalloc', label: 'jemalloc default', allocator: 'jemalloc', env: {} },
  {
    name: 'jemalloc-bg',
    label: 'jemalloc, background purge',
    allocator: 'jemalloc',
    env: { MALLOC_CONF: 'background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0' },
  },
  { name: 'tcmalloc', label: 'tcmalloc default', allocator: 'tcmalloc', env: {} },
  // gperftools' TCMALLOC_RELEASE_RATE: 0 never, default 1, "reasonable rates are in the range [0,10]".
  { name: 'tcmalloc-rate10', label: 'tcmalloc, release rate 10', allocator: 'tcmalloc', env: { TCMALLOC_RELEASE_RATE: '10' } },
  { name: 'mimalloc', label: 'mimalloc default', allocator: 'mimalloc', env: {} },
  { name: 'mimalloc-purge0', label: 'mimalloc, prompt purge', allocator: 'mimalloc', env: MIMALLOC_PROMPT },
];

/** Every built-in configuration: each base without and with sockprobe's autoRelease. */
export const BUILT_IN_CONFIGURATIONS: readonly AllocatorConfiguration[] = BASES.flatMap((base) => [
  { ...base, release: false },
  { ...base, name: `${base.name}+release`, label: `${base.label} + sockprobe autoRelease`, release: true },
]);

export const DEFAULT_CONFIGURATION = 'glibc';

/**
 * `--only quick`: one of each behaviour the 18 showed after a TLS spike (docs/benchmarks.md, 2026-12-03):
 * the default (glibc keeps the spike; arena_max, mmap_threshold and tcmalloc kept it too), the two that give
 * back by configuration alone (jemalloc with background purge, mimalloc with prompt purge), each with
 * sockprobe's autoRelease. The built-in service's default: 6 starts a round instead of 18.
 */
export const QUICK_CONFIGURATIONS: readonly string[] = [
  'glibc',
  'glibc+release',
  'jemalloc-bg',
  'jemalloc-bg+release',
  'mimalloc-purge0',
  'mimalloc-purge0+release',
];

/** Names `--only` expands: `quick` (above) and `all` (every built-in and every --config). */
export const CONFIGURATION_SETS = ['quick', 'all'] as const;
export type ConfigurationSet = (typeof CONFIGURATION_SETS)[number];

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,39}$/;
const VARIABLE = /^[A-Z_][A-Z0-9_]*$/;

/**
 * `name=ENV=VALUE,ENV=VALUE…` from `--config`. A comma-separated piece without `=` belongs to the
 * previous value (MALLOC_CONF=background_thread:true,dirty_decay_ms:1000). LD_PRELOAD may name an
 * allocator (jemalloc) or a path; SOCKPROBE_AUTO_RELEASE=1 turns sockprobe's release on.
 */
export function parseUserConfiguration(text: string): AllocatorConfiguration {
  const eq = text.indexOf('=');
  const name = eq < 0 ? text : text.slice(0, eq);
  if (!NAME.test(name)) throw new UsageError(`--config takes name=ENV=VALUE[,ENV=VALUE…] with a name of letters, digits, . _ + -, not ${JSON.stringify(text)}`);
  const env: Record<string, string> = {};
  let last: string | null = null;
  for (const piece of eq < 0 ? [] : text.slice(eq + 1).split(',')) {
    const at = piece.indexOf('=');
    if (at < 0) {
      if (last === null) throw new UsageError(`--config ${name}: ${JSON.stringify(piece)} is not ENV=VALUE`);
      env[last] += `,${piece}`;
      continue;
    }
    const variable = piece.slice(0, at);
    if (!VARIABLE.test(variable)) throw new UsageError(`--config ${name}: ${JSON.stringify(variable)} is not an environment variable name`);
    env[variable] = piece.slice(at + 1);
    last = variable;
  }
  const { LD_PRELOAD: preload, SOCKPROBE_AUTO_RELEASE: autoRelease, ...tuning } = env;
  const release = autoRelease !== undefined && ['1', 'true', 'yes', 'on'].includes(autoRelease.toLowerCase());
  const allocator = preload ? allocatorOf(preload) : 'glibc';
  return { name, label: `${name} (--config)`, allocator, env: tuning, release, ...(preload ? { preload } : {}) };
}

function allocatorOf(preload: string): AllocatorChoice {
  const lower = preload.toLowerCase();
  return ALLOCATOR_NAMES.find((name) => name !== 'glibc' && lower.includes(name)) ?? 'glibc';
}

/** A configuration ready to run (its LD_PRELOAD found), or skipped with the reason. */
export interface ResolvedConfiguration {
  configuration: AllocatorConfiguration;
  /** The library to preload; null for glibc. */
  library: string | null;
  skipped: string | null;
}

type Finder = (name: Exclude<AllocatorChoice, 'glibc'>) => string;

/** Finds each configuration's library the way `pulse --allocator` does (the linker cache); a missing one is skipped with why. */
export function resolveConfiguration(
  configuration: AllocatorConfiguration,
  find: Finder = findAllocatorLibrary,
  hugePages: HugePagesHost = hostHugePages(),
): ResolvedConfiguration {
  const given = configuration.preload;
  if (given?.includes('/')) {
    return fs.existsSync(given)
      ? { configuration, library: given, skipped: null }
      : { configuration, library: null, skipped: `LD_PRELOAD=${given} does not exist` };
  }
  if (configuration.allocator === 'glibc') return { configuration, library: null, skipped: hugePagesSkipped(configuration, hugePages) };
  try {
    return { configuration, library: find(configuration.allocator), skipped: null };
  } catch (error) {
    if (error instanceof EnvironmentError) return { configuration, library: null, skipped: error.message };
    throw error;
  }
}

/** What glibc.malloc.hugetlb=1 needs of the host: THP `madvise` or `always`, and glibc 2.35 or later. */
export interface HugePagesHost {
  /** The bracketed word of /sys/kernel/mm/transparent_hugepage/enabled; null where it cannot be read. */
  thpMode: string | null;
  /** glibc's version at run time (process.report); null where none is reported (musl). */
  glibc: string | null;
}

const THP_ENABLED = '/sys/kernel/mm/transparent_hugepage/enabled';

export function hostHugePages(): HugePagesHost {
  let thpMode: string | null = null;
  try {
    thpMode = /\[(\w+)\]/.exec(fs.readFileSync(THP_ENABLED, 'utf8'))?.[1] ?? null;
  } catch {
    thpMode = null;
  }
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return { thpMode, glibc: header?.glibcVersionRuntime ?? null };
}

/** Why a configuration asking glibc for huge pages would run as plain glibc here; null when it would not. */
export function hugePagesSkipped(configuration: AllocatorConfiguration, host: HugePagesHost): string | null {
  if (!/(^|:)glibc\.malloc\.hugetlb=1(:|$)/.test(configuration.env.GLIBC_TUNABLES ?? '')) return null;
  if (host.thpMode !== 'madvise' && host.thpMode !== 'always')
    return `glibc.malloc.hugetlb=1 needs transparent huge pages (${THP_ENABLED}: ${host.thpMode ?? 'unreadable'}); it would run as glibc default`;
  const [major, minor] = (host.glibc ?? '0.0').split('.').map(Number);
  if (major < 2 || (major === 2 && minor < 35))
    return `glibc.malloc.hugetlb needs glibc 2.35 or later (this is ${host.glibc ?? 'not glibc'}); it would run as glibc default`;
  return null;
}

/**
 * The built-ins plus the user's, filtered by `--only` (names in the order given there; `quick` and `all`
 * expand in place, a name met twice runs once). Without `--only`: the set given, and every --config.
 */
export function chooseConfigurations(user: AllocatorConfiguration[], only: string[] | null, byDefault: ConfigurationSet = 'all'): AllocatorConfiguration[] {
  const all = [...BUILT_IN_CONFIGURATIONS, ...user];
  const names = new Set<string>(CONFIGURATION_SETS);
  for (const c of all) {
    if (names.has(c.name))
      throw new UsageError(
        `--config ${c.name}: that name is taken${(CONFIGURATION_SETS as readonly string[]).includes(c.name) ? ' (a set --only expands)' : ''}`,
      );
    names.add(c.name);
  }
  const expand = (name: string): AllocatorConfiguration[] => {
    if (name === 'all') return all;
    if (name === 'quick') return QUICK_CONFIGURATIONS.map((n) => all.find((c) => c.name === n)!);
    const found = all.find((c) => c.name === name);
    if (!found) throw new UsageError(`--only ${name}: no such configuration (there are ${[...CONFIGURATION_SETS, ...all.map((c) => c.name)].join(', ')})`);
    return [found];
  };
  if (only === null) return byDefault === 'all' ? all : [...expand('quick'), ...user];
  return [...new Set(only.flatMap(expand))];
}

/** The variables a configuration sets in the service, LD_PRELOAD and sockprobe's included. */
export function deploymentEnvironment(resolved: ResolvedConfiguration): Array<[string, string]> {
  const { configuration, library } = resolved;
  const lines: Array<[string, string]> = [];
  if (library) lines.push(['LD_PRELOAD', library]);
  lines.push(...Object.entries(configuration.env));
  if (configuration.release) lines.push(['NODE_OPTIONS', '-r sockprobe/register'], ['SOCKPROBE_AUTO_RELEASE', '1']);
  return lines;
}

const DEBIAN_PACKAGES: Record<Exclude<AllocatorChoice, 'glibc'>, string> = {
  jemalloc: 'libjemalloc2',
  tcmalloc: 'libtcmalloc-minimal4',
  mimalloc: 'libmimalloc2.0',
};

const needsQuotes = (value: string) => /[\s"'\\$`]/.test(value);

/** The Dockerfile lines (Debian-based image): the package that holds the library, then ENV. */
export function dockerfileLines(resolved: ResolvedConfiguration): string[] {
  const env = deploymentEnvironment(resolved);
  const install =
    resolved.configuration.allocator === 'glibc' || resolved.configuration.preload?.includes('/')
      ? []
      : [`RUN apt-get update && apt-get install -y --no-install-recommends ${DEBIAN_PACKAGES[resolved.configuration.allocator]}`];
  if (env.length === 0) return [...install, '# nothing to set: the default is the choice'];
  const register = resolved.configuration.release ? ['# sockprobe must be a dependency of the service (npm install sockprobe)'] : [];
  return [...install, ...register, ...env.map(([k, v]) => `ENV ${k}=${needsQuotes(v) ? JSON.stringify(v) : v}`)];
}

/** The systemd unit lines ([Service] section). */
export function systemdLines(resolved: ResolvedConfiguration): string[] {
  const env = deploymentEnvironment(resolved);
  if (env.length === 0) return ['# nothing to set: the default is the choice'];
  return env.map(([k, v]) => (needsQuotes(v) ? `Environment="${k}=${v.replace(/(["\\])/g, '\\$1')}"` : `Environment=${k}=${v}`));
}
