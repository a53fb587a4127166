// Writes the ESM entry points next to the CommonJS build: one source, both formats.
// The .mjs re-exports every name the CJS build exports; the .d.mts re-exports its types.
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
// register starts a probe when loaded: its ESM entry only needs to load the CJS one.
const entries = [['index', '../cjs/index.js'], ['prometheus', '../cjs/prometheus.js'], ['opentelemetry', '../cjs/opentelemetry.js'], ['register', '../cjs/register.js', { sideEffectsOnly: true }]];
mkdirSync(new URL('../dist/esm/', import.meta.url), { recursive: true });
for (const [name, target, { sideEffectsOnly = false } = {}] of entries) {
  const names = sideEffectsOnly ? [] : Object.keys(require(new URL(`../dist/esm/${target}`, import.meta.url).pathname)).filter((key) => key !== 'default' && key !== '__esModule');
  const js = sideEffectsOnly ? `import '${target}';\nexport {};\n` : `import cjs from '${target}';\nexport const { ${names.join(', ')} } = cjs;\nexport default cjs;\n`;
  writeFileSync(new URL(`../dist/esm/${name}.mjs`, import.meta.url), js);
  writeFileSync(new URL(`../dist/esm/${name}.d.mts`, import.meta.url), sideEffectsOnly ? 'export {};\n' : `export * from '${target}';\n`);
}
