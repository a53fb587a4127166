import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Profile } from 'pprof-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dumpDom, runCli } from '../helpers/cli';

const CONNECTIONS = 400;
const SMALL = [
  '--connections',
  String(CONNECTIONS),
  '--small',
  '40',
  '--big-pulses',
  '1',
  '--small-pulses',
  '1',
  '--linger',
  '500',
  '--gap',
  '300',
  '--interval',
  '100',
  '--no-release',
];

/** Every sample's bytes and innermost function, read with pprof-format's decoder. */
function decode(file: string) {
  const profile = Profile.decode(zlib.gunzipSync(fs.readFileSync(file)));
  const str = (i: number | bigint) => profile.stringTable.strings[Number(i)];
  const index = profile.sampleType.findIndex((t) => str(t.type) === 'inuse_space');
  const samples = profile.sample.map((s) => Number(s.value[index])).sort((a, b) => b - a);
  return { total: samples.reduce((a, b) => a + b, 0), largest: samples[0], count: samples.length };
}

/** `go tool pprof -traces -unit=B`: Go's own reader of the file, every trace with its bytes. */
function goPprof(file: string) {
  const run = spawnSync('go', ['tool', 'pprof', '-traces', '-unit=B', '-sample_index=inuse_space', file], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, HOME: os.tmpdir(), GOCACHE: path.join(os.tmpdir(), 'sockprobe-gocache') },
  });
  expect(run.status, run.stderr).toBe(0);
  const total = Number(/Total samples = (\d+)B/.exec(run.stdout)?.[1]);
  const traces = [...run.stdout.matchAll(/^\s+(\d+)B\s+(\S.*)$/gm)].map((m) => ({ bytes: Number(m[1]), innermost: m[2].trim() }));
  return { stdout: run.stdout, total, traces: traces.sort((a, b) => b.bytes - a.bytes) };
}

