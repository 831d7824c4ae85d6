#include "cpu.h"

#include <cstdio>
#include <thread>

#if defined(__linux__)
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#ifdef MOTIF_X86_SIMD
#include <cpuid.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>  // _mm_pause
#endif

namespace motif {

bool cpu_has_avx2_fma_f16c() {
#ifdef MOTIF_X86_SIMD
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("f16c");
#else
  return false;
#endif
}

bool cpu_has_avx512f() {
#ifdef MOTIF_X86_SIMD
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}

bool cpu_has_avx512_vnni() {
#ifdef MOTIF_X86_SIMD
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512vnni");
#else
  return false;
#endif
}

namespace {

#ifdef MOTIF_X86_SIMD
bool detect_amx_bf16() {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool tile = (d >> 24) & 1, amx_bf16 = (d >> 22) & 1;
  if (!tile || !amx_bf16 || !__get_cpuid_count(7, 1, &a, &b, &c, &d) || !((a >> 5) & 1)) return false;  // AVX512-BF16
  __builtin_cpu_init();
  if (!cpu_has_avx512f() || !__builtin_cpu_supports("avx512bw")) return false;  // the packing uses BW
#if defined(__linux__)
  // Linux hands out the tile state per process on request (ARCH_REQ_XCOMP_PERM, XTILEDATA); a
  // kernel without it (before 5.16) or a refusal means no AMX.
  constexpr long kReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}
#endif

// CPU quota of a cgroup v2 container (`docker --cpus=2` → "200000 100000"), rounded up; 0 if none.
int cgroup_quota_cores() {
#if defined(__linux__)
  FILE* f = std::fopen("/sys/fs/cgroup/cpu.max", "r");
  if (f == nullptr) return 0;
  long long quota = 0, period = 0;
  int fields = std::fscanf(f, "%lld %lld", &quota, &period);  // "max 100000" matches 0 fields
  std::fclose(f);
  if (fields == 2 && quota > 0 && period > 0) return static_cast<int>((quota + period - 1) / period);
#endif
  return 0;
}

}  // namespace

bool cpu_has_amx_bf16() {
#ifdef MOTIF_X86_SIMD
  static const bool ok = detect_amx_bf16();
  return ok;
#else
  return false;
#endif
}

int available_cores() {
  // A container or `taskset` may restrict us to fewer cores than the machine has; more threads
  // than that would only time-share a core and thrash its cache.
  int n = static_cast<int>(std::thread::hardware_concurrency());
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) n = CPU_COUNT(&set);
#endif
  const int quota = cgroup_quota_cores();
  if (quota > 0 && quota < n) n = quota;
  return n > 0 ? n : 1;
}

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

}  // namespace motif
