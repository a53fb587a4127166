/** Just enough DER (ITU-T X.690) to write one X.509 certificate: definite lengths, no parsing. */

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let rest = n; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV: tag byte, length, contents. */
export function tlv(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

export const sequence = (...items: Buffer[]) => tlv(0x30, ...items);
export const set = (...items: Buffer[]) => tlv(0x31, ...items);
export const nullValue = () => tlv(0x05);
export const utf8 = (text: string) => tlv(0x0c, Buffer.from(text, 'utf8'));
export const octets = (bytes: Buffer) => tlv(0x04, bytes);
/** A BIT STRING of whole bytes (no unused bits). */
export const bits = (bytes: Buffer) => tlv(0x03, Buffer.from([0]), bytes);
/** [n] EXPLICIT: a constructed context tag around the value. */
export const explicit = (n: number, value: Buffer) => tlv(0xa0 | n, value);
/** [n] IMPLICIT on a primitive value: the context tag replaces the value's own. */
export const implicit = (n: number, bytes: Buffer) => tlv(0x80 | n, bytes);

/** An INTEGER from unsigned big-endian bytes (a leading zero keeps it positive). */
export function unsigned(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  return tlv(0x02, trimmed[0] & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

export function oid(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * first + second];
  for (const arc of rest) {
    const groups: number[] = [arc & 0x7f];
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128)) groups.unshift(0x80 | (value & 0x7f));
    bytes.push(...groups);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** UTCTime (years 1950–2049), as X.509 requires for those years. */
export function utcTime(date: Date): Buffer {
  const two = (n: number) => String(n).padStart(2, '0');
  const day = `${two(date.getUTCFullYear() % 100)}${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}`;
  const text = `${day}${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(text, 'ascii'));
}
