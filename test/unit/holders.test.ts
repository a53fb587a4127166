import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { NativeHeapProfile } from '../../src/native-heap/profile';
import { estimateHolders, holdersFromPair, relativeError, type HolderReading } from '../../src/probe/holders/estimate';
import { holderFinding } from '../../src/probe/holders/finding';
import { holderOf, holderTotals, holderTotalsSliced } from '../../src/probe/holders/match';
import { holderLine, plusMinus, profileAge, renderHolders } from '../../src/probe/holders/render';
import { HOLDER_SIGNATURES } from '../../src/probe/holders/signatures';
import { frame, makeProfile, site, STACKS } from '../helpers/native-heap';
import { recordedBytes, recordedMeta } from '../helpers/recorded';
import { makeSample } from '../helpers/samples';

interface Recording {
  mode: string;
  node: string;
  openssl: string;
  direct: { connections: number; perConnection: number };
  series: Array<{ connections: number; profile: NativeHeapProfile }>;
}

/** A profile series recorded from a real run of test/fixtures/holders-service.js (see its .meta.json). */
function recording(name: string): Recording {
  const file = `holders-${name}.json.gz`;
  recordedMeta(file);
  return JSON.parse(zlib.gunzipSync(Buffer.from(recordedBytes(file))).toString('utf8'));
}

/** The recording's profiles as probe readings: each tied to a sample with the connections open then. */
function readingsOf(rec: Recording): HolderReading[] {
  return rec.series.map(({ connections, profile }, i) => ({
    sample: makeSample(0, { time: profile.takenAt, rss: 100e6 + i * 1e6, tls: connections }),
    takenAt: profile.takenAt,
    totalBytes: profile.totalBytes,
    sampleBytes: profile.sampleBytes,
    holders: holderTotals(profile),
  }));
}

const estimatesOf = (rec: Recording) => estimateHolders(readingsOf(rec), rec.series[rec.series.length - 1].profile, undefined);
const KiB = 1024;

