// A shared object scripts/native-tests.mjs builds for the ELF and GOT tests: data and function
// symbols, local and global, and calls to allocator functions through a jump slot, a GOT
// entry (an address taken in code) and a data pointer (an address in initialised data).
#include <cstdlib>
#include <new>

static int fixture_counter = 0;

__attribute__((noinline, used)) static int FixtureLocalFunction(int x) { return x + fixture_counter++; }

extern "C" {
void* (*fixture_allocator)(size_t) = malloc;
int fixture_value = 42;

void* fixture_allocate(size_t n) { return malloc(n); }
void fixture_release(void* p) { free(p); }
void* fixture_zeroed(size_t n) { return calloc(n, 1); }
void* fixture_new() { return new int(FixtureLocalFunction(fixture_value)); }
void fixture_delete(void* p) { delete static_cast<int*>(p); }
void* fixture_free_address() { return reinterpret_cast<void*>(&free); }
}
