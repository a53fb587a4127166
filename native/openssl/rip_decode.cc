#include "openssl/rip_decode.h"

#include <cstring>

namespace sockprobe {

uintptr_t FirstRipRelativeLoad(const void* code) {
  const auto* p = static_cast<const uint8_t*>(code);
  static const uint8_t kEndbr64[] = {0xf3, 0x0f, 0x1e, 0xfa};
  if (memcmp(p, kEndbr64, sizeof kEndbr64) == 0) p += sizeof kEndbr64;
  if ((p[0] & 0xf0) == 0x40) ++p;  // REX prefix (operand size or extended register)
  const uint8_t opcode = p[0];
  const uint8_t modrm = p[1];
  // mod = 00 and r/m = 101 is the RIP-relative form in 64-bit mode.
  if ((modrm & 0xc7) != 0x05) return 0;
  int32_t disp = 0;
  memcpy(&disp, p + 2, sizeof disp);
  size_t length = 0;
  if (opcode == 0x8b) length = 6;                                // mov r, [rip+disp32]
  else if (opcode == 0x83 && (modrm & 0x38) == 0x38) length = 7;  // cmp [rip+disp32], imm8
  else return 0;
  return reinterpret_cast<uintptr_t>(p + length) + static_cast<intptr_t>(disp);
}

}  // namespace sockprobe
