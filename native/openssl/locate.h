// Finds OpenSSL's private allocator state in this process: the three function pointers
// (`malloc_impl`, `realloc_impl`, `free_impl` in crypto/mem.c) every OPENSSL_malloc/realloc/
// free goes through. Found by name, never by decoding code: compilers lay the code out
// differently on every Node line (gcc with or without a frame-pointer prologue, clang).
#pragma once
#include <cstddef>
#include <string>

namespace sockprobe {

using CryptoMallocFn = void* (*)(size_t num, const char* file, int line);
using CryptoReallocFn = void* (*)(void* address, size_t num, const char* file, int line);
using CryptoFreeFn = void (*)(void* address, const char* file, int line);
using CryptoGetMemFn = void (*)(CryptoMallocFn*, CryptoReallocFn*, CryptoFreeFn*);

struct OpensslMemSite {
  CryptoMallocFn* malloc_impl = nullptr;
  CryptoReallocFn* realloc_impl = nullptr;
  CryptoFreeFn* free_impl = nullptr;
  // OpenSSL's defaults: each impl pointer starts out pointing at its own CRYPTO_ function,
  // which then calls the C library.
  CryptoMallocFn crypto_malloc = nullptr;
  CryptoReallocFn crypto_realloc = nullptr;
  CryptoFreeFn crypto_free = nullptr;
  CryptoGetMemFn get_mem_functions = nullptr;
  std::string object;   // file the OpenSSL code was loaded from
  std::string version;  // OpenSSL_version(OPENSSL_VERSION)
};

// Locates and cross-checks everything; any disagreement is a refusal with its reason.
// Two independent sources must agree on each address before it is accepted:
//   1. the object's .symtab names it `malloc_impl` (etc.), a local 8-byte data object of
//      crypto/mem.c, in writable data of the object that defines OpenSSL's CRYPTO_ functions;
//   2. what is stored there is exactly what the public CRYPTO_get_mem_functions returns.
// Costs one scan of the object's .symtab (milliseconds for Node): callers cache the result.
bool LocateOpensslMemSite(OpensslMemSite* site, std::string* why);

}  // namespace sockprobe
