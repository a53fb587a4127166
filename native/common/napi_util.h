// Small helpers shared by every native concern: coded errors and number conversion.
// Every exported function returns after throwing a JS exception; nothing here throws C++.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

namespace sockprobe {

// Throws a JS Error (or TypeError) carrying `code`, and `errno`/`syscall` when a syscall failed.
inline Napi::Value ThrowCoded(Napi::Env env, const char* code, const std::string& message, int err = 0,
                              const char* syscall = nullptr, bool type_error = false) {
  Napi::Error error = type_error ? Napi::TypeError::New(env, message) : Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  if (err != 0) error.Set("errno", Napi::Number::New(env, err));
  if (syscall != nullptr) error.Set("syscall", Napi::String::New(env, syscall));
  error.ThrowAsJavaScriptException();
  return env.Undefined();
}

// Byte counts fit a double exactly below 2^53 (8 PiB); larger values are not real sizes here.
inline Napi::Value SizeValue(Napi::Env env, uint64_t value) {
  return Napi::Number::New(env, static_cast<double>(value));
}

inline bool IsString(const Napi::CallbackInfo& info, size_t i) { return info.Length() > i && info[i].IsString(); }

}  // namespace sockprobe
