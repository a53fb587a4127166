import { describe, expect, it } from 'vitest';
import { parseProcStatus } from '../../src/memory/proc';
import { recordedMeta, recordedText } from '../helpers/recorded';

const text = recordedText('proc-status.txt');
const meta = recordedMeta<{ pageSize: number; statm: { sizePages: number; residentPages: number; sharedPages: number } }>('proc-status');
/** A `Name:\t  123 kB` line read by splitting on whitespace, not by the parser's regex. */
const kBLine = (name: string) =>
  Number(
    text
      .split('\n')
      .find((line) => line.startsWith(`${name}:`))!
      .split(/\s+/)[1],
  ) * 1024;

describe('parseProcStatus on a recorded /proc/self/status of node', () => {
  const status = parseProcStatus(text);

  it('reads VmRSS as /proc/self/statm counted it at the same moment', () => {
    expect(status.rssBytes).toBe(meta.statm.residentPages * meta.pageSize);
    expect(status.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
  });

  it("reads RssFile and RssShmem, which sum to statm's shared pages", () => {
    expect(status.rssFileBytes + status.rssShmemBytes).toBe(meta.statm.sharedPages * meta.pageSize);
  });

  it('reads RssAnon, VmHWM and Threads as the text has them, and the RSS parts sum to VmRSS', () => {
    expect(status.rssAnonBytes).toBe(kBLine('RssAnon'));
    expect(status.peakRssBytes).toBe(kBLine('VmHWM'));
    expect(status.threads).toBe(Number(/Threads:\t(\d+)/.exec(text)![1]));
    expect(status.rssAnonBytes + status.rssFileBytes + status.rssShmemBytes).toBe(status.rssBytes);
  });

  it('gives NaN, not zero, for a field the text lacks', () => {
    const withoutAnon = parseProcStatus(text.replace(/^RssAnon:.*\n/m, ''));
    expect(withoutAnon.rssAnonBytes).toBeNaN();
    expect(withoutAnon.rssBytes).toBe(status.rssBytes);
    expect(parseProcStatus('').threads).toBeNaN();
  });

  it('does not take VmRSS from a field whose name merely ends the same way', () => {
    const shuffled = `XVmRSS:\t1 kB\n${text}`;
    expect(parseProcStatus(shuffled).rssBytes).toBe(status.rssBytes);
  });
});
