/** Reads the recordings under test/unit/recorded (taken by scripts/capture-unit-recordings.mjs). */
import * as fs from 'node:fs';
import * as path from 'node:path';

const dir = path.join(__dirname, '..', 'unit', 'recorded');

export const recordedText = (name: string): string => fs.readFileSync(path.join(dir, name), 'latin1');

/** The recording's bytes in an ArrayBuffer of their own (as the addon hands them over). */
export function recordedBytes(name: string): ArrayBuffer {
  const file = fs.readFileSync(path.join(dir, name));
  return file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer;
}

/** What an independent source said when the recording was taken, and that source's name. */
export function recordedMeta<T = Record<string, unknown>>(name: string): T & { node: string; capturedAt: string; source: string } {
  return JSON.parse(fs.readFileSync(path.join(dir, `${name}.meta.json`), 'utf8'));
}

/** The number after `label` in `text`; fails the test when the text has no such line. */
export function numberAfter(text: string, label: RegExp): number {
  const match = new RegExp(`${label.source}\\s*(\\d+)`, label.flags).exec(text);
  if (!match) throw new Error(`no ${label} in the recorded text`);
  return Number(match[1]);
}
