// N-API glue (the C API from Node's own headers). Every argument is checked here, before any
// pointer is touched: a wrong length or type from JS must become a JS exception, never a read
// past the end of a buffer.
//
// JS API (wrapped by the TS loader):
//   matmul(y, x, w, wtype, rows, in, out, maxThreads, maxSimd): undefined
//     wtype: 0 F32 (Float32Array), 1 BF16 / 2 F16 (Uint16Array), 3 Q8_0 (Uint8Array of 34-byte
//     blocks; in must be a multiple of 32), 4 Q8_0x16 (the same, regrouped; out a multiple of 16)
//     maxSimd: 0 scalar, 1 AVX2, 2 AVX-512, 3 AMX (the widest the CPU has up to that); a boolean
//     is accepted too (true = the widest, false = 0)
//   matmulAsync(...same...): Promise<void>     runs on a libuv worker thread
//   readBandwidth(bytes, threads, runs): Promise<number[]>   GB/s per run
//   quantizeQ8(w, wtype, rows, cols, out, maxThreads): boolean   F32/BF16/F16 → Q8_0 blocks
//   packQ8x16(q8, rows, cols, out, maxThreads): undefined   Q8_0 → Q8_0x16 (addon-q8.cc)
//   info(): { simd, threads, arch, sha256, q8, q8x16 }
//   sha256Batch(messages, out): boolean   SHA-NI hashing of many messages (addon-hash.cc)
//   attend(z, q, qStride, qRow, count, startPos, kBlocks, vBlocks, shift, heads, headDim, lambda,
//          lambdaInit, subln, eps, maxThreads, maxSimd): undefined   differential attention
//          (attention.h; addon-attention.cc)
//   rmsNormRows(dst, src, rows, width, gain, eps, maxThreads, maxSimd): undefined
//   polyNormGateFused(dst, gateUp, rows, width, weight, bias, eps, maxThreads, maxSimd): undefined
//          the forward pass's row norms (norms.h; addon-norms.cc)
#include <node_api.h>

#include <cstdint>
#include <string>
#include <vector>

#include "addon-args.h"
#include "bandwidth.h"
#include "cpu.h"
#include "sha256.h"
#include "matmul.h"
#include "thread-pool.h"

