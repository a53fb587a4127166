/** A holder as a probe finding: the summary a person reads, the figures behind it, the fix. */
import type { Finding } from '../findings';
import type { HolderEstimate } from './estimate';
import { jsFunctionNote } from './js-function';
import { perConnectionText, plusMinus, profileAge } from './render';
import { mib } from '../../format/bytes';

export function holderFinding(h: HolderEstimate, now: number | null): Finding {
  const { severity, fix, what, ...evidence } = h;
  const js = h.holder === 'js-buffers' ? jsFunctionNote(h.sites) : null;
  return {
    kind: 'holder',
    severity,
    layer: 'nativeHeap',
    summary:
      `${h.name}: ${perConnectionText(h)}, ${mib(h.bytes)} ${plusMinus(h.relativeError)} in all ` +
      `(${(h.share * 100).toFixed(0)}% of the sampled native ` +
      `heap; ${h.judgement}; ${profileAge(h.takenAt, now, h.rssAtProfile, h.rssNow)}). It ` +
      `is ${what}.${h.sites.length ? ` Sites: ${h.sites.map((s) => s.site).join('; ')}.` : ''}${js?.summary ?? ''}`,
    evidence,
    advice: js?.advice ? `${capitalize(js.advice)}; ${fix}.` : `${fix}.`,
  };
}

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
