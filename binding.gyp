{
  "targets": [
    {
      "target_name": "snnkit",
      "sources": [
        "native/src/addon.cc",
        "native/src/errors.cc",
        "native/src/tensor.cc",
        "native/src/allocator.cc",
        "native/src/args.cc",
        "native/src/ops/creation.cc",
        "native/src/ops/shape.cc",
        "native/src/ops/elementwise.cc",
        "native/src/ops/reduce.cc",
        "native/src/ops/nn.cc",
        "native/src/ops/pool.cc",
        "native/src/ops/optim.cc",
        "native/src/ops/autograd.cc",
        "native/src/ops/system.cc",
        "native/src/ops/neuron.cc",
        "native/src/ops/bn_neuron.cc",
        "native/src/ops/clipfloor.cc",
        "native/src/ops/spikeconv.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native/src",
        "<!@(node scripts/torch-config.mjs include)"
      ],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "_GLIBCXX_USE_CXX11_ABI=1", "<!@(node scripts/torch-config.mjs defines)"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++14", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O3", "-fopenmp", "-fno-trapping-math", "-fno-math-errno", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "ldflags": ["-fopenmp", "<!@(node scripts/torch-config.mjs ldflags)"],
      "libraries": ["<!@(node scripts/torch-config.mjs libs)"]
    }
  ]
}
