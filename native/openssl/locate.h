// Finds OpenSSL's private allocator state in this process: the three function pointers
// every OPENSSL_malloc/realloc/free goes through and the `allow_customize` flag that makes
// CRYPTO_set_mem_functions refuse once anything was allocated.
#pragma once
#include <cstddef>
#include <string>

namespace sockprobe {

using CryptoMallocFn = void* (*)(size_t num, const char* file, int line);
using CryptoReallocFn = void* (*)(void* address, size_t num, const char* file, int line);
using CryptoFreeFn = void (*)(void* address, const char* file, int line);
using CryptoSetMemFn = int (*)(CryptoMallocFn, CryptoReallocFn, CryptoFreeFn);
using CryptoGetMemFn = void (*)(CryptoMallocFn*, CryptoReallocFn*, CryptoFreeFn*);

struct OpensslMemSite {
  int* allow_customize = nullptr;
  CryptoMallocFn* malloc_impl = nullptr;
  CryptoReallocFn* realloc_impl = nullptr;
  CryptoFreeFn* free_impl = nullptr;
  // OpenSSL's defaults: each impl pointer starts out pointing at its own CRYPTO_ function,
  // which then calls the C library.
  CryptoMallocFn crypto_malloc = nullptr;
  CryptoReallocFn crypto_realloc = nullptr;
  CryptoFreeFn crypto_free = nullptr;
  CryptoSetMemFn set_mem_functions = nullptr;
  CryptoGetMemFn get_mem_functions = nullptr;
  std::string object;   // file the OpenSSL code was loaded from
  std::string version;  // OpenSSL_version(OPENSSL_VERSION)
};

// Locates and cross-checks everything; any disagreement is a refusal with its reason.
// Costs one scan of the object's .symtab (milliseconds for Node): callers cache the result.
bool LocateOpensslMemSite(OpensslMemSite* site, std::string* why);

}  // namespace sockprobe
