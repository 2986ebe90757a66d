{
  "targets": [
    {
      "target_name": "rtprobe_native",
      "sources": [
        "src/addon.cc",
        "src/clocks.cc",
        "src/device_model.cc",
        "src/event_batch_pool.cc",
        "src/probe_auth.cc",
        "src/probe_guard.cc",
        "src/probe_socket.cc",
        "src/rt_thread.cc",
        "src/timer_latency.cc"
      ],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS!='linux'", {"type": "none", "sources": []}]
      ]
    }
  ]
}
