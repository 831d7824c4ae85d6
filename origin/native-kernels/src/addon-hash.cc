// N-API glue for sha256_batch (sha256.h), kept apart from the matmul glue in addon.cc.
//
// JS API: sha256Batch(messages: Uint8Array[], out: Uint8Array): boolean
//   hashes messages[i] into out[32*i .. 32*i+32) and returns true; returns false (out untouched)
//   when the CPU lacks SHA-NI, so the caller hashes with its own SHA-256 instead.
// Runs on the calling thread: the batches are a few MiB, hashed in about a millisecond, and a
// thread hop would cost more than it saves.
#include <node_api.h>

#include <cstdint>
#include <string>
#include <vector>

#include "sha256.h"

namespace motif {

namespace {

constexpr uint32_t kMaxMessages = 4096;

napi_value fail(napi_env env, bool type_error, const std::string& msg) {
  if (type_error) napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg.c_str());
  else napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg.c_str());
  return nullptr;
}

bool bytes_of(napi_env env, napi_value v, uint8_t** data, size_t* len) {
  bool typed = false;
  if (napi_is_typedarray(env, v, &typed) != napi_ok || !typed) return false;
  napi_typedarray_type type;
  size_t length, offset;
  napi_value ab;
  void* p = nullptr;
  if (napi_get_typedarray_info(env, v, &type, &length, &p, &ab, &offset) != napi_ok || type != napi_uint8_array) return false;
  *data = static_cast<uint8_t*>(p);
  *len = length;
  return true;
}

}  // namespace

napi_value js_sha256_batch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  if (argc < 2) return fail(env, true, "sha256Batch(messages, out) needs 2 arguments");
  bool is_array = false;
  if (napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array) return fail(env, true, "messages must be an array of Uint8Array");
  uint32_t n = 0;
  napi_get_array_length(env, argv[0], &n);
  if (n > kMaxMessages) return fail(env, false, "at most " + std::to_string(kMaxMessages) + " messages per batch");
  uint8_t* out = nullptr;
  size_t out_len = 0;
  if (!bytes_of(env, argv[1], &out, &out_len)) return fail(env, true, "out must be a Uint8Array");
  if (out_len < size_t{32} * n) return fail(env, false, "out holds " + std::to_string(out_len) + " bytes, " + std::to_string(32 * n) + " needed");
  std::vector<const uint8_t*> data(n);
  std::vector<size_t> len(n);
  for (uint32_t i = 0; i < n; ++i) {
    napi_value m;
    uint8_t* p = nullptr;
    if (napi_get_element(env, argv[0], i, &m) != napi_ok || !bytes_of(env, m, &p, &len[i]))
      return fail(env, true, "messages[" + std::to_string(i) + "] must be a Uint8Array");
    data[i] = p;
  }
  napi_value result;
  const bool ok = cpu_has_sha_ni();
  if (ok && n > 0) sha256_batch(data.data(), len.data(), n, out);
  napi_get_boolean(env, ok, &result);
  return result;
}

}  // namespace motif
