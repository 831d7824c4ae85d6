// N-API glue for attend (attention.h), kept apart from the matmul glue in addon.cc.
//
// JS API: attend(z, q, qStride, qRow, count, startPos, kBlocks, vBlocks, shift, heads, headDim,
//                lambda, lambdaInit, subln, eps, maxThreads, maxSimd): undefined
//   z, q, subln: Float32Array; kBlocks, vBlocks: arrays of Float32Array (the KV cache's blocks of
//   2^shift positions); maxSimd: 0 scalar, otherwise the widest the CPU has.
// Runs on the calling thread (with the pool): one call is a prefill chunk's rows or one decode
// step of one sequence, a millisecond or less, which a thread hop would only lengthen.
// Every size is checked before a pointer is touched: a wrong shape is a JS RangeError.
#include <node_api.h>

#include <cstdint>
#include <string>
#include <vector>

#include "addon-args.h"
#include "attention.h"

namespace motif {
namespace {

// The first `blocks` elements of a JS array of Float32Arrays, each holding at least
// `rows_in(b) · width` floats; false (with a JS exception) otherwise.
bool get_blocks(napi_env env, napi_value arr, const char* name, int64_t blocks, int64_t per, int64_t positions, int64_t width,
                std::vector<const float*>* out) {
  bool is_array = false;
  CHECK_NAPI(env, napi_is_array(env, arr, &is_array));
  if (!is_array) return throw_type(env, std::string(name) + " must be an array of Float32Array");
  uint32_t len = 0;
  CHECK_NAPI(env, napi_get_array_length(env, arr, &len));
  if (len < blocks) return throw_range(env, std::string(name) + " holds " + std::to_string(len) + " blocks, " + std::to_string(blocks) + " needed");
  out->resize(static_cast<size_t>(blocks));
  for (int64_t b = 0; b < blocks; ++b) {
    napi_value el;
    CHECK_NAPI(env, napi_get_element(env, arr, static_cast<uint32_t>(b), &el));
    View v;
    if (!get_view(env, el, napi_float32_array, name, "array of Float32Array", &v)) return false;
    const int64_t rows = positions - b * per < per ? positions - b * per : per;
    if (static_cast<int64_t>(v.length) < rows * width)
      return throw_range(env, std::string(name) + "[" + std::to_string(b) + "] holds " + std::to_string(v.length) + " floats, " +
                                  std::to_string(rows * width) + " needed");
    (*out)[static_cast<size_t>(b)] = static_cast<const float*>(v.data);
  }
  return true;
}

bool parse(napi_env env, napi_callback_info info, Attention* a, int* max_threads, Simd* max_simd) {
  size_t argc = 17;
  napi_value argv[17];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 17) return throw_type(env, "attend(...) needs 17 arguments");
  int64_t q_stride, q_row, count, start_pos, shift, heads, head_dim, threads, simd;
  if (!get_int(env, argv[2], "qStride", 0, kMaxDim, &q_stride) || !get_int(env, argv[3], "qRow", 0, kMaxDim, &q_row) ||
      !get_int(env, argv[4], "count", 0, kMaxDim, &count) || !get_int(env, argv[5], "startPos", 0, kMaxDim, &start_pos) ||
      !get_int(env, argv[8], "shift", 0, 16, &shift) || !get_int(env, argv[9], "heads", 2, 1 << 16, &heads) ||
      !get_int(env, argv[10], "headDim", 1, 1 << 16, &head_dim) || !get_int(env, argv[15], "maxThreads", 0, 1 << 16, &threads) ||
      !get_int(env, argv[16], "maxSimd", 0, 3, &simd))
    return false;
  if (heads % 2 != 0) return throw_range(env, "heads must be even (differential heads pair them), got " + std::to_string(heads));
  double lambda, lambda_init, eps;
  CHECK_NAPI(env, napi_get_value_double(env, argv[11], &lambda));
  CHECK_NAPI(env, napi_get_value_double(env, argv[12], &lambda_init));
  CHECK_NAPI(env, napi_get_value_double(env, argv[14], &eps));
  View z, q, subln;
  if (!get_view(env, argv[0], napi_float32_array, "z", "Float32Array", &z) || !get_view(env, argv[1], napi_float32_array, "q", "Float32Array", &q) ||
      !get_view(env, argv[13], napi_float32_array, "subln", "Float32Array", &subln))
    return false;
  const int64_t width = heads * head_dim;
  if (q_stride < width) return throw_range(env, "qStride must be at least heads*headDim = " + std::to_string(width));
  if (static_cast<int64_t>(subln.length) < 2 * head_dim) return throw_range(env, "subln needs 2*headDim floats");
  const size_t nz = static_cast<size_t>((q_row + count) * width);
  const size_t nq = count > 0 ? static_cast<size_t>((q_row + count - 1) * q_stride + width) : 0;
  if (count > 0 && (z.length < nz || q.length < nq))
    return throw_range(env, "z needs (qRow+count)*heads*headDim floats and q (qRow+count-1)*qStride + heads*headDim");
  if (overlaps(z, nz, q, nq) || overlaps(z, nz, subln, 2 * head_dim)) return throw_range(env, "z must not share memory with q or subln");
  const int64_t positions = start_pos + count, per = int64_t{1} << shift;
  const int64_t blocks = (positions + per - 1) / per;
  thread_local std::vector<const float*> kp, vp;
  if (!get_blocks(env, argv[6], "kBlocks", blocks, per, positions, width, &kp) || !get_blocks(env, argv[7], "vBlocks", blocks, per, positions, width, &vp))
    return false;
  *a = Attention{static_cast<float*>(z.data), static_cast<const float*>(q.data), q_stride, q_row, count, start_pos, kp.data(), vp.data(),
                 static_cast<int>(shift), heads, head_dim, static_cast<float>(lambda), static_cast<float>(lambda_init),
                 static_cast<const float*>(subln.data), static_cast<float>(eps)};
  *max_threads = static_cast<int>(threads);
  *max_simd = static_cast<Simd>(simd);
  return true;
}

}  // namespace

napi_value js_attend(napi_env env, napi_callback_info info) {
  Attention a{};
  int max_threads = 0;
  Simd max_simd = Simd::Amx;
  if (parse(env, info, &a, &max_threads, &max_simd)) attend(a, max_threads, max_simd);
  return nullptr;
}

}  // namespace motif
