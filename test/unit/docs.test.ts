/**
 * The documentation keeps up with the code: every name the package exports (the root entry and
 * each subpath in package.json "exports") has a heading or a table row in docs/api.md, every
 * relative link in README.md, CHANGELOG.md and docs/*.md resolves (anchors included), and the
 * README stays a front door. Export names are read from the sources at test time, so a new
 * export fails this test until it is documented.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const read = (relative: string) => fs.readFileSync(path.join(ROOT, relative), 'utf8');

/**
 * Pages other work is adding in parallel. A link to one of these may dangle until it lands; the
 * list is emptied once they exist (a test below fails while a listed page already exists).
 */
const PENDING_DOCS: readonly string[] = [];

// ---------------------------------------------------------------- export names

/** A module specifier relative to `from`, resolved to its .ts source (a file or a folder's index). */
function resolveModule(from: string, specifier: string): string {
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(candidate)) return candidate;
  throw new Error(`cannot resolve ${specifier} from ${path.relative(ROOT, from)}`);
}

/** Code without comments, so a commented-out export is not an export. */
const stripComments = (source: string) => source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');

/** Every name a module exports, following `export * from` into the modules it names. */
function exportedNames(file: string, seen = new Set<string>()): Set<string> {
  const names = new Set<string>();
  if (seen.has(file)) return names;
  seen.add(file);
  const source = stripComments(fs.readFileSync(file, 'utf8'));
  // export { a, b as c, type T } [from '...'];  export type { T } [from '...']
  for (const match of source.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const item of match[1].split(',')) {
      const words = item
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/);
      const name = words[words.length - 1].trim();
      if (name) names.add(name);
    }
  }
  // export * from '...'
  for (const match of source.matchAll(/export\s+\*\s+from\s+['"]([^'"]+)['"]/g)) {
    for (const name of exportedNames(resolveModule(file, match[1]), seen)) names.add(name);
  }
  // export * as ns from '...'
  for (const match of source.matchAll(/export\s+\*\s+as\s+([A-Za-z_$][\w$]*)\s+from/g)) names.add(match[1]);
  // export [async] function|const|let|class|interface|type|enum NAME
  for (const match of source.matchAll(/export\s+(?:declare\s+)?(?:async\s+)?(?:function\*?|const|let|var|class|interface|type|enum)\s+([A-Za-z_$][\w$]*)/g)) {
    names.add(match[1]);
  }
  names.delete('default');
  return names;
}

/** package.json "exports" keys other than the root and package.json, as their source files. */
function subpathEntries(): Array<{ subpath: string; file: string }> {
  const exportsField = JSON.parse(read('package.json')).exports as Record<string, unknown>;
  return Object.keys(exportsField)
    .filter((key) => key !== '.' && !key.endsWith('.json'))
    .map((key) => ({ subpath: `sockprobe/${key.slice(2)}`, file: path.join(ROOT, 'src', `${key.slice(2)}.ts`) }));
}

// ---------------------------------------------------------------- Markdown

