/**
 * A flame graph as one self-contained SVG string (no script, no font or style fetched): the
 * outermost frame at the bottom, allocation sites on top, each frame as wide as the bytes its
 * call paths hold. Drawn on the server so the report needs nothing but a browser to show it.
 */
import type { NativeHeapCategory, NativeHeapFrame } from '../native-heap/profile';
import { shortName } from '../native-heap/diff';
import { frameLabel } from '../native-heap/pprof';

export interface FlameSite {
  /** Innermost first, as profiles give it. */
  stack: NativeHeapFrame[];
  value: number;
  category: NativeHeapCategory;
}

interface FlameNode {
  name: string;
  value: number;
  byCategory: Map<NativeHeapCategory, number>;
  children: Map<string, FlameNode>;
}

export const CATEGORY_COLOURS: Record<NativeHeapCategory, string> = {
  openssl: '#e5734a',
  v8: '#5b8fd6',
  node: '#5fae62',
  'node:tls-buffers': '#2e8b57',
  'node:buffers': '#9acd6a',
  libuv: '#b48ad6',
  zlib: '#d6b84a',
  addons: '#d65b8f',
  other: '#a0a0a0',
};

const node = (name: string): FlameNode => ({ name, value: 0, byCategory: new Map(), children: new Map() });
const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Frames deeper than this are folded into their parent: a flame graph past 64 rows is unreadable. */
const MAX_DEPTH = 64;

function buildTree(sites: FlameSite[]): FlameNode {
  const root = node('all');
  for (const site of sites) {
    if (!(site.value > 0)) continue;
    let at = root;
    const add = (n: FlameNode) => {
      n.value += site.value;
      n.byCategory.set(site.category, (n.byCategory.get(site.category) ?? 0) + site.value);
    };
    add(root);
    const outermostFirst = [...site.stack].reverse().slice(0, MAX_DEPTH);
    for (const frame of outermostFirst) {
      const name = frameLabel(frame);
      let child = at.children.get(name);
      if (!child) at.children.set(name, (child = node(name)));
      add(child);
      at = child;
    }
  }
  return root;
}

const dominant = (n: FlameNode): NativeHeapCategory => [...n.byCategory].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'other';

export interface FlameGraphOptions {
  /** How a frame's value reads in its tooltip, e.g. `(v) => (v / 1024).toFixed(1) + ' KiB per connection'`. */
  format: (value: number) => string;
  width?: number;
  title?: string;
}

/**
 * The SVG. Frames narrower than 0.5 px are left out (their bytes still count in their parents);
 * each drawn frame is a `<g class="frame">` with a `<title>` naming it, its value and share.
 */
export function renderFlameGraph(sites: FlameSite[], options: FlameGraphOptions): string {
  const width = options.width ?? 1000;
  const rowHeight = 17;
  const root = buildTree(sites);
  if (root.value <= 0) return '<p>Nothing grew: no frame to draw.</p>';
  const rects: string[] = [];
  let depth = 0;
  const scale = width / root.value;
  const draw = (n: FlameNode, x: number, level: number) => {
    const w = n.value * scale;
    if (w < 0.5) return;
    depth = Math.max(depth, level + 1);
    const share = ((100 * n.value) / root.value).toFixed(1);
    // Room for ~7 px per character at 11 px.
    const room = Math.floor((w - 6) / 6.6);
    const shown = shortName(n.name); // the tooltip keeps the whole name
    const label = room >= 3 ? (shown.length > room ? shown.slice(0, room - 1) + '…' : shown) : '';
    rects.push(
      `<g class="frame" data-level="${level}"><title>${escape(`${n.name} — ${options.format(n.value)} (${share}%)`)}</title>` +
        (`<rect x="${x.toFixed(2)}" y="LEVEL${level}" width="${w.toFixed(2)}" height="${rowHeight - 1}" ` +
          `rx="2" fill="${level === 0 ? '#cccccc' : CATEGORY_COLOURS[dominant(n)]}"></rect>`) +
        (label ? `<text x="${(x + 3).toFixed(2)}" y="TEXT${level}" font-size="11" font-family="monospace">${escape(label)}</text>` : '') +
        '</g>',
    );
    let childX = x;
    for (const child of [...n.children.values()].sort((a, b) => b.value - a.value)) {
      draw(child, childX, level + 1);
      childX += child.value * scale;
    }
  };
  draw(root, 0, 0);
  const height = depth * rowHeight;
  // Root at the bottom: a level's y is known only once the depth is.
  const body = rects.map((r) =>
    r
      .replace(/y="LEVEL(\d+)"/, (_, l) => `y="${height - (Number(l) + 1) * rowHeight}"`)
      .replace(/y="TEXT(\d+)"/, (_, l) => `y="${height - (Number(l) + 1) * rowHeight + 12}"`),
  );
  const legend = (Object.keys(CATEGORY_COLOURS) as NativeHeapCategory[])
    .map(
      (c, i) =>
        `<rect x="${i * 110}" y="${height + 8}" width="12" height="12" ` +
        `fill="${CATEGORY_COLOURS[c]}"></rect><text x="${i * 110 + 16}" y="${height + 18}" ` +
        `font-size="11">${c}</text>`,
    )
    .join('');
  return (
    `<svg class="flame-graph" xmlns="http://www.w3.org/2000/svg" width="${width}" ` +
    `height="${height + 26}" viewBox="0 0 ${width} ${height + 26}" role="img" ` +
    `aria-label="${escape(options.title ?? 'flame graph')}">${body.join('')}${legend}</svg>`
  );
}
