import { spawn } from 'node:child_process';
import { parseFlags, UsageError } from './args';
import { findAllocatorLibrary, type AllocatorChoice } from './preload';
import { PULSE_FLAGS } from './pulse-command';
import { table } from './format';
import { kibFigure, mibFigure } from '../format/bytes';
import { allocatorsServiceCommand, isServiceMode } from './allocators-service';

interface Variant {
  label: string;
  allocator: AllocatorChoice;
  flags: string[];
}

const VARIANTS: Variant[] = [
  { label: 'glibc', allocator: 'glibc', flags: ['--no-release'] },
  { label: 'glibc + releaseToOS()', allocator: 'glibc', flags: [] },
  { label: 'glibc + autoRelease', allocator: 'glibc', flags: ['--auto-release', '--no-release'] },
  { label: 'jemalloc + releaseToOS()', allocator: 'jemalloc', flags: [] },
  { label: 'tcmalloc + releaseToOS()', allocator: 'tcmalloc', flags: [] },
  { label: 'mimalloc + releaseToOS()', allocator: 'mimalloc', flags: [] },
];

interface PulseJson {
  allocator: { name: string };
  rss: { baseline: number; peak: number; afterPulses: number; afterRelease: number | null };
  release: { durationMs: number; jsThread: { longestStallMs: number } } | null;
  autoReleases: Array<{ result: { durationMs: number; jsThread: { longestStallMs: number } } | null }>;
  report: { perConnection: Array<{ layer: string; kind: string; bytesPerConnection: number | null }> };
  connectionsPerSecond: number;
  options: { kind: string };
}

function runVariant(variant: Variant, passThrough: string[]): Promise<PulseJson> {
  const env = { ...process.env, LD_PRELOAD: variant.allocator === 'glibc' ? '' : findAllocatorLibrary(variant.allocator) };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [process.argv[1], 'pulse', '--json', ...passThrough, ...variant.flags], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${variant.label}: pulse exited with ${code}`));
      const result = JSON.parse(stdout.trim().split('\n').pop()!) as PulseJson;
      if (result.allocator.name !== variant.allocator) return reject(new Error(`${variant.label}: ${result.allocator.name} served malloc instead`));
      resolve(result);
    });
  });
}

const MiB = (bytes: number | null) => mibFigure(bytes, '—');

export function renderComparison(rows: Array<{ label: string; result: PulseJson }>, markdown: boolean): string {
  const header = ['allocator', 'baseline MiB', 'peak MiB', 'after spike MiB', 'after release MiB', 'RSS/conn KiB', 'conn/s', 'longest release stall ms'];
  const body = rows.map(({ label, result }) => {
    const perConnection = result.report.perConnection.find((e) => e.layer === 'rss' && e.kind === result.options.kind)?.bytesPerConnection ?? null;
    // The longest event-loop stall a release caused (releaseToOS()'s 1 ms loop monitor), not the trim's wall time.
    const stall =
      result.release?.jsThread.longestStallMs ??
      (result.autoReleases.length ? Math.max(...result.autoReleases.map((r) => r.result?.jsThread.longestStallMs ?? 0)) : null);
    return [
      label,
      MiB(result.rss.baseline),
      MiB(result.rss.peak),
      MiB(result.rss.afterPulses),
      MiB(result.rss.afterRelease),
      kibFigure(perConnection, '—'),
      result.connectionsPerSecond.toFixed(0),
      stall === null ? '—' : stall.toFixed(2),
    ];
  });
  if (!markdown) return table([header, ...body]);
  return [header, header.map(() => '---'), ...body].map((row) => `| ${row.join(' | ')} |`).join('\n');
}

/** `sockprobe allocators`: the same pulse under each allocator and release mode, each in a fresh process. */
export async function allocatorsCommand(args: string[]): Promise<number> {
  if (isServiceMode(args)) return allocatorsServiceCommand(args);
  const markdown = args.includes('--markdown');
  const passThrough = args.filter((a) => a !== '--markdown');
  const flags = parseFlags(passThrough, PULSE_FLAGS);
  for (const name of ['allocator', 'json', 'out', 'auto-release', 'no-release']) {
    if (name in flags) throw new UsageError(`--${name} is set per row by the allocators command`);
  }
  const rows: Array<{ label: string; result: PulseJson }> = [];
  for (const variant of VARIANTS) {
    process.stderr.write(`${variant.label}…\n`);
    rows.push({ label: variant.label, result: await runVariant(variant, passThrough) });
  }
  console.log(renderComparison(rows, markdown));
  return 0;
}
