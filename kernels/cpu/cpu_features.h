// What this CPU supports, asked once per process. Kernels compiled with a target attribute
// (avx2/fma, avx512f) run only where these say yes, so the rest of the build stays generic.
#pragma once

namespace duo::kernels::cpu {

// AVX2 and FMA (vec_math's exp and dot kernels).
inline bool cpu_has_avx2_fma() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return has;
#else
  return false;
#endif
}

// AVX-512F (the 16-bit row kernels of half_rows).
inline bool cpu_has_avx512f() {
#if defined(__x86_64__)
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
  }();
  return has;
#else
  return false;
#endif
}

}  // namespace duo::kernels::cpu
