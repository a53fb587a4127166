// Writes the ESM entry points next to the CommonJS build: one source, both formats.
// The .mjs re-exports every name the CJS build exports; the .d.mts re-exports its types.
import { createRequire } from 'node:module';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
// register starts a probe when loaded, so its names are listed here rather than found by
// loading it at build time.
const entries = [
  ['index', '../cjs/index.js'],
  ['prometheus', '../cjs/prometheus.js'],
  ['opentelemetry', '../cjs/opentelemetry.js'],
  ['register', '../cjs/register.js', { names: ['probe'] }],
];
mkdirSync(new URL('../dist/esm/', import.meta.url), { recursive: true });
for (const [name, target, { names: listed } = {}] of entries) {
  const names =
    listed ?? Object.keys(require(new URL(`../dist/esm/${target}`, import.meta.url).pathname)).filter((key) => key !== 'default' && key !== '__esModule');
  const js = `import cjs from '${target}';\nexport const { ${names.join(', ')} } = cjs;\nexport default cjs;\n`;
  writeFileSync(new URL(`../dist/esm/${name}.mjs`, import.meta.url), js);
  writeFileSync(new URL(`../dist/esm/${name}.d.mts`, import.meta.url), `export * from '${target}';\n`);
}

// The declarations name Node's types (node:net, Buffer, NodeJS.Timeout): point each at
// @types/node (a dependency), since TypeScript 7 no longer loads @types packages unasked.
const reference = '/// <reference types="node" />\n';
const cjs = new URL('../dist/cjs/', import.meta.url);
for (const file of readdirSync(cjs, { recursive: true })) {
  if (!String(file).endsWith('.d.ts')) continue;
  const url = new URL(String(file), cjs);
  const text = readFileSync(url, 'utf8');
  if (!text.startsWith(reference)) writeFileSync(url, reference + text);
}
