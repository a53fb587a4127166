// Decodes the first memory load of a compiled function, to cross-check addresses read from
// a symbol table against the code that really uses them.
#pragma once
#include <cstdint>

namespace sockprobe {

// When the function at `code` starts (after an optional endbr64) with a RIP-relative
// load or compare — `mov reg, [rip+disp32]` or `cmp dword [rip+disp32], imm8` — returns
// the address it reads; otherwise 0.
uintptr_t FirstRipRelativeLoad(const void* code);

}  // namespace sockprobe
