// The `kind` argument of the malloc concern's N-API calls, checked in one place.
#pragma once
#include <napi.h>

#include <algorithm>
#include <initializer_list>
#include <iterator>
#include <string>

#include "common/napi_util.h"
#include "malloc/kind.h"

namespace sockprobe {

// Reads info[0] as one of `allowed` (e.g. "glibc, tcmalloc or mimalloc"); throws a coded
// TypeError naming them otherwise.
inline bool KindArgument(const Napi::CallbackInfo& info, std::initializer_list<AllocatorKind> allowed,
                         AllocatorKind* out) {
  std::string names;
  for (auto it = allowed.begin(); it != allowed.end(); ++it) {
    names += (it == allowed.begin() ? "" : std::next(it) == allowed.end() ? " or " : ", ");
    names += AllocatorName(*it);
  }
  if (!IsString(info, 0)) {
    ThrowCoded(info.Env(), "ERR_INVALID_ARG_TYPE", "Expected a string for kind", 0, nullptr, true);
    return false;
  }
  const std::string name = info[0].As<Napi::String>();
  if (!ParseAllocatorKind(name, out) || std::find(allowed.begin(), allowed.end(), *out) == allowed.end()) {
    ThrowCoded(info.Env(), "ERR_INVALID_ARG_VALUE", "Expected " + names + " for kind but received " + name, 0, nullptr,
               true);
    return false;
  }
  return true;
}

inline constexpr std::initializer_list<AllocatorKind> kEveryKind = {AllocatorKind::kGlibc, AllocatorKind::kJemalloc,
                                                                    AllocatorKind::kTcmalloc, AllocatorKind::kMimalloc};

}  // namespace sockprobe