describe('sockprobe pulse --native-profile', () => {
  let dir: string;
  let result: { code: number | null; stdout: string; stderr: string };
  let json: any;
  const html = () => path.join(dir, 'report.html');

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockprobe-native-cli-'));
    // OpenSSL tracking off here: its hooks are checked against the profile in their own test below.
    result = await runCli(['pulse', '--native-profile', '--native-sample-bytes', '32768', '--no-openssl', '--json', '--out', html(), ...SMALL]);
    json = JSON.parse(result.stdout.trim().split('\n').pop()!);
  }, 180_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('--help names the option', async () => {
    const { stdout } = await runCli(['pulse', '--help']);
    expect(stdout).toMatch(/--native-profile\s+profile the native heap by call site/);
    const bad = await runCli(['pulse', '--native-sample-bytes', '65536']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--native-sample-bytes needs --native-profile/);
  });

  it('finds per connection what the allocator counts per connection (within 25%)', () => {
    expect(result.code, result.stderr).toBe(0);
    expect(json.nativeHeap.unavailable).toBeNull();
    const per = json.nativeHeap.perConnection;
    expect(per.connections).toBe(CONNECTIONS);
    // The allocator's own in-use count, fitted per connection by the probe (OpenSSL untracked: all of it is "other native").
    const allocator = json.report.perConnection.find((e: { layer: string; kind: string }) => e.layer === 'otherNative' && e.kind === 'tls')?.bytesPerConnection;
    expect(allocator).toBeGreaterThan(20_000);
    expect(per.bytesPerConnection / allocator).toBeGreaterThan(0.75);
    expect(per.bytesPerConnection / allocator).toBeLessThan(1.25);
    expect(per.categories.openssl).toBeGreaterThan(5000);
    expect(per.topSites.length).toBeGreaterThan(3);
  });

  it("with OpenSSL tracking on too, finds OpenSSL's per-connection bytes in its openssl category (within 35% of the exact count)", async () => {
    const tracked = await runCli(['pulse', '--native-profile', '--native-sample-bytes', '32768', '--json', ...SMALL], {}, dir);
    expect(tracked.code, tracked.stderr).toBe(0);
    const both = JSON.parse(tracked.stdout.trim().split('\n').pop()!);
    const exact = both.report.perConnection.find((e: { layer: string; kind: string }) => e.layer === 'openssl' && e.kind === 'tls')?.bytesPerConnection;
    expect(exact, 'OpenSSL tracking runs on this line').toBeGreaterThan(10_000);
    expect(both.nativeHeap.perConnection.categories.openssl / exact).toBeGreaterThan(0.65);
    expect(both.nativeHeap.perConnection.categories.openssl / exact).toBeLessThan(1.35);
  }, 120_000);

  it('writes .pb.gz files that go tool pprof reads with the same totals and largest site as the profile', () => {
    const [top, growth] = json.nativeHeapFiles as string[];
    expect(top).toBe(path.join(dir, 'report.native-heap.pb.gz'));
    expect(growth).toBe(path.join(dir, 'report.native-heap-growth.pb.gz'));
    const whole = decode(top);
    // Each site's estimate is rounded to whole bytes in the file.
    expect(Math.abs(whole.total - json.nativeHeap.top.totalBytes)).toBeLessThanOrEqual(json.nativeHeap.top.sites);
    const go = goPprof(top);
    expect(go.total).toBe(whole.total);
    expect(go.traces[0].bytes).toBe(whole.largest);
    const grown = decode(growth);
    const goGrowth = goPprof(growth);
    expect(goGrowth.total).toBe(grown.total);
    // The largest trace Go reads in the growth file is the JSON's top site, whole (per connection × connections).
    const first = json.nativeHeap.perConnection.topSites[0];
    expect(Math.abs(goGrowth.traces[0].bytes - first.bytesPerConnection * CONNECTIONS)).toBeLessThanOrEqual(1);
  });

  it('shows the holders first (JSON and HTML): one row each with the cost per connection, its error and the fix; a TLS pulse holds only ordinary ones', () => {
    const holders = json.holders as Array<{ holder: string; severity: string; bytesPerConnection: number; relativeError: number; action: string }>;
    const bio = holders.find((h) => h.holder === 'tls-buffers')!;
    expect(bio.severity).toBe('info');
    expect(bio.bytesPerConnection / 65536).toBeGreaterThan(0.85);
    expect(bio.bytesPerConnection / 65536).toBeLessThan(1.3);
    expect(holders.map((h) => h.severity)).toEqual(holders.map(() => 'info'));
    const page = fs.readFileSync(html(), 'utf8');
    const table = page.indexOf('<table id="holders">');
    expect(table).toBeGreaterThan(0);
    expect(table).toBeLessThan(page.indexOf('<h2>RSS</h2>'));
    expect(page).toMatch(
      /<tr class="holder info"><td>info<\/td><td><b>Node&#39;s TLS input buffers \(NodeBIO\)<\/b><\/td><td>[\d.]+ KiB ±\d+%<\/td><td>nothing to change/,
    );
  });

  it('puts a flame graph of one connection in the HTML report, drawn by a real browser with nothing fetched', () => {
    const page = fs.readFileSync(html(), 'utf8');
    expect(page).not.toMatch(/\s(src|href)=|url\(|fetch\(/);
    expect(page).toContain('Native heap by call site: what one TLS connection holds');
    const browser = dumpDom(html(), path.join(dir, 'chromium'));
    expect(browser.status, browser.stderr).toBe(0);
    const frames = Number(/data-flame-frames="(\d+)"/.exec(browser.stdout)?.[1]);
    const width = Number(/data-flame-width="(\d+)"/.exec(browser.stdout)?.[1]);
    expect(frames).toBeGreaterThan(10);
    expect(width).toBe(1000);
    const firstSite = json.nativeHeap.perConnection.topSites[0].site as string;
    expect(browser.stdout).toContain(firstSite.split(' ← ')[0].replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
  });
});
