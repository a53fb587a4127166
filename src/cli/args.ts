/** A bad command line: exit code 2 and the usage text. */
export class UsageError extends Error {
  readonly code = 'ERR_CLI_USAGE';
  readonly exitCode = 2;
}

/** An environment problem the user can fix (a missing library, a port in use, no such pid): exit code 3. */
export class EnvironmentError extends Error {
  readonly code = 'ERR_CLI_ENVIRONMENT';
  readonly exitCode = 3;
}

export type FlagSpec = { type: 'boolean' } | { type: 'integer'; min: number; max: number } | { type: 'string' } | { type: 'choice'; values: readonly string[] };

export type ParsedFlags = Record<string, string | number | boolean>;

/** Parses `--name value` and `--flag` arguments against a spec; anything else is a UsageError. */
export function parseFlags(args: string[], spec: Record<string, FlagSpec>): ParsedFlags {
  const flags: ParsedFlags = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    const rule = name === undefined || !Object.hasOwn(spec, name) ? undefined : spec[name];
    if (name === undefined || rule === undefined) throw new UsageError(`unknown option ${arg}`);
    if (rule.type === 'boolean') {
      flags[name] = true;
      continue;
    }
    const value = args[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (rule.type === 'integer') {
      const number = Number(value);
      if (!Number.isInteger(number) || number < rule.min || number > rule.max)
        throw new UsageError(`--${name} takes a whole number from ${rule.min} to ${rule.max}, not ${value}`);
      flags[name] = number;
    } else if (rule.type === 'choice') {
      if (!rule.values.includes(value)) throw new UsageError(`--${name} takes one of ${rule.values.join(', ')}, not ${value}`);
      flags[name] = value;
    } else {
      flags[name] = value;
    }
  }
  return flags;
}

/** The service under test failed (never ready, exited, no report): exit code 1, what happened and its output's tail. */
export class ServiceError extends Error {
  readonly code = 'ERR_CLI_SERVICE';
  readonly exitCode = 1;
}
