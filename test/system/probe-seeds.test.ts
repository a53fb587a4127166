import { describe, expect, it } from 'vitest';
import { runFixture } from '../helpers/child';
import { findingsOf } from '../helpers/findings';
import type { ProbeReport } from '../../src';

type Report = Pick<ProbeReport, 'findings' | 'latest'> & { port?: number };

describe('seed cases, reproduced small and named by the probe', () => {
  it('seed 001: OpenSSL memory growing while connections stay flat is named a leak on the OpenSSL layer', async () => {
    const report = (await runFixture<Report & { hashes: number }>('seed-scenarios.js', { args: ['native-leak'] })).json;
    const leaks = findingsOf(report.findings, 'leak');
    expect(leaks.map((f) => f.layer)).toContain('openssl');
    const openssl = leaks.find((f) => f.layer === 'openssl')!;
    // 40,000 kept Hash objects; each holds OpenSSL state (an EVP_MD_CTX and its digest data).
    expect(openssl.evidence.growthBytes).toBeGreaterThan(report.hashes * 100);
    expect(openssl.evidence.connectionsFirst).toBe(openssl.evidence.connectionsLast);
  });

  it('seed 000: TLS clients that connect and never close show as idle connections with their cost', async () => {
    const report = (await runFixture<Report>('seed-scenarios.js', { args: ['idle'] })).json;
    expect(report.findings.map((f) => f.kind)).toEqual(['idle-connections']);
    const [idle] = findingsOf(report.findings, 'idle-connections');
    expect(idle.layer).toBe('sockets');
    expect(idle.evidence.idleConnections).toBe(300);
    // The process-memory estimate comes from the measured per-connection RSS, not a constant.
    expect(idle.evidence.estimatedProcessBytes).toBeGreaterThan(300 * 10_000);
    expect(report.latest!.sockets!.byState.ESTABLISHED).toBe(300);
  });

  it('seed 003: HTTP/1.1 clients that never read the response nor close, keep-alive off, pile up CLOSE_WAIT', async () => {
    const report = (await runFixture<Report>('seed-scenarios.js', { args: ['close-wait'] })).json;
    const closeWait = findingsOf(report.findings, 'close-wait');
    expect(closeWait).toHaveLength(1);
    expect(closeWait[0].evidence.closeWait).toBe(30);
    expect(closeWait[0].evidence[`port →${report.port}`]).toBe(30);
    // The server side, in this process too, waits for a FIN that never comes.
    expect(report.latest!.sockets!.byState.FIN_WAIT2).toBe(30);
  });
});
