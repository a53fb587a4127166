import { describe, expect, it } from 'vitest';
import { parseFlags, UsageError, type FlagSpec } from '../../src/cli/args';

const spec: Record<string, FlagSpec> = {
  json: { type: 'boolean' },
  pid: { type: 'integer', min: 1, max: 4_194_304 },
  out: { type: 'string' },
  format: { type: 'choice', values: ['text', 'markdown'] },
};
const usage = (args: string[]) => {
  try {
    parseFlags(args, spec);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`${args.join(' ')} was accepted`);
};

describe('parseFlags', () => {
  it('reads booleans, integers, strings and choices', () => {
    expect(parseFlags(['--json', '--pid', '4242', '--out', 'r.html', '--format', 'markdown'], spec)).toEqual({
      json: true,
      pid: 4242,
      out: 'r.html',
      format: 'markdown',
    });
    expect(parseFlags([], spec)).toEqual({});
  });

  it('takes a value that looks like a flag as the value of the flag before it', () => {
    expect(parseFlags(['--out', '--json'], spec)).toEqual({ out: '--json' });
  });

  it('names what is wrong with each bad argument', () => {
    expect(usage(['--verbose'])).toBe('unknown option --verbose');
    expect(usage(['json'])).toBe('unknown option json');
    expect(usage(['--pid'])).toBe('--pid needs a value');
    expect(usage(['--pid', '0'])).toBe('--pid takes a whole number from 1 to 4194304, not 0');
    expect(usage(['--pid', '12abc'])).toBe('--pid takes a whole number from 1 to 4194304, not 12abc');
    expect(usage(['--pid', '1.5'])).toMatch(/not 1\.5$/);
    expect(usage(['--format', 'html'])).toBe('--format takes one of text, markdown, not html');
  });

  it("does not take an object's inherited names for options", () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) expect(usage([`--${name}`, 'x'])).toBe(`unknown option --${name}`);
  });
});
