#!/usr/bin/env node
// The project's lint: Biome (format and lint of TypeScript and JavaScript, biome.jsonc),
// clang-format (the C++ in native/, .clang-format) and a cap on every line's length. Any
// finding fails the run; `npm test` runs it first.
//   node scripts/lint.mjs                  checks everything (npm run lint)
//   node scripts/lint.mjs --fix [paths…]   formats and applies Biome's safe fixes, to the
//                                          paths given or to everything (npm run format)
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const biome = createRequire(import.meta.url).resolve('@biomejs/biome/bin/biome');
const script = /\.(ts|mts|cts|js|mjs|cjs)$/;
const cxx = /\.(cc|h)$/;
// The longest line allowed in each kind of file: the formatters' widths. The formatters wrap
// code, and clang-format splits C++ strings too; this catches what Biome leaves alone: long
// string literals and comments. As ESLint's max-len with ignoreRegExpLiterals, a line holding a
// regular expression literal is exempt: a pattern cut in two is harder to read and to get right.
const CAPS = [
  { kind: script, cap: 160 },
  { kind: cxx, cap: 120 },
];
const REGEXP_LITERAL = /(^|[=(,:[!&|?{};]|return)\s*\/(?![/*])(\\.|\[(\\.|[^\]\\\n])*\]|[^/\\[\n])+\/[dgimsuyv]*/;

const args = process.argv.slice(2);
const fix = args.includes('--fix');
const given = args.filter((arg) => arg !== '--fix');
const tracked = execFileSync('git', ['ls-files', '-z', 'src', 'test', 'bench', 'scripts', 'native', '*.mts'], { cwd: root, encoding: 'utf8' })
  .split('\0')
  .filter(Boolean);
const files = given.length ? given.map((file) => path.relative(root, path.resolve(file))) : tracked;
const scripts = files.filter((file) => script.test(file));
const natives = files.filter((file) => cxx.test(file));

function run(command, argv) {
  return spawnSync(command, argv, { cwd: root, stdio: 'inherit' }).status === 0;
}

function clangFormat(argv) {
  if (natives.length === 0) return true;
  if (spawnSync('clang-format', ['--version'], { stdio: 'ignore' }).error) {
    console.error('lint: clang-format is not installed (npm run test:setup installs it)');
    return false;
  }
  return run('clang-format', [...argv, ...natives]);
}

function longLines() {
  let found = 0;
  for (const file of files) {
    const { kind, cap } = CAPS.find(({ kind }) => kind.test(file)) ?? {};
    if (cap === undefined) continue;
    readFileSync(path.join(root, file), 'utf8')
      .split('\n')
      .forEach((line, index) => {
        if (line.length <= cap || (kind === script && REGEXP_LITERAL.test(line))) return;
        found++;
        console.error(`${file}:${index + 1}: ${line.length} characters, over the cap of ${cap}`);
      });
  }
  return found === 0;
}

// Biome walks the tree itself (biome.jsonc says which files) unless paths are given.
const biomeTargets = given.length ? scripts : ['.'];
const biomeCheck = (argv) => biomeTargets.length === 0 || run(process.execPath, [biome, 'check', ...argv, ...biomeTargets]);

let ok;
if (fix) {
  const biomeOk = biomeCheck(['--write']);
  ok = clangFormat(['-i']) && biomeOk;
} else {
  const biomeOk = biomeCheck(['--error-on-warnings']);
  const clangOk = clangFormat(['--dry-run', '-Werror']);
  ok = longLines() && biomeOk && clangOk;
}
if (!ok) process.exitCode = 1;
