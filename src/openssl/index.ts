/** OpenSSL allocation tracking. */
import { opensslTrackingSupport } from './tracking';

export { openssl, type OpensslStats } from './tracking';

export function opensslCapabilities(): Record<string, true | string> {
  return { opensslTracking: opensslTrackingSupport() };
}
