/**
 * PLACEHOLDER from heap-tools until heap-core's branch lands: the contract's rule for a site's
 * category (briefs/heap-contract.md). On merge, heap-core's file replaces this one whole.
 */
import type { NativeHeapCategory, NativeHeapFrame } from './profile';

export const NATIVE_HEAP_CATEGORIES: NativeHeapCategory[] = ['openssl', 'v8', 'node', 'libuv', 'zlib', 'addons', 'other'];

const OPENSSL = /^(CRYPTO_|SSL_|EVP_|OSSL_|ossl_|BN_|ASN1_|X509|RSA_|EC_|OPENSSL_|BIO_|tls_|ssl3_|dtls|PEM_|ERR_)/;
const ZLIB = /^(deflate|inflate|zlib_|Cr_z_)/;
const SYSTEM = /(^|\/)(libc\.so|libstdc\+\+\.so|ld-linux|libjemalloc|libtcmalloc|libmimalloc|libm\.so|libpthread)/;

export function categorize(stack: NativeHeapFrame[]): NativeHeapCategory {
  const executable = process.execPath;
  for (const frame of stack) {
    const name = frame.name ?? '';
    const module = frame.module ?? '';
    if (OPENSSL.test(name) || /libssl|libcrypto/.test(module)) return 'openssl';
    if (name.startsWith('v8::')) return 'v8';
    if (name.startsWith('node::')) return 'node';
    if (name.startsWith('uv_')) return 'libuv';
    if (ZLIB.test(name)) return 'zlib';
    if (module && module !== executable && !SYSTEM.test(module) && frame.kind === 'native') return 'addons';
  }
  return 'other';
}
