import { native } from '../native';
import { requireGlibc } from './glibc';

/** One glibc arena as malloc_info reports it. */
export interface ArenaInfo {
  index: number;
  /** Free bytes in bins (fastbins and regular bins), and how many chunks. */
  freeBytes: number;
  freeChunks: number;
  /** Free fastbin part of freeBytes. */
  fastFreeBytes: number;
  /** Bytes this arena obtained from the system now, and at most. */
  systemBytes: number;
  systemMaxBytes: number;
  /** Address space of the arena (heap) mappings. */
  addressSpaceBytes: number;
  /** systemBytes − freeBytes: the arena's bytes in use (top chunk counts as free). */
  inUseBytes: number;
}

export interface MallocInfo {
  arenas: ArenaInfo[];
  /** Totals as glibc writes them at the end of the XML. */
  total: {
    freeBytes: number;
    freeChunks: number;
    fastFreeBytes: number;
    mmapCount: number;
    mmapBytes: number;
    systemBytes: number;
    systemMaxBytes: number;
    addressSpaceBytes: number;
  };
  xml: string;
}

const attr = (tag: string, name: string): number => {
  const match = new RegExp(`${name}="(\\d+)"`).exec(tag);
  return match ? Number(match[1]) : 0;
};

function tagOf(block: string, element: string, type: string): string {
  return new RegExp(`<${element} type="${type}"[^>]*>`).exec(block)?.[0] ?? '';
}

/** Parses glibc's malloc_info XML (format version 1 and later); exported for recorded-text tests. */
export function parseMallocInfo(xml: string): MallocInfo {
  const arenas: ArenaInfo[] = [];
  const heapPattern = /<heap nr="(\d+)">([\s\S]*?)<\/heap>/g;
  let match: RegExpExecArray | null;
  while ((match = heapPattern.exec(xml)) !== null) {
    const block = match[2];
    // The per-arena <sizes> list also has <size> elements; only the summary lines matter here.
    const fast = tagOf(block, 'total', 'fast');
    const rest = tagOf(block, 'total', 'rest');
    const systemBytes = attr(tagOf(block, 'system', 'current'), 'size');
    const freeBytes = attr(fast, 'size') + attr(rest, 'size');
    arenas.push({
      index: Number(match[1]),
      freeBytes,
      freeChunks: attr(fast, 'count') + attr(rest, 'count'),
      fastFreeBytes: attr(fast, 'size'),
      systemBytes,
      systemMaxBytes: attr(tagOf(block, 'system', 'max'), 'size'),
      addressSpaceBytes: attr(tagOf(block, 'aspace', 'total'), 'size'),
      inUseBytes: Math.max(0, systemBytes - freeBytes),
    });
  }
  const tail = xml.slice(xml.lastIndexOf('</heap>') + 1);
  const fast = tagOf(tail, 'total', 'fast');
  const rest = tagOf(tail, 'total', 'rest');
  const mmap = tagOf(tail, 'total', 'mmap');
  return {
    arenas,
    total: {
      freeBytes: attr(fast, 'size') + attr(rest, 'size'),
      freeChunks: attr(fast, 'count') + attr(rest, 'count'),
      fastFreeBytes: attr(fast, 'size'),
      mmapCount: attr(mmap, 'count'),
      mmapBytes: attr(mmap, 'size'),
      systemBytes: attr(tagOf(tail, 'system', 'current'), 'size'),
      systemMaxBytes: attr(tagOf(tail, 'system', 'max'), 'size'),
      addressSpaceBytes: attr(tagOf(tail, 'aspace', 'total'), 'size'),
    },
    xml,
  };
}

/** glibc malloc_info(), parsed per arena. Throws ERR_NOT_GLIBC under another allocator. */
export function mallocInfo(): MallocInfo {
  requireGlibc('mallocInfo()');
  return parseMallocInfo(native().mallocInfoXml());
}
