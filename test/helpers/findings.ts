import type { Finding, FindingKind } from '../../src';

/** The findings of one kind, typed as that kind's (its evidence read without casts). */
export function findingsOf<K extends FindingKind>(findings: Finding[], kind: K): Array<Extract<Finding, { kind: K }>> {
  return findings.filter((f): f is Extract<Finding, { kind: K }> => f.kind === kind);
}
