import { describe, expect, it } from 'vitest';
import { holderSites } from '../../src/probe/holders/match';
import { jsFunctionNote, PERF_MAP_ADVICE } from '../../src/probe/holders/js-function';
import { frame, jsFrame, makeProfile, site } from '../helpers/native-heap';

const backingStore = [frame('malloc', 0x100, 'libc'), frame('node::NodeArrayBufferAllocator::Allocate(unsigned long)', 0x2000)];
const unnamed = { ...jsFrame('x', 0x3a00_0000_2000), name: null };

describe('the JS function behind retained Buffers', () => {
  it("is the innermost named JS frame outside Node's own modules", () => {
    const stack = [
      ...backingStore,
      jsFrame('FastBuffer (node:internal/buffer:960:14)', 0x3a00_0000_1000),
      jsFrame('retainBuffers (/srv/app.js:12:3)', 0x3a00_0000_1100),
      jsFrame('(anonymous) (/srv/app.js:1:1)', 0x3a00_0000_1200),
    ];
    const [top] = holderSites(makeProfile([site(stack, 4e6, 40)]), 'js-buffers');
    expect(top.jsFunction).toBe('retainBuffers (/srv/app.js:12:3)');
    expect(jsFunctionNote([top])).toEqual({
      summary: ' The largest site was allocated in retainBuffers (/srv/app.js:12).',
      advice: expect.stringMatching(/^the largest site's Buffers were allocated in retainBuffers \(\/srv\/app\.js:12\): in a heap snapshot/),
    });
  });

  it("falls back to Node's own function where no other is named, and says how to get names where none is", () => {
    const internal = holderSites(
      makeProfile([site([...backingStore, jsFrame('onStreamRead (node:internal/stream_base_commons:166:1)', 0x3a00_0000_1000), unnamed], 4e6, 40)]),
      'js-buffers',
    );
    expect(internal[0].jsFunction).toBe('onStreamRead (node:internal/stream_base_commons:166:1)');
    const none = holderSites(makeProfile([site([...backingStore, unnamed], 4e6, 40)]), 'js-buffers');
    expect(none[0].jsFunction).toBeNull();
    expect(jsFunctionNote(none)).toEqual({ summary: '', advice: PERF_MAP_ADVICE });
    expect(PERF_MAP_ADVICE).toMatch(/--perf-basic-prof-only-functions --interpreted-frames-native-stack.*Staging only/);
  });

  it('adds nothing where the stack has no JavaScript frame', () => {
    const sites = holderSites(makeProfile([site(backingStore, 4e6, 40)]), 'js-buffers');
    expect(sites[0].jsFunction).toBeUndefined();
    expect(jsFunctionNote(sites)).toBeNull();
    expect(jsFunctionNote([])).toBeNull();
  });
});
