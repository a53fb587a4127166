// Keeps the addon's code mapped for the life of the process once a hook points into it.
#pragma once

namespace sockprobe {

// Once per process, before the first hook is installed: marks this shared object
// RTLD_NODELETE, so no dlclose (Node 20 closes an addon when the last environment that
// loaded it, say a worker thread, exits) unmaps code that OpenSSL's memory-function pointers
// or patched GOT slots still call. The link already asks for it (-z nodelete in
// binding.gyp); this holds for a build that dropped that flag. Returns false if the loader
// refused, and the caller then installs no hook.
bool PinOwnCode() noexcept;

}  // namespace sockprobe
