#!/usr/bin/env node
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../package-root';
import { allocatorsCommand } from './allocators-command';
import { UsageError, parseFlags } from './args';
import { runDemo } from './demo';
import { describeFailure } from './failure';
import { PULSE_USAGE, pulseCommand } from './pulse-command';
import { SNAPSHOT_USAGE, snapshotCommand } from './snapshot-command';

const ALLOCATORS_USAGE = `  allocators   which allocator and settings for your service: starts it afresh under each
               configuration (glibc, arena_max=2, mmap_threshold=64k, jemalloc [background purge],
               tcmalloc [release rate 10], mimalloc [prompt purge], each without and with
               sockprobe's autoRelease), runs the load, idles, and names the best with its
               Dockerfile and systemd lines. With no options: sockprobe's own TLS server,
               a 2000-connection spike, the quick six configurations, 3 rounds (about 6 min)
    --run "node server.js"   your service (default: sockprobe's own TLS/TCP server)
    --ready tcp:PORT         ready when a connect succeeds (default: when it listens on a port)
    --load spike:tls:N | spike:tcp:N | spike:ws:N | spike:wss:N | "<command>"
                             (needed with --run; default spike:tls:2000 without)
    --only quick | all | name,name   (default: all with --run, quick without; quick is
                             glibc, jemalloc-bg, mimalloc-purge0, each also +release)
    --repeat N (3, rotating the order each round)  --idle SECONDS (10)
    --goal rss|throughput|latency|balanced (balanced)   --config name=ENV=VALUE,ENV=VALUE…
    --ready-timeout S (30)   --load-timeout S (300)   --interval MS (100)
    --json   --markdown   --out report.html   --keep`;

const DEMO_USAGE = `  demo         one spike of loopback connections and what releaseToOS() gives back
    --connections N  (default 3000)   --tcp`;

const COMMANDS: Record<string, string> = { pulse: PULSE_USAGE, allocators: ALLOCATORS_USAGE, snapshot: SNAPSHOT_USAGE, demo: DEMO_USAGE };

const EXIT_CODES = `Exit codes: 0 done, 1 the run failed, 2 bad command line, 3 a problem with this machine
(an allocator library missing, a port in use, a process that does not exist). A failure
prints its code in brackets, e.g. [ERR_CLI_USAGE], [ERR_NO_SUCH_PROCESS].`;

const USAGE = `Usage: sockprobe <command> [options]
       sockprobe help [command] | <command> --help | --version

Commands:
${Object.values(COMMANDS).join('\n')}

${EXIT_CODES}`;

function commandUsage(command: string): string {
  return `Usage: sockprobe ${command} [options]\n\n${COMMANDS[command]}\n\n${EXIT_CODES}`;
}

function version(): string {
  return (JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    console.error(USAGE);
    return 2;
  }
  if (command === '-v' || command === '--version' || command === 'version') {
    console.log(`sockprobe ${version()} (Node ${process.versions.node}, OpenSSL ${process.versions.openssl})`);
    return 0;
  }
  // `help`, `help <command>`, `-h`/`--help` alone or after a command.
  if (command === 'help' || command === '-h' || command === '--help') {
    const topic = rest[0];
    if (topic !== undefined && !(topic in COMMANDS)) return fail(new UsageError(`no help for ${topic}: the commands are ${Object.keys(COMMANDS).join(', ')}`));
    console.log(topic === undefined ? USAGE : commandUsage(topic));
    return 0;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command in COMMANDS ? commandUsage(command) : USAGE);
    return command in COMMANDS ? 0 : 2;
  }
  try {
    switch (command) {
      case 'pulse':
        return await pulseCommand(rest);
      case 'allocators':
        return await allocatorsCommand(rest);
      case 'snapshot':
        return await snapshotCommand(rest);
      case 'demo': {
        const flags = parseFlags(rest, { connections: { type: 'integer', min: 1, max: 9000 }, tcp: { type: 'boolean' } });
        await runDemo({ connections: (flags.connections as number | undefined) ?? 3000, kind: flags.tcp ? 'tcp' : 'tls' }, (line) => console.log(line));
        return 0;
      }
      default:
        throw new UsageError(`unknown command ${command}`);
    }
  } catch (error) {
    return fail(error, command in COMMANDS ? commandUsage(command) : USAGE);
  }
}

function fail(error: unknown, usage = USAGE): number {
  const failure = describeFailure(error, usage);
  console.error(failure.text);
  return failure.exitCode;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