/** Lines outside fenced code blocks, with their line numbers. */
function proseLines(markdown: string): Array<{ line: string; number: number }> {
  const out: Array<{ line: string; number: number }> = [];
  let fence: string | null = null;
  markdown.split('\n').forEach((line, i) => {
    const opener = /^\s*(```+|~~~+)/.exec(line);
    if (opener) {
      if (fence === null) fence = opener[1][0];
      else if (opener[1][0] === fence) fence = null;
      return;
    }
    if (fence === null) out.push({ line, number: i + 1 });
  });
  return out;
}

const codeSpans = (text: string) => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]);

/** Where api.md names things: the code spans of its headings and of its table rows' first cells. */
function documentedSpans(markdown: string): string[] {
  const spans: string[] = [];
  for (const { line } of proseLines(markdown)) {
    if (/^#{1,6}\s/.test(line)) spans.push(...codeSpans(line));
    else if (/^\|/.test(line) && !/^\|\s*:?-+/.test(line)) spans.push(...codeSpans(line.split('|')[1] ?? ''));
  }
  return spans;
}

/** Names with no heading or first-column table entry: a code span holding the name as a whole word. */
function undocumented(names: Iterable<string>, markdown: string): string[] {
  const spans = documentedSpans(markdown);
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return [...names].filter((name) => {
    const word = new RegExp(`(^|[^\\w$])${escape(name)}($|[^\\w$])`);
    return !spans.some((span) => word.test(span));
  });
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const counts = new Map<string, number>();
  for (const { line } of proseLines(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const text = heading[1]
      .replace(/`/g, '')
      .replace(/<[^>]+>/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text
      .toLowerCase()
      .trim()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const seen = counts.get(slug) ?? 0;
    counts.set(slug, seen + 1);
    anchors.add(seen === 0 ? slug : `${slug}-${seen}`);
  }
  return anchors;
}

/** Relative links in a page's prose (inline code removed), with where they point. */
function relativeLinks(markdown: string): Array<{ target: string; number: number }> {
  const links: Array<{ target: string; number: number }> = [];
  for (const { line, number } of proseLines(markdown)) {
    const text = line.replace(/`[^`]*`/g, '');
    for (const match of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = match[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      links.push({ target, number });
    }
  }
  return links;
}

/** Broken links of one page: a missing file, or an anchor its target page does not have. */
function brokenLinks(page: string, markdown: string, exists: (file: string) => boolean, readPage: (file: string) => string): string[] {
  const broken: string[] = [];
  for (const { target, number } of relativeLinks(markdown)) {
    const [file, anchor] = target.split('#') as [string, string | undefined];
    const resolved = file ? path.posix.normalize(path.posix.join(path.posix.dirname(page), file)) : page;
    if (!exists(resolved)) {
      if (!PENDING_DOCS.includes(resolved)) broken.push(`${page}:${number}: ${target} (no such file)`);
      continue;
    }
    if (anchor && resolved.endsWith('.md') && !anchorsOf(readPage(resolved)).has(anchor.toLowerCase())) {
      broken.push(`${page}:${number}: ${target} (no heading #${anchor} in ${resolved})`);
    }
  }
  return broken;
}

const docPages = () => [
  'README.md',
  'CHANGELOG.md',
  ...fs
    .readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

// ---------------------------------------------------------------- tests

describe('docs/api.md covers every export', () => {
  const api = read('docs/api.md');

  it('of the root entry (src/index.ts, following export * into its modules)', () => {
    const names = exportedNames(path.join(ROOT, 'src/index.ts'));
    // Reaching into ./net and ./openssl: their own exports count.
    expect(names).toContain('tcpInfo');
    expect(names).toContain('openssl');
    expect(names.size).toBeGreaterThan(40);
    expect(undocumented(names, api)).toEqual([]);
  });

  it.each(subpathEntries())('of $subpath', ({ subpath, file }) => {
    expect(fs.existsSync(file)).toBe(true);
    const names = exportedNames(file);
    expect(names.size).toBeGreaterThan(0);
    expect(undocumented(names, api)).toEqual([]);
    expect(documentedSpans(api).some((span) => span.includes(subpath))).toBe(true);
  });

  it('and the check fails when a heading is missing', () => {
    const page = '# API\n## `capabilities()`\n| name | type |\n|---|---|\n| `SockprobeError` | class |\n`allocator()` is only mentioned in prose.\n';
    expect(undocumented(['capabilities', 'SockprobeError', 'allocator', 'releaseToOS'], page)).toEqual(['allocator', 'releaseToOS']);
    // A longer name containing it does not count: `createProbe` does not document `Probe`.
    expect(undocumented(['Probe'], '## `createProbe()`\n')).toEqual(['Probe']);
  });

  it('reads every kind of export statement', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockprobe-docs-'));
    try {
      fs.writeFileSync(
        path.join(dir, 'index.ts'),
        "export { a, b as c, type T } from './x';\nexport type { U } from './x';\nexport * from " +
          "'./more';\nexport * as ns from './more';\n// export const hidden = 1;\nexport async function " +
          'f() {}\nexport const K = 1;\n',
      );
      fs.mkdirSync(path.join(dir, 'more'));
      fs.writeFileSync(path.join(dir, 'more/index.ts'), 'export class Deep {}\nexport interface Shape {}\n');
      expect([...exportedNames(path.join(dir, 'index.ts'))].sort()).toEqual(['Deep', 'K', 'Shape', 'T', 'U', 'a', 'c', 'f', 'ns']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('relative links resolve', () => {
  const exists = (file: string) => fs.existsSync(path.join(ROOT, file));

  it.each(docPages())('in %s', (page) => {
    expect(brokenLinks(page, read(page), exists, read)).toEqual([]);
  });

  it('and the check fails on a missing file or anchor', () => {
    const page = '[ok](docs/api.md) [gone](docs/nope.md) [bad anchor](docs/api.md#no-such-heading) [pending](docs/holders.md) `[code](x.md)`';
    expect(brokenLinks('README.md', page, exists, read)).toEqual([
      'README.md:1: docs/nope.md (no such file)',
      'README.md:1: docs/api.md#no-such-heading (no heading #no-such-heading in docs/api.md)',
    ]);
  });

  it('pending pages are listed only until they exist', () => {
    expect(PENDING_DOCS.filter(exists)).toEqual([]);
  });

  it('anchors follow GitHub: code marks and punctuation dropped, repeats numbered', () => {
    expect([...anchorsOf('## `releaseToOS(options?)`\n## Node lines\n## Node lines\n```\n# not a heading\n```\n')]).toEqual([
      'releasetoosoptions',
      'node-lines',
      'node-lines-1',
    ]);
  });
});

describe('README.md is a front door', () => {
  const readme = read('README.md');

  it('fits in under 200 lines', () => {
    expect(readme.split('\n').length).toBeLessThan(200);
  });

  it.each(docPages())('and so does every page: %s has no line over 200 characters outside tables and code', (page) => {
    const long = proseLines(read(page)).filter(({ line }) => line.length > 200 && !line.startsWith('|'));
    expect(long.map(({ number }) => number)).toEqual([]);
  });

  it('keeps the commands CI and a fresh machine run', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm install && npm run test:setup && npm test');
    expect(readme).toContain('npm run test:lines');
    // .ci/run runs the README's test command word for word.
    expect(read('.ci/run')).toContain('npm run test:setup && npm test');
  });
});
