/**
 * What a release gave back, from RSS read around it. RSS is the whole process's: other threads
 * (and, under valgrind or ASan, the tool's own bookkeeping) can grow it while a release runs, so
 * "before − after" can come out negative. A release that gave nothing back measurable says 0 and
 * why; the readings themselves are reported as they were.
 */
import { mib } from '../format/bytes';

export interface ReleasedFigures {
  /** Before − after over the whole release, at least 0. */
  releasedBytes: number;
  /** Before − after across the trim alone, at least 0. */
  trimReleasedBytes: number;
  /** Before − after across the GC step, at least 0; null without one. */
  gcReleasedBytes: number | null;
  /** Why a figure reads 0 where RSS rose instead; null when every span gave back or held level. */
  note: string | null;
}

/** RSS readings around the release's steps (`afterGc`: null without a GC step). */
export function releasedFigures(rss: { before: number; afterGc: number | null; beforeTrim: number; after: number }): ReleasedFigures {
  const spans: Array<[string, number]> = [
    ['the whole release', rss.before - rss.after],
    ['the trim', rss.beforeTrim - rss.after],
  ];
  if (rss.afterGc !== null) spans.push(['the GC step', rss.before - rss.afterGc]);
  const rose = spans.filter(([, delta]) => delta < 0).map(([name, delta]) => `${name} +${mib(-delta)}`);
  return {
    releasedBytes: Math.max(0, rss.before - rss.after),
    trimReleasedBytes: Math.max(0, rss.beforeTrim - rss.after),
    gcReleasedBytes: rss.afterGc === null ? null : Math.max(0, rss.before - rss.afterGc),
    note: rose.length
      ? `RSS rose while the release ran (${rose.join(', ')}): other threads allocated meanwhile (or a ` +
        `tool such as valgrind grew its own memory), so nothing measurable came back there and those ` +
        `figures read 0; rssBeforeBytes and rssAfterBytes are the readings as taken`
      : null,
  };
}
