import type { NativeHeapRawFrame, NativeHeapRawProfile } from '../binding/heap';
import type { NativeHeapFrame } from './profile';
import { SockprobeTypeError } from '../errors';

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
  checkFrame(frame, 'frame');
  if (frame.kind === 'javascript') return `[JavaScript] ${frame.address}`;
  const where = frame.module ? `${baseName(frame.module)}+0x${(frame.offset ?? 0).toString(16)}` : frame.address;
  return frame.name ? `${frame.name} (${where})` : where;
}

function baseName(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? path : path.slice(slash + 1);
}

/** A frame as the profile gives them: an object with a string address (name, module nullable). */
export function checkFrame(frame: unknown, name: string): asserts frame is NativeHeapFrame {
  if (frame === null || typeof frame !== 'object') throw new SockprobeTypeError(name, 'a frame object', frame);
  const { address, name: symbol, module } = frame as Record<string, unknown>;
  if (typeof address !== 'string') throw new SockprobeTypeError(`${name}.address`, 'a string', address);
  if (symbol !== null && symbol !== undefined && typeof symbol !== 'string') throw new SockprobeTypeError(`${name}.name`, 'a string or null', symbol);
  if (module !== null && module !== undefined && typeof module !== 'string') throw new SockprobeTypeError(`${name}.module`, 'a string or null', module);
}
