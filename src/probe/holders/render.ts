/** Holders as a person reads them: one line each with the cost per connection and the fix, then the detail. */
import { plusMinus } from '../../native-heap/sampling-error';
import type { HolderEstimate } from './estimate';
import { kibOrBytes, mib } from '../../format/bytes';

export { plusMinus };

const clock = (ms: number) => `${new Date(ms).toISOString().slice(11, 19)} UTC`;
const ago = (ms: number) =>
  ms < 120_000 ? `${Math.max(0, Math.round(ms / 1000))} s` : ms < 7_200_000 ? `${(ms / 60_000).toFixed(0)} min` : `${(ms / 3_600_000).toFixed(1)} h`;

/** When a profile was taken and how RSS moved since: a figure from a profile is as old as the profile. */
export function profileAge(takenAt: number, now: number | null, rssAtProfile: number | null, rssNow: number | null): string {
  const parts = [`profile of ${clock(takenAt)}`];
  // A profile resolves after the sample it is tied to: a few ms "in the future" of the newest sample is 0 s ago.
  if (now !== null) parts.push(`${ago(now - takenAt)} ago`);
  if (rssAtProfile !== null && rssNow !== null) {
    const moved = rssNow - rssAtProfile;
    parts.push(Math.abs(moved) < 1048576 ? 'RSS about the same since' : `RSS has since ${moved > 0 ? 'risen' : 'fallen'} ${mib(Math.abs(moved))}`);
  }
  return parts.join(', ');
}

export function perConnectionText(h: HolderEstimate): string {
  // Growing with flat connections: bytes ÷ connections would read as a cost per connection; the rate is the figure.
  if (h.growth && h.method !== 'regression' && h.method !== 'difference')
    return (
      `${mib(h.bytes)} ${plusMinus(h.relativeError)}, growing ${mib(h.growth.bytesPerHour)}/hour ` +
      `with ${h.connections} ${h.kind.toUpperCase()} connections open`
    );
  if (h.bytesPerConnection === null) return `${mib(h.bytes)} ${plusMinus(h.relativeError)} (no per-connection figure: ${h.declined ?? 'too few connections'})`;
  return `${kibOrBytes(h.bytesPerConnection)} per ${h.kind.toUpperCase()} connection ${plusMinus(h.relativeError)}`;
}

function methodText(h: HolderEstimate): string {
  if (h.method === 'regression') return `fitted on connection counts over the profiles, R² ${h.quality!.toFixed(2)}`;
  if (h.method === 'difference') return `what grew between two profiles ÷ ${h.connections} connections opened`;
  if (h.method === 'division')
    return (
      `the newest profile's bytes ÷ ${h.connections} connections open (an upper bound: a fixed part ` + `counts too; a regression was not used: ${h.declined})`
    );
  return '';
}

/** The one line per holder the reports put first. */
export function holderLine(h: HolderEstimate): string {
  return `[${h.severity}] ${h.name}: ${perConnectionText(h)} — fix: ${h.action}`;
}

/** Detail under the lines: what each is, its figures and their method, its sites, the whole fix. */
export function holderDetail(h: HolderEstimate, now: number | null, indent = '    '): string[] {
  const lines = [
    `${indent}${h.name}: ${h.judgement}; ${mib(h.bytes)} now (${(h.share * 100).toFixed(0)}% of the ` +
      `sampled native heap, ${h.samples} sampled ` +
      `allocations, ${plusMinus(h.relativeError)}); ${methodText(h)}; ${profileAge(h.takenAt, now, h.rssAtProfile, h.rssNow)}.`,
    `${indent}  what: ${h.what}.`,
    `${indent}  fix: ${h.fix}.`,
  ];
  for (const s of h.sites) lines.push(`${indent}  ${kibOrBytes(s.bytes).padStart(10)} ${plusMinus(1 / Math.sqrt(Math.max(1, s.samples)))} ${s.site}`);
  return lines;
}

/** Holders first: a heading, one line each, then the detail of each. */
export function renderHolders(holders: HolderEstimate[], indent = '  '): string[] {
  if (!holders.length) return [];
  return ['Holders (what holds native memory, per connection, and the fix; sampled native heap profile):', ...holders.map((h) => `${indent}${holderLine(h)}`)];
}

export function renderHolderDetails(holders: HolderEstimate[], now: number | null): string[] {
  if (!holders.length) return [];
  return ['', 'Holders in detail:', ...holders.flatMap((h) => holderDetail(h, now))];
}
