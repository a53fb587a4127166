import type { NativeHeapCategory, NativeHeapFrame } from './profile';

export const CATEGORIES: readonly NativeHeapCategory[] = ['openssl', 'v8', 'node', 'node:tls-buffers', 'node:buffers', 'libuv', 'zlib', 'addons', 'other'];

// OpenSSL's public prefixes and the internal ones its static and hidden functions use
// (libssl's state machine, libcrypto's providers, encoders and ASN.1 templates).
const OPENSSL =
  /^(CRYPTO_|OPENSSL_|SSL_|SSL3_|ssl_|ssl3_|tls_|tls1_|tls13_|dtls1_|DTLS|statem_|EVP_|evp_|OSSL_|ossl_|BN_|bn_|EC_|ec_|ecx_|ecp_|ECDSA_|ecdsa_|ECDH_|ecdh_|RSA_|rsa_|DH_|dh_|DSA_|dsa_|X509|x509|ASN1_|asn1_|d2i_|i2d_|BIO_|bio_|PEM_|pem_|HMAC|hmac_|OBJ_|obj_|ERR_|err_|RAND_|rand_|drbg_|PKCS|pkcs|CONF_|conf_|NCONF_|ENGINE_|engine_|sk_|lh_|CTLOG_|SCT_|OCSP_|ocsp_|UI_|KDF_|kdf_|PROV_|prov_|ENCODER_|DECODER_|encoder_|decoder_|CMS_|cms_|AES_|aes_|SHA\d|MD5_|CMAC_|cmac_|gcm_|ccm_|chacha20_|poly1305_|ml_kem_|ml_dsa_|slh_dsa_|quic_)/;
// zlib's own functions, and Brotli's and zstd's (Node's zlib module serves all three).
const ZLIB = /^(deflate|inflate|zlib_|Cr_z_|adler32|crc32|_tr_|zcalloc|zcfree|fill_window|longest_match|build_tree|compress_block|Brotli|ZSTD_)/;
// Node's compression streams: zlib's zalloc callback (AllocForZlib, innermost under deflateInit2_
// or inflate), Brotli's and zstd's, and the stream objects themselves. Their memory is the stream's
// whoever called zlib.
const NODE_COMPRESSION =
  /^node::(\(anonymous namespace\)::)?(CompressionStream\w*|ZlibContext|ZlibStream|Brotli\w*(Context|Stream)|Zstd\w*(Context|Stream))\b|::AllocFor(Zlib|Brotli|Zstd)\(/;
// The TLS socket's own buffers: NodeBIO grows them for what OpenSSL writes and the socket reads.
const NODE_TLS_BUFFERS = /^node::crypto::NodeBIO::/;
// ArrayBuffer backing stores (Buffers, typed arrays): Node's ArrayBuffer::Allocator, and V8's
// frames that allocate a backing store through it.
const NODE_BUFFERS =
  /^node::(\w+::)*\w*ArrayBufferAllocator::|^v8::internal::BackingStore::|^v8::ArrayBuffer::NewBackingStore|^v8::internal::Heap::AllocateExternalBackingStore\b/;
const RUNTIME_MODULE =
  /(^|\/)(libc\.so|libc-|libstdc\+\+|ld-linux|ld-2\.|libm\.so|libgcc_s|libpthread|libdl\.so|libjemalloc|libtcmalloc|libmimalloc|libasan|vgpreload|linux-vdso)/;

/**
 * The category of one call site: who owns the memory, decided by the first frame, from the
 * innermost, whose symbol or module decides (docs/native-heap-categories.md). Node's allocator
 * callbacks decide for the library they allocate for, before any namespace does: AllocForZlib
 * (zlib's zalloc, innermost under deflateInit2_) → zlib; NodeBIO → node:tls-buffers, even under
 * OpenSSL's BIO_write; NodeArrayBufferAllocator and V8's backing-store frames → node:buffers.
 * Then OpenSSL symbols or libssl/libcrypto → openssl; `v8::` → v8; `node::` → node; `uv_` →
 * libuv; zlib's symbols → zlib; an object other than the executable, the C and C++ runtimes,
 * the dynamic linker and the allocator libraries → addons; else other. Frames that decide
 * nothing (operator new, std::, libc, JavaScript) are passed over.
 */
export function categorize(stack: readonly NativeHeapFrame[], executable?: string): NativeHeapCategory {
  for (const frame of stack) {
    const decided = frameCategory(frame, executable);
    if (decided) return decided;
  }
  return 'other';
}

/** What one frame decides for its site's category; undefined where it decides nothing. */
export function frameCategory(frame: NativeHeapFrame, executable: string | undefined): NativeHeapCategory | undefined {
  const { name, module } = frame;
  if (module && /(^|\/)lib(ssl|crypto)\.so/.test(module)) return 'openssl';
  if (name) {
    if (NODE_COMPRESSION.test(name)) return 'zlib';
    if (NODE_TLS_BUFFERS.test(name)) return 'node:tls-buffers';
    if (NODE_BUFFERS.test(name)) return 'node:buffers';
    if (OPENSSL.test(name)) return 'openssl';
    if (name.startsWith('v8::') || name.startsWith('Builtins_') || name.startsWith('cppgc::') || name.startsWith('heap::base::')) return 'v8';
    if (name.startsWith('node::')) return 'node';
    if (name.startsWith('uv_') || name.startsWith('uv__')) return 'libuv';
    if (ZLIB.test(name)) return 'zlib';
  }
  if (module && module !== executable && !RUNTIME_MODULE.test(module) && frame.kind === 'native') return 'addons';
  return undefined;
}