namespace motif {
namespace {

struct MatmulCall {
  Matmul m{};
  int max_threads = 0;
  Simd max_simd = Simd::Amx;
  napi_value arrays[3]{};  // y, x, w: kept alive by the async variant
};

bool parse_matmul(napi_env env, napi_callback_info info, MatmulCall* call) {
  size_t argc = 9;
  napi_value argv[9];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 7) return throw_type(env, "matmul(y, x, w, wtype, rows, in, out[, maxThreads, maxSimd]) needs 7 arguments");
  int64_t wtype, rows, in, out, threads = 0;
  if (!get_int(env, argv[3], "wtype", 0, 4, &wtype)) return false;
  if (!get_int(env, argv[4], "rows", 0, kMaxDim, &rows)) return false;
  if (!get_int(env, argv[5], "inDim", 0, kMaxDim, &in)) return false;
  if (!get_int(env, argv[6], "outDim", 0, kMaxDim, &out)) return false;
  if (argc > 7 && !get_int(env, argv[7], "maxThreads", 0, 1 << 16, &threads)) return false;
  if (argc > 8) {
    napi_valuetype t;
    CHECK_NAPI(env, napi_typeof(env, argv[8], &t));
    if (t == napi_boolean) {
      bool allow = true;
      CHECK_NAPI(env, napi_get_value_bool(env, argv[8], &allow));
      call->max_simd = allow ? Simd::Amx : Simd::Scalar;
    } else {
      if (t != napi_number) return throw_type(env, "maxSimd must be a number or a boolean");
      int64_t level;
      if (!get_int(env, argv[8], "maxSimd", 0, 3, &level)) return false;
      call->max_simd = static_cast<Simd>(level);
    }
  }
  View y, x, w;
  if (!get_view(env, argv[0], napi_float32_array, "y", "Float32Array", &y)) return false;
  if (!get_view(env, argv[1], napi_float32_array, "x", "Float32Array", &x)) return false;
  const auto type = static_cast<WeightType>(wtype);
  const bool blocks = type == WeightType::Q8_0 || type == WeightType::Q8_0x16;
  const bool ok_w = type == WeightType::F32 ? get_view(env, argv[2], napi_float32_array, "w", "Float32Array (F32 weights)", &w)
                    : blocks                ? get_view(env, argv[2], napi_uint8_array, "w", "Uint8Array (Q8_0 blocks)", &w)
                                               : get_view(env, argv[2], napi_uint16_array, "w", "Uint16Array (BF16/F16 weights)", &w);
  if (!ok_w) return false;
  if (blocks && in % kQ8Block != 0)
    return throw_range(env, "inDim must be a multiple of " + std::to_string(kQ8Block) + " for Q8_0 weights, got " + std::to_string(in));
  if (type == WeightType::Q8_0x16 && out % kQ8x16Rows != 0)
    return throw_range(env, "outDim must be a multiple of " + std::to_string(kQ8x16Rows) + " for Q8_0x16 weights, got " + std::to_string(out));
  // nw counts elements of w's array: weights, or bytes of Q8_0 blocks.
  const size_t ny = rows * out, nx = rows * in, nw = blocks ? out * (in / kQ8Block) * kQ8BlockBytes : out * in;
  if (y.length < ny) return throw_range(env, "y holds " + std::to_string(y.length) + " floats, rows*outDim = " + std::to_string(ny));
  if (x.length < nx) return throw_range(env, "x holds " + std::to_string(x.length) + " floats, rows*inDim = " + std::to_string(nx));
  if (w.length < nw)
    return throw_range(env, "w holds " + std::to_string(w.length) + (blocks ? " bytes, outDim*inDim/32 blocks of 34 bytes = " : " weights, outDim*inDim = ") +
                                std::to_string(nw));
  // y is written while x and w are read by other threads: overlapping views would race.
  if (overlaps(y, ny, x, nx) || overlaps(y, ny, w, nw)) return throw_range(env, "y must not share memory with x or w");
  call->m = Matmul{static_cast<float*>(y.data), static_cast<const float*>(x.data), w.data, type, rows, in, out};
  call->max_threads = static_cast<int>(threads);
  call->arrays[0] = argv[0];
  call->arrays[1] = argv[1];
  call->arrays[2] = argv[2];
  return true;
}

napi_value js_matmul(napi_env env, napi_callback_info info) {
  MatmulCall call;
  if (parse_matmul(env, info, &call)) matmul(call.m, call.max_threads, call.max_simd);
  return nullptr;
}

// Async jobs: the typed arrays are pinned with references until completion. Callers must not
// transfer (detach) them meanwhile; the engine owns its buffers, so that is a contract, not a check.
struct AsyncJob {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  napi_ref refs[3]{};
  MatmulCall call;
  // readBandwidth
  bool is_probe = false;
  size_t bytes = 0;
  int threads = 1;
  int runs = 1;
  std::vector<double> gbps;
  std::string error;
  bool ok = true;
};

void async_execute(napi_env, void* data) {
  auto* job = static_cast<AsyncJob*>(data);
  if (job->is_probe) {
    job->ok = measure_read_bandwidth(job->bytes, job->threads, job->runs, job->gbps, job->error);
  } else {
    matmul(job->call.m, job->call.max_threads, job->call.max_simd);
  }
}

void async_complete(napi_env env, napi_status status, void* data) {
  auto* job = static_cast<AsyncJob*>(data);
  napi_value result = nullptr;
  if (status != napi_ok) {
    job->ok = false;
    job->error = "kernel job was cancelled";
  }
  if (job->ok && job->is_probe) {
    napi_create_array_with_length(env, job->gbps.size(), &result);
    for (size_t i = 0; i < job->gbps.size(); ++i) {
      napi_value v;
      napi_create_double(env, job->gbps[i], &v);
      napi_set_element(env, result, static_cast<uint32_t>(i), v);
    }
  } else if (job->ok) {
    napi_get_undefined(env, &result);
  }
  if (job->ok) {
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    napi_value msg, err;
    napi_create_string_utf8(env, job->error.c_str(), NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, nullptr, msg, &err);
    napi_reject_deferred(env, job->deferred, err);
  }
  for (napi_ref r : job->refs)
    if (r != nullptr) napi_delete_reference(env, r);
  napi_delete_async_work(env, job->work);
  delete job;
}

napi_value queue(napi_env env, AsyncJob* job, const char* name) {
  napi_value promise, resource_name;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_create_async_work(env, nullptr, resource_name, async_execute, async_complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    for (napi_ref r : job->refs)
      if (r != nullptr) napi_delete_reference(env, r);
    delete job;
    napi_throw_error(env, "ERR_MOTIF_KERNELS", "cannot queue kernel job");
    return nullptr;
  }
  return promise;
}

napi_value js_matmul_async(napi_env env, napi_callback_info info) {
  auto* job = new AsyncJob();
  if (!parse_matmul(env, info, &job->call)) {
    delete job;
    return nullptr;
  }
  for (int i = 0; i < 3; ++i) {
    if (napi_create_reference(env, job->call.arrays[i], 1, &job->refs[i]) != napi_ok) {
      for (napi_ref r : job->refs)
        if (r != nullptr) napi_delete_reference(env, r);
      delete job;
      napi_throw_error(env, "ERR_MOTIF_KERNELS", "cannot pin matmul arguments");
      return nullptr;
    }
  }
  return queue(env, job, "motif.matmul");
}

napi_value js_read_bandwidth(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  if (argc < 3) {
    throw_type(env, "readBandwidth(bytes, threads, runs) needs 3 arguments");
    return nullptr;
  }
  int64_t bytes, threads, runs;
  if (!get_int(env, argv[0], "bytes", 4096, int64_t{1} << 40, &bytes) ||
      !get_int(env, argv[1], "threads", 1, 1 << 16, &threads) ||
      !get_int(env, argv[2], "runs", 1, 1000, &runs))
    return nullptr;
  auto* job = new AsyncJob();
  job->is_probe = true;
  job->bytes = static_cast<size_t>(bytes);
  job->threads = static_cast<int>(threads);
  job->runs = static_cast<int>(runs);
  return queue(env, job, "motif.readBandwidth");
}

napi_value js_info(napi_env env, napi_callback_info) {
  napi_value obj, simd, threads, arch;
  napi_create_object(env, &obj);
  napi_create_string_utf8(env, simd_name(cpu_simd()), NAPI_AUTO_LENGTH, &simd);
  napi_create_int32(env, shared_pool().size(), &threads);
#if defined(__x86_64__)
  const char* arch_name = "x64";
#elif defined(__aarch64__)
  const char* arch_name = "arm64";
#else
  const char* arch_name = "other";
#endif
  napi_create_string_utf8(env, arch_name, NAPI_AUTO_LENGTH, &arch);
  napi_set_named_property(env, obj, "simd", simd);
  napi_set_named_property(env, obj, "threads", threads);
  napi_set_named_property(env, obj, "arch", arch);
  napi_value q8;  // wtype 3 understood (addons built before Q8_0 lack the key)
  napi_get_boolean(env, true, &q8);
  napi_set_named_property(env, obj, "q8", q8);
  napi_value q8x16;  // wtype 4 has its fast (VNNI) path here
  napi_get_boolean(env, static_cast<int>(cpu_simd()) >= static_cast<int>(Simd::Avx512) && cpu_has_avx512_vnni(), &q8x16);
  napi_set_named_property(env, obj, "q8x16", q8x16);
  napi_value sha;
  napi_create_string_utf8(env, cpu_has_sha_ni() ? "sha-ni" : "none", NAPI_AUTO_LENGTH, &sha);
  napi_set_named_property(env, obj, "sha256", sha);
  return obj;
}

}  // namespace

