// Two copies of sockprobe in one process, or another tool's hook in the executable's malloc
// slot: whoever holds the malloc slots is named (its object's path, and whether it is a copy
// of sockprobe: each copy exports sockprobe_native_heap_marker), in capabilities() as well
// as in start()'s error; once the holder lets go, capabilities() says true again. Before,
// a copy that had checked first kept saying true and then failed to start with "could not
// rewrite any malloc slot (0 confirmed slots refused the write)".
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root, runFixture } from '../helpers/child';

interface Failure {
  code: string;
  message: string;
}
interface TwoCopies {
  pathA: string;
  pathB: string;
  bBefore: true | string;
  aWhileA: true | string;
  bWhileA: true | string;
  bStartWhileA: Failure | null;
  bAfterA: true | string;
  bStartAfterA: Failure | null;
  bProfileSites: number;
  aWhileB: true | string;
  aStartWhileB: Failure | null;
  aAfterB: true | string;
  error?: string;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const heldBy = (who: string, file: string) => new RegExp(`^${who} \\(${escape(file)}\\) holds the malloc slots: \\d+ of the executable's GOT slots`);

let dir = '';
let tool = '';
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockprobe-got-tool-'));
  tool = path.join(dir, 'got-hook-tool.so');
  try {
    execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', tool, path.join(root, 'test', 'fixtures', 'native', 'got-hook-tool.c')], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(`cannot build the GOT-hooking tool with cc (Debian package gcc): ${(error as Error).message}`);
  }
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe(`whoever holds the malloc slots is named, Node ${process.versions.node}`, () => {
  it('a second copy of sockprobe: each names the other while it profiles, and may profile once the other stopped', async () => {
    const { json } = await runFixture<TwoCopies>('native-heap-second-copy.js');
    expect(json.error).toBeUndefined();
    expect(json.bBefore).toBe(true);
    expect(json.aWhileA).toBe(true);
    expect(json.bWhileA).toMatch(heldBy('another copy of sockprobe', json.pathA));
    expect(json.bStartWhileA).toEqual({ code: 'ERR_UNSUPPORTED', message: `native heap profiling is not available: ${json.bWhileA}` });
    expect(json.bAfterA).toBe(true);
    expect(json.bStartAfterA).toBeNull();
    expect(json.bProfileSites).toBeGreaterThan(0);
    expect(json.aWhileB).toMatch(heldBy('another copy of sockprobe', json.pathB));
    expect(json.aStartWhileB).toEqual({ code: 'ERR_UNSUPPORTED', message: `native heap profiling is not available: ${json.aWhileB}` });
    expect(json.aAfterB).toBe(true);
  });

  it("another tool that rewrote the executable's malloc slot is named as a tool, not as sockprobe", async () => {
    const { json } = await runFixture<{ reason: true | string; startError: Failure | null }>('native-heap-second-copy.js', {
      args: ['tool'],
      preloadPath: tool,
    });
    expect(json.reason).toMatch(heldBy('another tool', tool));
    expect(json.startError).toEqual({ code: 'ERR_UNSUPPORTED', message: `native heap profiling is not available: ${json.reason}` });
  });
});
