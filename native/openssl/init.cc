// OpenSSL allocation tracking registers here.
#include <napi.h>

namespace sockprobe {
void InitOpenssl(Napi::Env env, Napi::Object exports) {}
}  // namespace sockprobe
