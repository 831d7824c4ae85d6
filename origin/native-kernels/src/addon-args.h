// Argument checks of the N-API glue (addon.cc): typed-array views and integers from JS, each
// refused with a JS TypeError/RangeError naming the argument before any pointer is touched.
#pragma once

#include <node_api.h>

#include <cstdint>
#include <string>

namespace motif {

// Largest accepted dimension: products of two stay far inside int64 and JS safe integers.
constexpr int64_t kMaxDim = int64_t{1} << 31;

#define CHECK_NAPI(env, call)                                        \
  do {                                                               \
    if ((call) != napi_ok) {                                         \
      napi_throw_error((env), "ERR_MOTIF_KERNELS", "N-API call failed: " #call); \
      return false;                                                  \
    }                                                                \
  } while (0)

inline bool throw_type(napi_env env, const std::string& msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg.c_str());
  return false;
}

inline bool throw_range(napi_env env, const std::string& msg) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg.c_str());
  return false;
}

// The first n arguments of a call, or false (with a JS TypeError quoting `usage`) when fewer came.
inline bool get_args(napi_env env, napi_callback_info info, size_t n, napi_value* argv, const char* usage) {
  size_t argc = n;
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < n) return throw_type(env, std::string(usage) + " needs " + std::to_string(n) + " arguments");
  return true;
}

struct View {
  void* data = nullptr;
  size_t length = 0;  // elements
  size_t elem = 0;    // bytes per element
};

inline bool get_view(napi_env env, napi_value v, napi_typedarray_type want, const char* name,
              const char* want_name, View* out) {
  bool is_typed = false;
  CHECK_NAPI(env, napi_is_typedarray(env, v, &is_typed));
  if (!is_typed) return throw_type(env, std::string(name) + " must be a " + want_name);
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  CHECK_NAPI(env, napi_get_typedarray_info(env, v, &type, &out->length, &out->data, &buffer, &offset));
  if (type != want) return throw_type(env, std::string(name) + " must be a " + want_name);
  out->elem = want == napi_float32_array ? 4 : want == napi_uint16_array ? 2 : 1;
  // A detached buffer reports length 0 and no data; only an empty product may use it.
  return true;
}

inline bool get_int(napi_env env, napi_value v, const char* name, int64_t lo, int64_t hi, int64_t* out) {
  napi_valuetype t;
  CHECK_NAPI(env, napi_typeof(env, v, &t));
  if (t != napi_number) return throw_type(env, std::string(name) + " must be a number");
  double d;
  CHECK_NAPI(env, napi_get_value_double(env, v, &d));
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != static_cast<double>(static_cast<int64_t>(d)))
    return throw_range(env, std::string(name) + " must be an integer in [" + std::to_string(lo) + ", " +
                                std::to_string(hi) + "], got " + std::to_string(d));
  *out = static_cast<int64_t>(d);
  return true;
}

inline bool overlaps(const View& a, size_t a_elems, const View& b, size_t b_elems) {
  auto a0 = reinterpret_cast<uintptr_t>(a.data), b0 = reinterpret_cast<uintptr_t>(b.data);
  return a_elems > 0 && b_elems > 0 && a0 < b0 + b_elems * b.elem && b0 < a0 + a_elems * a.elem;
}

}  // namespace motif
