/** OpenSSL allocation tracking. */
export function opensslCapabilities(): Record<string, true | string> {
  return {};
}
