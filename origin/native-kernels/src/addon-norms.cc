// N-API glue for the row norms (norms.h), kept apart from the matmul glue in addon.cc.
//
// JS API:
//   rmsNormRows(dst, src, rows, width, gain, eps, maxThreads, maxSimd): undefined
//     dst, src (the same array, or apart), gain: Float32Array
//   polyNormGateFused(dst, gateUp, rows, width, weight, bias, eps, maxThreads, maxSimd): undefined
//     dst, gateUp (rows × 2·width), weight (3 floats: w₀ w₁ w₂): Float32Array; dst apart from gateUp
// Run on the calling thread with the pool, like attend. Every size is checked before a pointer
// is touched: a wrong shape is a JS RangeError.
#include <node_api.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "addon-args.h"
#include "norms.h"

namespace motif {
namespace {

bool get_double(napi_env env, napi_value v, const char* name, double* out) {
  napi_valuetype t;
  CHECK_NAPI(env, napi_typeof(env, v, &t));
  if (t != napi_number) return throw_type(env, std::string(name) + " must be a number");
  CHECK_NAPI(env, napi_get_value_double(env, v, out));
  if (!std::isfinite(*out)) return throw_range(env, std::string(name) + " must be finite");
  return true;
}

bool need(napi_env env, const View& v, const char* name, int64_t floats) {
  if (static_cast<int64_t>(v.length) >= floats) return true;
  return throw_range(env, std::string(name) + " holds " + std::to_string(v.length) + " floats, " + std::to_string(floats) + " needed");
}

}  // namespace

napi_value js_rms_norm_rows(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!get_args(env, info, 8, argv, "rmsNormRows(...)")) return nullptr;
  View dst, src, gain;
  int64_t rows, width, threads, simd;
  double eps;
  if (!get_view(env, argv[0], napi_float32_array, "dst", "Float32Array", &dst) || !get_view(env, argv[1], napi_float32_array, "src", "Float32Array", &src) ||
      !get_int(env, argv[2], "rows", 0, kMaxDim, &rows) || !get_int(env, argv[3], "width", 1, kMaxDim, &width) ||
      !get_view(env, argv[4], napi_float32_array, "gain", "Float32Array", &gain) || !get_double(env, argv[5], "eps", &eps) ||
      !get_int(env, argv[6], "maxThreads", 0, 1 << 16, &threads) || !get_int(env, argv[7], "maxSimd", 0, 3, &simd))
    return nullptr;
  const int64_t n = rows * width;
  if (!need(env, dst, "dst", n) || !need(env, src, "src", n) || !need(env, gain, "gain", width)) return nullptr;
  // In place is fine (each row is read whole before it is written); a shifted overlap is not.
  if ((dst.data != src.data && overlaps(dst, static_cast<size_t>(n), src, static_cast<size_t>(n))) || overlaps(dst, static_cast<size_t>(n), gain, static_cast<size_t>(width))) {
    throw_range(env, "dst must be src itself or apart from it, and apart from gain");
    return nullptr;
  }
  rms_norm_rows(static_cast<float*>(dst.data), static_cast<const float*>(src.data), rows, width, static_cast<const float*>(gain.data), eps,
                static_cast<int>(threads), static_cast<Simd>(simd));
  return nullptr;
}

napi_value js_poly_norm_gate_fused(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  if (!get_args(env, info, 9, argv, "polyNormGateFused(...)")) return nullptr;
  View dst, gate_up, weight;
  int64_t rows, width, threads, simd;
  double bias, eps;
  if (!get_view(env, argv[0], napi_float32_array, "dst", "Float32Array", &dst) ||
      !get_view(env, argv[1], napi_float32_array, "gateUp", "Float32Array", &gate_up) || !get_int(env, argv[2], "rows", 0, kMaxDim, &rows) ||
      !get_int(env, argv[3], "width", 1, kMaxDim, &width) || !get_view(env, argv[4], napi_float32_array, "weight", "Float32Array", &weight) ||
      !get_double(env, argv[5], "bias", &bias) || !get_double(env, argv[6], "eps", &eps) ||
      !get_int(env, argv[7], "maxThreads", 0, 1 << 16, &threads) || !get_int(env, argv[8], "maxSimd", 0, 3, &simd))
    return nullptr;
  const int64_t n = rows * width;
  if (!need(env, dst, "dst", n) || !need(env, gate_up, "gateUp", 2 * n) || !need(env, weight, "weight", 3)) return nullptr;
  if (overlaps(dst, static_cast<size_t>(n), gate_up, static_cast<size_t>(2 * n))) {
    throw_range(env, "dst must not share memory with gateUp");
    return nullptr;
  }
  const float* w = static_cast<const float*>(weight.data);
  const double wd[3] = {w[0], w[1], w[2]};
  poly_norm_gate_fused(static_cast<float*>(dst.data), static_cast<const float*>(gate_up.data), rows, width, wd, bias, eps, static_cast<int>(threads),
                       static_cast<Simd>(simd));
  return nullptr;
}

}  // namespace motif
