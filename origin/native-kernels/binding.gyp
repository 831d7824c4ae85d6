# node-gyp build of the native matmul kernels (plain C N-API from Node's own headers, so the addon
# needs no npm dependency and one binary works on every Node >= 20 with N-API 8).
{
  "targets": [
    {
      "target_name": "motif_kernels",
      "sources": [
        "src/addon.cc",
        "src/addon-attention.cc",
        "src/attention.cc",
        "src/addon-hash.cc",
        "src/addon-norms.cc",
        "src/addon-q8.cc",
        "src/bandwidth.cc",
        "src/cpu.cc",
        "src/matmul.cc",
        "src/matmul-amx.cc",
        "src/matmul-avx2.cc",
        "src/matmul-gemm-avx2.cc",
        "src/matmul-gemm-avx512.cc",
        "src/matmul-q8.cc",
        "src/matmul-q8x16.cc",
        "src/matmul-scalar.cc",
        "src/norms.cc",
        "src/sha256.cc",
        "src/thread-pool.cc"
      ],
      "defines": ["NAPI_VERSION=8"],
      # Baseline ISA only: the AVX2/FMA/F16C code carries target attributes and is chosen at run time,
      # so the same binary runs on any x86-64; other architectures get the portable path.
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-Wall", "-Wextra"],
      "cflags_cc!": ["-std=gnu++17", "-std=gnu++20", "-std=c++20", "-O2"],
      "ldflags": ["-pthread"],
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_CPLUSPLUSFLAGS": ["-O3", "-fno-math-errno"]
      },
      "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/std:c++17", "/O2"] } }
    }
  ]
}
