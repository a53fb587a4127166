import { describe, expect, it } from 'vitest';
import { ipv4Text, ipv6Text } from '../../src/net/address';

// Node's WHATWG URL parser serialises IPv6 hosts in RFC 5952 form: an independent reference.
const urlForm = (bytes: number[]) => {
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] << 8) | bytes[2 * i + 1]).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
};
const at = (bytes: number[], offset = 0) => Uint8Array.from([...Array(offset).fill(0xee), ...bytes]);

describe('address text of snapshot rows', () => {
  it('writes IPv4 dotted-quad from network byte order, at any offset', () => {
    expect(ipv4Text(at([127, 0, 0, 1], 5), 5)).toBe('127.0.0.1');
    expect(ipv4Text(at([10, 200, 3, 255]), 0)).toBe('10.200.3.255');
  });

  it('writes IPv6 as WHATWG URL serialises it (RFC 5952), over many shapes', () => {
    const shapes: number[][] = [
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], // ::1
      new Array(16).fill(0), // ::
      [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1], // two zero runs: the first longest wins
      [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0], // the longer run is later
      [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1], // a single zero group is not compressed
      [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x42, 0xac, 0xff, 0xfe, 0x11, 0, 2],
    ];
    for (let seed = 1; seed < 200; seed++) {
      // Deterministic shapes with zero groups in varied places.
      shapes.push(Array.from({ length: 16 }, (_, i) => ((seed * 7 + i * 13) % 5 === 0 || (seed >> (i >> 1)) % 3 === 0 ? 0 : (seed * 31 + i * 17) % 256)));
    }
    for (const bytes of shapes) expect(ipv6Text(at(bytes, 3), 3)).toBe(urlForm(bytes));
  });

  it('writes IPv4-mapped addresses as ::ffff:a.b.c.d (what ss prints for dual-stack clients)', () => {
    expect(ipv6Text(at([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]), 0)).toBe('::ffff:127.0.0.1');
  });
});