// addon-hash.cc
napi_value js_sha256_batch(napi_env env, napi_callback_info info);
// addon-attention.cc
napi_value js_attend(napi_env env, napi_callback_info info);
// addon-q8.cc
napi_value js_quantize_q8(napi_env env, napi_callback_info info);
napi_value js_pack_q8x16(napi_env env, napi_callback_info info);
// addon-norms.cc
napi_value js_rms_norm_rows(napi_env env, napi_callback_info info);
napi_value js_poly_norm_gate_fused(napi_env env, napi_callback_info info);

}  // namespace motif

// Context-aware registration (napi_register_module_v1): the addon may be loaded by the main
// thread and by any number of worker_threads, each getting its own exports object. It keeps no
// per-context state; the thread pool is process-wide on purpose (see thread-pool.h).
NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"matmul", nullptr, motif::js_matmul, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"matmulAsync", nullptr, motif::js_matmul_async, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"readBandwidth", nullptr, motif::js_read_bandwidth, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"info", nullptr, motif::js_info, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"quantizeQ8", nullptr, motif::js_quantize_q8, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"packQ8x16", nullptr, motif::js_pack_q8x16, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"sha256Batch", nullptr, motif::js_sha256_batch, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"attend", nullptr, motif::js_attend, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"rmsNormRows", nullptr, motif::js_rms_norm_rows, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"polyNormGateFused", nullptr, motif::js_poly_norm_gate_fused, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return nullptr;
  return exports;
}
