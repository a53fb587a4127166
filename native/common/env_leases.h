// The references to a process-wide session (native heap profiling, OpenSSL tracking) that
// one JS realm holds: the main thread's, or a worker's, each with its own copy of the
// addon's exports. A realm releases only what it holds; a realm that ends while holding
// references (a worker terminated mid-session) gives them back at its teardown, so that a
// session never outlives every user of it, and never ends under another realm's feet.
#pragma once
#include <napi.h>

#include <cstdint>
#include <map>

namespace sockprobe {

class EnvLeases {
 public:
  using ReleaseFn = void (*)(uint64_t session);

  // One book per realm, freed at that realm's teardown after releasing what it still holds.
  static EnvLeases* Attach(Napi::Env env, ReleaseFn release) {
    auto* leases = new EnvLeases(release);
    napi_add_env_cleanup_hook(
        env,
        [](void* arg) {
          auto* book = static_cast<EnvLeases*>(arg);
          book->ReleaseAll();
          delete book;
        },
        leases);
    return leases;
  }

  void Add(uint64_t session) { ++held_[session]; }

  // false where this realm holds no reference to `session` (then nothing is released).
  bool Release(uint64_t session) {
    auto it = held_.find(session);
    if (it == held_.end()) return false;
    if (--it->second == 0) held_.erase(it);
    release_(session);
    return true;
  }

 private:
  explicit EnvLeases(ReleaseFn release) : release_(release) {}

  void ReleaseAll() {
    for (const auto& [session, count] : held_) {
      for (uint32_t i = 0; i < count; ++i) release_(session);
    }
    held_.clear();
  }

  ReleaseFn release_;
  std::map<uint64_t, uint32_t> held_;
};

}  // namespace sockprobe