describe('holder signatures matched on real stacks', () => {
  it('names the zlib contexts of ws permessage-deflate at what zlib says a deflate plus an inflate context take (Node 20 and 26)', () => {
    // zlib.h: deflate needs (1 << (windowBits+2)) + (1 << (memLevel+9)) bytes, inflate 1 << windowBits, plus their state (~6 KiB, ~7 KiB).
    const zlibOwn = (1 << 17) + (1 << 17) + (1 << 15);
    for (const name of ['deflate-20', 'deflate-26']) {
      const rec = recording(name);
      const zlibHolder = estimatesOf(rec).find((h) => h.holder === 'zlib')!;
      expect(zlibHolder.severity).toBe('warning');
      expect(zlibHolder.method).toBe('regression');
      expect(zlibHolder.bytesPerConnection! / zlibOwn).toBeGreaterThan(0.9);
      expect(zlibHolder.bytesPerConnection! / (zlibOwn + 16 * KiB)).toBeLessThan(1.15);
      expect(zlibHolder.sites[0].site).toMatch(/AllocForZlib/);
    }
  });

  it('finds no zlib holder with permessage-deflate off', () => {
    for (const name of ['no-deflate-20', 'no-deflate-26']) expect(estimatesOf(recording(name)).map((h) => h.holder)).not.toContain('zlib');
  });

  it('puts the zlib holder within 15% of the direct difference in allocator in-use between deflate on and off', () => {
    for (const line of ['20', '26']) {
      const on = recording(`deflate-${line}`);
      const off = recording(`no-deflate-${line}`);
      const direct = on.direct.perConnection - off.direct.perConnection;
      const zlibHolder = estimatesOf(on).find((h) => h.holder === 'zlib')!;
      expect(Math.abs(zlibHolder.bytesPerConnection! - direct) / direct).toBeLessThan(0.15);
    }
  });

  it('names SecureContexts made per connection as a warning, and says nothing of one shared context', () => {
    for (const name of ['context-per-connection-20', 'context-per-connection-26']) {
      const holder = estimatesOf(recording(name)).find((h) => h.holder === 'secure-contexts');
      expect(holder).toMatchObject({ severity: 'warning', method: 'regression' });
      expect(holder!.judgement).toMatch(/tracks connections/);
    }
    expect(estimatesOf(recording('shared-context-26')).map((h) => h.holder)).not.toContain('secure-contexts');
  });

  it('gives a healthy TLS service only info-level holders: the 64 KiB TLS buffer and OpenSSL state, ordinary', () => {
    const holders = estimatesOf(recording('healthy-26'));
    expect(holders.map((h) => h.severity)).toEqual(holders.map(() => 'info'));
    const bio = holders.find((h) => h.holder === 'tls-buffers')!;
    expect(bio.bytesPerConnection! / (64 * KiB)).toBeGreaterThan(0.85);
    expect(bio.bytesPerConnection! / (64 * KiB)).toBeLessThan(1.2);
    expect(holders.map((h) => h.holder)).toContain('openssl-connections');
  });

  it('raises Buffers a JS function keeps per connection at the Buffer size it keeps', () => {
    const buffers = estimatesOf(recording('buffers-20')).find((h) => h.holder === 'js-buffers')!;
    expect(buffers.severity).toBe('warning');
    expect(Math.abs(buffers.bytesPerConnection! - 128 * KiB) / (128 * KiB)).toBeLessThan(0.15);
    expect(buffers.fix).toMatch(/heap snapshot/);
  });

  it('decides by the innermost decisive frame: a context made in an SNICallback under SSL_read is a context', () => {
    const sni = [
      frame('CRYPTO_zalloc', 0x10),
      frame('SSL_CTX_new_ex', 0x20),
      frame('node::crypto::SecureContext::Init(v8::FunctionCallbackInfo<v8::Value> const&)', 0x30),
      frame('ssl3_read_bytes', 0x40),
      frame('SSL_read', 0x50),
      frame('node::crypto::TLSWrap::ClearOut()', 0x60),
    ];
    expect(holderOf(sni)).toBe('secure-contexts');
    expect(holderOf(STACKS.ssl)).toBe('openssl-connections');
    expect(holderOf(STACKS.zlib)).toBe('zlib');
    // A stack cut short of SSL_read: libssl's internals still name the connection's state.
    expect(holderOf([frame('CRYPTO_zalloc', 0x10), frame('tls13_change_cipher_state', 0x70)])).toBe('openssl-connections');
    // A session cache filled per handshake is not a context made per connection.
    expect(holderOf([frame('CRYPTO_zalloc', 0x10), frame('SSL_CTX_add_session', 0x80), frame('ssl_update_cache', 0x90), frame('SSL_read', 0x50)])).toBe(
      'openssl-connections',
    );
    expect(holderOf(STACKS.addon)).toBeNull();
  });

  it('matches in slices with the same totals as at once', async () => {
    const profile = recording('deflate-26').series.at(-1)!.profile;
    const sliced = await holderTotalsSliced(profile);
    expect(sliced.totals).toEqual(holderTotals(profile));
    expect(sliced.sites.zlib![0].site).toMatch(/AllocForZlib/);
  });

  it('has a fix naming real options for every holder', () => {
    for (const s of HOLDER_SIGNATURES) expect(s.fix.length).toBeGreaterThan(40);
    const zlibFix = HOLDER_SIGNATURES.find((s) => s.id === 'zlib')!.fix;
    for (const option of ['perMessageDeflate: false', 'memLevel', 'serverMaxWindowBits', 'threshold', 'serverNoContextTakeover', 'clientNoContextTakeover'])
      expect(zlibFix).toContain(option);
  });
});

