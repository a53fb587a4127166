// One autoRelease trial in a fresh process (see autorelease.mjs).
const { runPulse, DEFAULT_PULSE } = require('../dist/cjs/experiments/pulse');

const [connections, auto] = [Number(process.argv[2]), process.argv[3] === 'on'];
runPulse({
  ...DEFAULT_PULSE,
  connections,
  bigPulses: 1,
  smallPulses: 0,
  lingerMs: 2000,
  gapMs: 10_000,
  releaseAtEnd: false,
  autoRelease: auto,
  intervalMs: 250,
}).then(
  (result) => {
    const spikeEnd = result.phases.find((p) => p.label.endsWith('close')).end;
    const after = result.samples.filter((s) => s.time >= spikeEnd);
    const back = after.find((s) => s.rss <= 1.3 * result.rss.baseline);
    const at10 = after.filter((s) => s.time <= spikeEnd + 10_000).at(-1);
    console.log(
      JSON.stringify({
        baseline: result.rss.baseline,
        peak: result.rss.peak,
        after10s: at10.rss,
        backWithinMs: back ? back.time - spikeEnd : null,
        releases: result.autoReleases.length,
        longestStallMs: Math.max(0, ...result.autoReleases.map((r) => r.result?.jsThread?.longestStallMs ?? 0)),
        jsThreadMs: result.autoReleases.reduce((sum, r) => sum + (r.result?.jsThread?.totalMs ?? 0), 0),
      }),
    );
  },
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
