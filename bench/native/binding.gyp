{
  "targets": [
    {
      "target_name": "heap_bench",
      "sources": ["heap_bench.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "../../native"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-fno-exceptions", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fno-omit-frame-pointer"],
      "ldflags": ["-Wl,-z,now", "-Wl,-z,nodelete"]
    }
  ]
}
