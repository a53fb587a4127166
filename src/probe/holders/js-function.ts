/**
 * The JavaScript function behind "Buffers held by JavaScript", in words: named where V8's perf map
 * named the JIT frames of its top site (native-heap/js-names.ts), else how to get that name.
 */
import type { HolderSite } from './match';

/** How an operator turns the names on, and what it costs. */
export const PERF_MAP_ADVICE =
  'to name the JavaScript function that allocates them, run a staging instance with ' +
  'node --perf-basic-prof-only-functions --interpreted-frames-native-stack: V8 then writes /tmp/perf-<pid>.map, ' +
  "which sockprobe reads to name the JIT frames of these stacks (V8's sampling heap profiler cannot: " +
  'it counts the small ArrayBuffer object, not its backing store). Staging only: the map grows without bound as code is compiled';

/** `retainBuffers (/srv/app.js:12)`: the column dropped. */
const shortFunction = (name: string) => name.replace(/:(\d+):\d+\)$/, ':$1)');

/** What the js-buffers finding adds to its summary and advice, from its largest site. */
export function jsFunctionNote(sites: readonly HolderSite[]): { summary: string; advice: string | null } | null {
  const top = sites[0];
  if (!top || top.jsFunction === undefined) return null;
  if (top.jsFunction === null) return { summary: '', advice: PERF_MAP_ADVICE };
  const fn = shortFunction(top.jsFunction);
  return {
    summary: ` The largest site was allocated in ${fn}.`,
    advice: `the largest site's Buffers were allocated in ${fn}: in a heap snapshot, follow the retainers of the Buffers that function creates`,
  };
}
