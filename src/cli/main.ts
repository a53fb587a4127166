#!/usr/bin/env node
import { runDemo } from './demo';

const USAGE = `Usage: sockprobe <command> [options]

Commands:
  demo   open and close loopback connections against an embedded server, then show the
         allocator's figures and what releaseToOS() gave back

Options for demo:
  --connections N   how many connections to open (default 3000, at most 9000)
  --tcp             plain TCP instead of TLS
  -h, --help        this text

Exit codes: 0 done, 1 the run failed, 2 bad command line.`;

/** Exit code 2 and the usage for a bad command line. */
class UsageError extends Error {}

function parseDemo(args: string[]) {
  const options = { connections: 3000, kind: 'tls' as 'tls' | 'tcp' };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--tcp') options.kind = 'tcp';
    else if (arg === '--connections') {
      const value = Number(args[++i]);
      if (!Number.isInteger(value) || value < 1 || value > 9000) throw new UsageError(`--connections takes a whole number from 1 to 9000, not ${args[i] ?? 'nothing'}`);
      options.connections = value;
    } else throw new UsageError(`unknown option ${arg}`);
  }
  return options;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || rest.includes('--help') || rest.includes('-h')) {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  try {
    if (command === 'demo') {
      await runDemo(parseDemo(rest), (line) => console.log(line));
      return 0;
    }
    throw new UsageError(`unknown command ${command}`);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`sockprobe: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    console.error(`sockprobe: ${(error as Error).message}`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
