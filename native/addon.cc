// Registration only: each concern adds its functions to the exports object.
#include <napi.h>

namespace sockprobe {
void InitMalloc(Napi::Env env, Napi::Object exports);
void InitNet(Napi::Env env, Napi::Object exports);
void InitOpenssl(Napi::Env env, Napi::Object exports);
void InitV8(Napi::Env env, Napi::Object exports);
void InitHeap(Napi::Env env, Napi::Object exports);
}  // namespace sockprobe

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
#ifdef __linux__
  sockprobe::InitMalloc(env, exports);
  sockprobe::InitNet(env, exports);
  sockprobe::InitOpenssl(env, exports);
  sockprobe::InitV8(env, exports);
  sockprobe::InitHeap(env, exports);
#endif
  exports.Set("platform", Napi::String::New(env,
#ifdef __linux__
                                            "linux"
#else
                                            "other"
#endif
                                            ));
  return exports;
}

NODE_API_MODULE(sockprobe, Init)
