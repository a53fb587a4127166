#!/usr/bin/env node
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../package-root';
import { allocatorsCommand } from './allocators-command';
import { EnvironmentError, UsageError, parseFlags } from './args';
import { runDemo } from './demo';
import { PULSE_USAGE, pulseCommand } from './pulse-command';
import { SNAPSHOT_USAGE, snapshotCommand } from './snapshot-command';

const USAGE = `Usage: sockprobe <command> [options]
       sockprobe help [command] | --help | --version

Commands:
${PULSE_USAGE}
  allocators   the same pulse under glibc, glibc + releaseToOS, glibc + autoRelease, jemalloc,
               tcmalloc and mimalloc, each in a fresh process: one comparison table
               (takes pulse's size options, and --markdown)
${SNAPSHOT_USAGE}
  demo         one spike of loopback connections and what releaseToOS() gives back
    --connections N  (default 3000)   --tcp

Every command takes -h/--help.
Exit codes: 0 done, 1 the run failed, 2 bad command line, 3 a problem with this machine
(an allocator library missing, a port in use, a process that does not exist).`;

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
  // `help`, `--help`, `-h` anywhere, and `help <command>`, all print the usage.
  if (command === 'help' || command === '-h' || command === '--help' || rest.includes('--help') || rest.includes('-h')) {
    console.log(USAGE);
    return 0;
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
    if (error instanceof UsageError) {
      console.error(`sockprobe: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      console.error(`sockprobe: the port is in use (${(error as Error).message}); pick another with --port, or leave it out for any free port`);
      return 3;
    }
    if (error instanceof EnvironmentError || code === 'ESRCH') {
      console.error(`sockprobe: ${(error as Error).message}`);
      return 3;
    }
    console.error(`sockprobe: ${(error as Error).stack ?? error}`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
