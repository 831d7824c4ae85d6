// N-API glue for the Q8_0 weight conversions, kept apart from the matmul glue in addon.cc.
//
// JS API:
//   quantizeQ8(w, wtype, rows, cols, out, maxThreads): boolean   F32/BF16/F16 → Q8_0 blocks
//   packQ8x16(q8, rows, cols, out, maxThreads): undefined        Q8_0 → Q8_0x16 (matmul-q8x16.cc)
// Both run on the calling thread with the pool; every size is checked before a pointer is touched.
#include <node_api.h>

#include <cstdint>
#include <string>

#include "addon-args.h"
#include "matmul.h"

namespace motif {

// quantizeQ8(w, wtype, rows, cols, out, maxThreads): boolean. W (F32/BF16/F16) → Q8_0 blocks in
// out; false when a weight is NaN or too large for an f16 block scale.
napi_value js_quantize_q8(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  if (argc < 6) return throw_type(env, "quantizeQ8(w, wtype, rows, cols, out, maxThreads) needs 6 arguments"), nullptr;
  int64_t wtype, rows, cols, threads;
  View w, out;
  if (!get_int(env, argv[1], "wtype", 0, 2, &wtype) || !get_int(env, argv[2], "rows", 0, kMaxDim, &rows) ||
      !get_int(env, argv[3], "cols", 0, kMaxDim, &cols) || !get_int(env, argv[5], "maxThreads", 0, 1 << 16, &threads) ||
      !get_view(env, argv[0], wtype == 0 ? napi_float32_array : napi_uint16_array, "w", wtype == 0 ? "Float32Array" : "Uint16Array", &w) ||
      !get_view(env, argv[4], napi_uint8_array, "out", "Uint8Array", &out))
    return nullptr;
  if (cols % kQ8Block != 0) return throw_range(env, "cols must be a multiple of 32 for Q8_0, got " + std::to_string(cols)), nullptr;
  const size_t nw = rows * cols, nout = rows * (cols / kQ8Block) * kQ8BlockBytes;
  if (w.length < nw || out.length < nout || overlaps(w, nw, out, nout))
    return throw_range(env, "quantizeQ8: w needs rows*cols weights and out rows*cols/32*34 bytes, apart"), nullptr;
  const bool ok = quantize_weights_q8(w.data, static_cast<WeightType>(wtype), rows, cols, static_cast<uint8_t*>(out.data), static_cast<int>(threads));
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

// packQ8x16(q8, rows, cols, out, maxThreads): undefined. Q8_0 blocks (rows a multiple of 16) →
// the same blocks regrouped per 16 rows (matmul.h, Q8_0x16), into out (the same size, apart).
napi_value js_pack_q8x16(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!get_args(env, info, 5, argv, "packQ8x16(q8, rows, cols, out, maxThreads)")) return nullptr;
  int64_t rows, cols, threads;
  View q8, out;
  if (!get_view(env, argv[0], napi_uint8_array, "q8", "Uint8Array", &q8) || !get_int(env, argv[1], "rows", 0, kMaxDim, &rows) ||
      !get_int(env, argv[2], "cols", 0, kMaxDim, &cols) || !get_view(env, argv[3], napi_uint8_array, "out", "Uint8Array", &out) ||
      !get_int(env, argv[4], "maxThreads", 0, 1 << 16, &threads))
    return nullptr;
  if (cols % kQ8Block != 0 || rows % kQ8x16Rows != 0)
    return throw_range(env, "packQ8x16: rows must be a multiple of 16 and cols of 32, got " + std::to_string(rows) + "×" + std::to_string(cols)), nullptr;
  const size_t n = rows * (cols / kQ8Block) * kQ8BlockBytes;
  if (q8.length < n || out.length < n || overlaps(q8, n, out, n))
    return throw_range(env, "packQ8x16: q8 and out need rows*cols/32*34 bytes each, apart"), nullptr;
  pack_q8x16(static_cast<const uint8_t*>(q8.data), rows, cols, static_cast<uint8_t*>(out.data), static_cast<int>(threads));
  return nullptr;
}

}  // namespace motif