describe('holder figures and their errors', () => {
  it('carries the Poisson relative error of its samples, shown as ±%', () => {
    expect(relativeError(100)).toBeCloseTo(0.1);
    expect(plusMinus(relativeError(156))).toBe('±8%');
    expect(plusMinus(relativeError(0))).toBe('±?');
    const zlibHolder = estimatesOf(recording('deflate-20')).find((h) => h.holder === 'zlib')!;
    expect(zlibHolder.relativeError).toBeCloseTo(1 / Math.sqrt(zlibHolder.samples));
    expect(holderLine(zlibHolder)).toMatch(
      /^\[warning\] permessage-deflate \/ zlib compression contexts: [\d.]+ KiB per TLS connection ±\d+% — fix: perMessageDeflate: false/,
    );
  });

  it('divides by the connections open, and says so, when counts did not vary enough for a fit', () => {
    const rec = recording('deflate-26');
    const last = readingsOf(rec).at(-1)!;
    const steady = [0, 1, 2, 3, 4].map((i) => ({ ...last, takenAt: last.takenAt + i * 1000, sample: { ...last.sample, time: last.sample.time + i * 1000 } }));
    const zlibHolder = estimateHolders(steady, null, undefined).find((h) => h.holder === 'zlib')!;
    expect(zlibHolder.method).toBe('division');
    expect(zlibHolder.bytesPerConnection).toBeCloseTo(last.holders.zlib!.bytes / rec.series.at(-1)!.connections);
    expect(zlibHolder.declined).toMatch(/varied by 0/);
  });

  it('raises a holder that grows with flat connections, with its rate per hour', () => {
    const sample = (minute: number) => makeSample(0, { time: minute * 60_000, tls: 300 });
    const readings: HolderReading[] = Array.from({ length: 10 }, (_, minute) => ({
      sample: sample(minute),
      takenAt: minute * 60_000,
      totalBytes: 64e6,
      sampleBytes: 32768,
      holders: {
        'tls-buffers': { bytes: 300 * 65536, samples: 600, count: 300 },
        'js-buffers': { bytes: 8e6 + minute * 2e6, samples: 300 + minute * 60, count: 100 },
      },
    }));
    const holders = estimateHolders(readings, null, undefined);
    const buffers = holders.find((h) => h.holder === 'js-buffers')!;
    expect(buffers.severity).toBe('warning');
    expect(buffers.growth!.bytesPerHour).toBeCloseTo(120e6, -6);
    expect(holders.find((h) => h.holder === 'tls-buffers')!.severity).toBe('info');
  });

  it('leaves out what is too small to name (fewer than 8 samples or under 1 MiB)', () => {
    const readings: HolderReading[] = [
      {
        sample: makeSample(0, { tls: 100 }),
        takenAt: 0,
        totalBytes: 10e6,
        sampleBytes: 524288,
        holders: { zlib: { bytes: 3e6, samples: 6, count: 10 }, 'tls-buffers': { bytes: 0.5e6, samples: 50, count: 10 } },
      },
    ];
    expect(estimateHolders(readings, null, undefined)).toEqual([]);
  });

  it("from a pulse's pair of profiles: what grew ÷ connections opened", () => {
    const before = makeProfile([site(STACKS.zlib, 1e6, 10, 30)], { takenAt: 1000 });
    const top = makeProfile([site(STACKS.zlib, 1e6 + 300 * 300 * KiB, 3000, 2700), site(STACKS.ssl, 300 * 20 * KiB, 300, 200)], { takenAt: 5000 });
    const holders = holdersFromPair(before, top, 300, 'tls', { atTop: 500e6, now: 30e6 });
    expect(holders[0]).toMatchObject({ holder: 'zlib', method: 'difference', severity: 'warning' });
    expect(holders[0].bytesPerConnection).toBeCloseTo(300 * KiB);
    // The growth of two sampled figures: √(2700 + 30) ÷ (2700 − 30).
    expect(holders[0].relativeError).toBeCloseTo(Math.sqrt(2730) / 2670, 9);
    expect(holders.find((h) => h.holder === 'openssl-connections')!.severity).toBe('info');
  });
});

describe('holders in words', () => {
  it('says when the profile was taken and how RSS moved since', () => {
    expect(profileAge(Date.UTC(2026, 11, 3, 14, 5, 0), Date.UTC(2026, 11, 3, 14, 5, 18), 1000e6, 1000e6 - 470 * 1048576)).toBe(
      'profile of 14:05:00 UTC, 18 s ago, RSS has since fallen 470.0 MiB',
    );
  });

  it('puts one line per holder, warnings first, before the detail; a finding carries evidence and the whole fix', () => {
    const holders = estimatesOf(recording('deflate-20'));
    const lines = renderHolders(holders);
    expect(lines[0]).toMatch(/^Holders/);
    expect(lines[1]).toMatch(/^ {2}\[warning\] permessage-deflate/);
    expect(lines.slice(1).every((l) => / per TLS connection ±\d+% — fix: /.test(l))).toBe(true);
    const finding = holderFinding(holders[0], holders[0].takenAt + 18_000);
    expect(finding).toMatchObject({ kind: 'holder', severity: 'warning', layer: 'nativeHeap' });
    expect(finding.kind === 'holder' && finding.evidence.holder).toBe('zlib');
    expect(finding.summary).toMatch(/18 s ago/);
    expect(finding.advice).toContain('serverMaxWindowBits');
  });
});

describe('a holder that grows with flat connections', () => {
  it('gives its rate per hour in the line, not bytes ÷ connections read as a cost per connection', () => {
    const readings: HolderReading[] = Array.from({ length: 8 }, (_, i) => ({
      sample: makeSample(0, { time: i * 5000, tls: 50 }),
      takenAt: i * 5000,
      totalBytes: 40e6,
      sampleBytes: 32768,
      holders: { 'secure-contexts': { bytes: 4e6 + i * 4e6, samples: 120 + i * 120, count: 1000 } },
    }));
    const [contexts] = estimateHolders(readings, null, undefined);
    expect(contexts).toMatchObject({ holder: 'secure-contexts', severity: 'warning', method: 'division' });
    expect(holderLine(contexts)).toMatch(
      /^\[warning\] TLS SecureContexts created per connection or per request: [\d.]+ MiB ±\d+%, growing 2746\.6 MiB\/hour with 50 TLS connections open — fix: create each SecureContext once and reuse it$/,
    );
  });
});
