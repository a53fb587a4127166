/** The OpenSSL tracking concern of the addon (native/openssl/). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface OpensslBinding {}
