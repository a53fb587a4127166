import { beforeAll, describe, expect, it } from 'vitest';
import { runFixture } from './helpers/child';

interface Finding { kind: string; layer: string; evidence: Record<string, number | string> }
interface Estimate { layer: string; kind: string; bytesPerConnection: number | null; method: string }
interface ScenarioResult {
  rss: { baseline: number; peak: number; afterPulses: number };
  lastRss: number;
  phases: Array<{ label: string; start: number; end: number; rss: number; opensslLive: number | null }>;
  report: { findings: Finding[]; perConnection: Estimate[]; versions: Record<string, string> };
  autoReleases: Array<{ time: number; result: { releasedBytes: number } | null }>;
  options: { connections: number };
}

const MiB = 1024 * 1024;
const scenario = (name: string) => runFixture<ScenarioResult>('pulse-scenario.js', { args: [name] }).then((r) => r.json);

describe('the probe on real loopback TLS pulses', () => {
  let spike: ScenarioResult;
  beforeAll(async () => {
    spike = await scenario('spike');
  });

  it('names retention after a spike (the Go pulse case) as free-but-retained native memory', () => {
    const result = spike;
    const retention = result.report.findings.filter((f) => f.kind === 'retention');
    expect(retention).toHaveLength(1);
    expect(retention[0].layer).toBe('nativeFree');
    expect(Number(retention[0].evidence.retainedBytes)).toBeGreaterThan(16 * MiB);
    expect(result.report.findings.filter((f) => f.kind === 'leak')).toEqual([]);
  });

  it('measures RSS per TLS connection in agreement (10%) with the direct RSS delta', () => {
    const result = spike;
    const estimate = result.report.perConnection.find((e) => e.layer === 'rss' && e.kind === 'tls')!;
    // Direct: RSS when the pulse had opened every connection, against the baseline.
    const opened = result.phases.find((p) => p.label.endsWith(`open ${result.options.connections}`))!;
    const direct = (opened.rss - result.rss.baseline) / result.options.connections;
    expect(estimate.method).toBe('rising-edge');
    expect(Math.abs(estimate.bytesPerConnection! - direct) / direct).toBeLessThan(0.1);
    expect(result.report.versions.openssl).toBe(process.versions.openssl);
  });

  it('measures OpenSSL bytes per TLS connection in agreement (10%) with the OpenSSL stats delta', () => {
    const result = spike;
    const estimate = result.report.perConnection.find((e) => e.layer === 'openssl' && e.kind === 'tls')!;
    const baseline = result.phases.find((p) => p.label === 'baseline')!;
    const opened = result.phases.find((p) => p.label.endsWith(`open ${result.options.connections}`))!;
    const direct = (opened.opensslLive! - baseline.opensslLive!) / result.options.connections;
    expect(direct).toBeGreaterThan(10_000); // an idle TLS 1.3 server connection holds ~14 KB in OpenSSL
    expect(Math.abs(estimate.bytesPerConnection! - direct) / direct).toBeLessThan(0.1);
  });

  it('finds nothing in a healthy run: connections rising and falling, nothing leaking', async () => {
    const result = await scenario('healthy');
    expect(result.report.findings).toEqual([]);
  });

  it('autoRelease gives memory back once the spike ends, without a call from the user', async () => {
    const result = await scenario('autorelease');
    expect(result.autoReleases).toHaveLength(1);
    const release = result.autoReleases[0];
    expect(release.result!.releasedBytes).toBeGreaterThan(16 * MiB);
    const spikeEnd = result.phases.find((p) => p.label.endsWith('close'))!.end;
    expect(release.time - spikeEnd).toBeLessThan(10_000);
    expect(result.lastRss).toBeLessThan(1.3 * result.rss.baseline);
  });
});
