// sockprobe's OpenSSL bytes against an independent count of the same scenario: a fresh
// process with test/fixtures/native/openssl-counting-preload.c preloaded, whose counting
// functions went in through OpenSSL's own public setter before main() ran. Same fixture,
// same connections; only the counter differs. Runs on whichever Node line runs the suite.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childCC, childNode, emulated, root } from '../helpers/child';
import { runOpensslConnections, type OpensslConnectionsResult as Result, type OpensslCounts as Stats } from '../helpers/openssl-connections';

const N = 40;
let dir = '';
let preload = '';

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockprobe-reference-'));
  preload = path.join(dir, 'openssl-counting.so');
  const source = path.join(root, 'test', 'fixtures', 'native', 'openssl-counting-preload.c');
  try {
    execFileSync(childCC, ['-shared', '-fPIC', '-O2', '-o', preload, source, '-ldl'], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(`cannot build the reference preload with ${childCC} (Debian package gcc): ${(error as Error).message}`);
  }
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function measure(role: string, reference: boolean): Promise<Result> {
  const json = await runOpensslConnections(role, N, reference ? { countFile: path.join(dir, `${role}.counts`), preloadPath: preload } : undefined);
  expect(json.error).toBeUndefined();
  expect(json.source).toBe(reference ? 'reference' : 'sockprobe');
  return json;
}

const perConnection = (result: Result, at: Stats, count: number) => (at.liveBytes - result.baseline.liveBytes) / count;

const line = childNode === process.execPath ? `Node ${process.versions.node}` : `${process.env.SOCKPROBE_CHILD_ARCH ?? ''} ${childNode}`;

describe.each(['server', 'client'])(`OpenSSL bytes per idle TLS connection, %s side, ${line}`, (role) => {
  it(
    'equal an independent count through CRYPTO_set_mem_functions before main() (within 1%) and return to baseline (within 1 KiB)',
    async () => {
      const ours = await measure(role, false);
      const theirs = await measure(role, true);
      const [oursN, theirsN] = [perConnection(ours, ours.atN, N), perConnection(theirs, theirs.atN, N)];
      const [ours2N, theirs2N] = [perConnection(ours, ours.at2N, 2 * N), perConnection(theirs, theirs.at2N, 2 * N)];
      expect(theirsN).toBeGreaterThan(4096);
      expect(Math.abs(oursN - theirsN) / theirsN).toBeLessThanOrEqual(0.01);
      expect(Math.abs(ours2N - theirs2N) / theirs2N).toBeLessThanOrEqual(0.01);
      expect(Math.abs(ours.closed.liveBytes - ours.baseline.liveBytes)).toBeLessThanOrEqual(1024);
      expect(Math.abs(theirs.closed.liveBytes - theirs.baseline.liveBytes)).toBeLessThanOrEqual(1024);
      console.info(`${role}: ${oursN} B per connection (sockprobe), ${theirsN} B (reference), at ${N}; ${ours2N} and ${theirs2N} at ${2 * N}`);
    },
    emulated ? 600_000 : 60_000,
  );
});

describe("when something else already replaced OpenSSL's memory functions", () => {
  it(
    'refuses to start with ERR_OPENSSL_SELF_CHECK and leaves them in place',
    () => {
      const script = `
      const { openssl } = require(${JSON.stringify(path.join(root, 'dist', 'cjs'))});
      require('node:crypto').createHash('sha256').update('x').digest();
      let code = null;
      try { openssl.start(); } catch (error) { code = error.code; }
      console.log(JSON.stringify({ code, tracking: openssl.stats().tracking }));`;
      const countFile = path.join(dir, 'refusal.counts');
      const out = execFileSync(childNode, ['-e', script], { env: { ...process.env, LD_PRELOAD: preload, SOCKPROBE_COUNT_FILE: countFile } });
      expect(JSON.parse(out.toString())).toEqual({ code: 'ERR_OPENSSL_SELF_CHECK', tracking: false });
      // The reference kept counting: its functions were not replaced.
      expect(fs.readFileSync(countFile).readBigUInt64LE(32)).toBeGreaterThan(0n);
    },
    emulated ? 180_000 : 60_000,
  );
});
