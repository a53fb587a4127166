// Statistics of the paired off/on CPU benches (bench/openssl.mjs, bench/native-heap.mjs):
// medians, the paired change with a distribution-free ~95% interval, and the table they print.
import { createRequire } from 'node:module';

// median and medianInterval (the distribution-free ~95% interval of the median paired ratio, which
// says whether a change is told apart from the noise of a shared machine) are src/allocators/stats.ts's,
// built: the benches run after `npm run build:ts`.
const { median, medianInterval } = createRequire(import.meta.url)('../dist/cjs/allocators/stats');

export { median };

/** results: { phase: { off: [round…], on: [round…] } }, each round an object of metric → number
 *  (null where counted only while on). Paired by round index. */
export function summarisePaired(results) {
  const summary = {};
  for (const [name, byMode] of Object.entries(results)) {
    summary[name] = {};
    for (const key of Object.keys(byMode.off[0])) {
      const on = median(byMode.on.map((result) => result[key]));
      if (byMode.off[0][key] === null) {
        summary[name][key] = { off: null, on: +on.toFixed(1), changePercent: null }; // counted only while on
        continue;
      }
      const off = median(byMode.off.map((result) => result[key]));
      const ratios = byMode.on.map((result, round) => result[key] / byMode.off[round][key]);
      const interval = medianInterval(ratios);
      const percent = (ratio) => +(100 * (ratio - 1)).toFixed(2);
      summary[name][key] = {
        off: +off.toFixed(2),
        on: +on.toFixed(2),
        changePercent: percent(median(ratios)),
        changePercent95: interval ? interval.map(percent) : null,
      };
    }
  }
  return summary;
}

function printSummary(summary) {
  console.log('metric (median of rounds)               off          on   paired change');
  for (const [name, metrics] of Object.entries(summary)) {
    for (const [key, value] of Object.entries(metrics)) {
      const change =
        value.changePercent === null
          ? ''
          : `${value.changePercent >= 0 ? '+' : ''}${value.changePercent}%${value.changePercent95 ? ` (95%: ${value.changePercent95.join(' … ')})` : ''}`;
      console.log(`${(name + ' ' + key).padEnd(34)} ${String(value.off ?? '-').padStart(10)} ${String(value.on).padStart(11)}   ${change}`);
    }
  }
}

/** The bench's result: one JSON line with --json (`jsonOnly`); else a header naming the line, the
 *  machine and `settings`, the table, and a JSON line with every round and `detail`. */
export async function reportPaired({ results, rounds, roundMs, settings = {}, detail = {}, jsonOnly }) {
  const summary = summarisePaired(results);
  const result = {
    node: process.versions.node,
    openssl: process.versions.openssl,
    v8: process.versions.v8,
    cpus: (await import('node:os')).cpus().length,
    rounds,
    roundMs,
    ...settings,
    summary,
  };
  if (jsonOnly) {
    console.log(JSON.stringify(result));
    return;
  }
  const named = Object.entries(settings).map(([key, value]) => `, ${key} ${value}`);
  console.log(`node ${process.version}, ${result.cpus} CPUs, ${rounds} rounds of ${roundMs / 1000} s per phase${named.join('')}`);
  printSummary(summary);
  console.log(JSON.stringify({ ...result, perRound: results, ...detail }));
}
