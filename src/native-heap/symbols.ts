import type { NativeHeapFrame } from './profile';

/** One line for a frame: `name (module+0xoffset)`, `[JavaScript] 0x…` (with its name where V8's perf map gave one), or the bare address. */
export function describeFrame(frame: NativeHeapFrame): string {
  if (frame.kind === 'javascript') return frame.name ? `[JavaScript] ${frame.name} ${frame.address}` : `[JavaScript] ${frame.address}`;
  const where = frame.module ? `${baseName(frame.module)}+0x${(frame.offset ?? 0).toString(16)}` : frame.address;
  return frame.name ? `${frame.name} (${where})` : where;
}

function baseName(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? path : path.slice(slash + 1);
}
