// Small helpers shared by every native concern: coded errors and number conversion.
// Every exported function returns after throwing a JS exception; nothing here throws C++.
#pragma once
#include <napi.h>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace sockprobe {

// Throws a JS Error (or TypeError) carrying `code`, and `errno`/`syscall` when a syscall failed.
inline Napi::Value ThrowCoded(Napi::Env env, const char* code, const std::string& message,
                              int err = 0, const char* syscall = nullptr, bool type_error = false) {
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

// A typed array holding a copy of `values` (its own ArrayBuffer: nothing refers back to C++
// memory). Empty, with a JS exception pending, where V8 refused the allocation.
template <typename T>
Napi::Value TypedArrayCopy(Napi::Env env, const std::vector<T>& values) {
  Napi::TypedArrayOf<T> array = Napi::TypedArrayOf<T>::New(env, values.size());
  if (array.IsEmpty()) return Napi::Value();
  if (!values.empty()) std::memcpy(array.Data(), values.data(), values.size() * sizeof(T));
  return array;
}

inline bool IsString(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && info[i].IsString();
}

}  // namespace sockprobe
