import type { NativeHeapRawFrame, NativeHeapRawProfile } from '../binding/heap';
import type { NativeHeapFrame } from './profile';

/** The raw frame table as NativeHeapFrames (one object per distinct address, shared by sites). */
export function framesOf(raw: NativeHeapRawProfile): NativeHeapFrame[] {
  return raw.frames.map(toFrame);
}

function toFrame(frame: NativeHeapRawFrame): NativeHeapFrame {
  const result: NativeHeapFrame = { name: frame.name, module: frame.module, address: frame.address, kind: frame.kind };
  if (frame.offset !== undefined) result.offset = frame.offset;
  return result;
}

/** One line for a frame: `name (module+0xoffset)`, `[JavaScript] 0x…`, or the bare address. */
export function describeFrame(frame: NativeHeapFrame): string {
  if (frame.kind === 'javascript') return `[JavaScript] ${frame.address}`;
  const where = frame.module ? `${baseName(frame.module)}+0x${(frame.offset ?? 0).toString(16)}` : frame.address;
  return frame.name ? `${frame.name} (${where})` : where;
}

function baseName(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? path : path.slice(slash + 1);
}
