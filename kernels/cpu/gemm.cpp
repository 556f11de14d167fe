// oneDNN's sgemm, looked up at run time, with BLAS as the fallback (see gemm.h).
#include "kernels/cpu/gemm.h"

#include <ATen/ATen.h>
#include <dlfcn.h>
#include <fmt/format.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>

#include "core/error.h"

namespace duo::kernels::cpu {
namespace {

// oneDNN's C API (include/oneapi/dnnl/dnnl.h of oneDNN 2.x): row-major
// C := alpha * op(A) * op(B) + beta * C; trans 'N' or 'T'; returns dnnl_success (0) or an error.
using DnnlSgemm = int (*)(char transa, char transb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
struct DnnlVersion {
  int major, minor, patch;
  const char* hash;
  unsigned cpu_runtime, gpu_runtime;
};
using DnnlVersionFn = const DnnlVersion* (*)();
using DnnlIsaFn = int (*)();

struct OneDnn {
  DnnlSgemm sgemm = nullptr;
  DnnlVersionFn version = nullptr;
  DnnlIsaFn isa = nullptr;
};

const OneDnn& onednn() {
  static const OneDnn fns = [] {
    OneDnn f;
    // LibTorch's libdnnl is loaded with the process; RTLD_NOLOAD never loads another copy.
    void* lib = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_NOLOAD);
    void* where = lib != nullptr ? lib : RTLD_DEFAULT;
    f.sgemm = reinterpret_cast<DnnlSgemm>(dlsym(where, "dnnl_sgemm"));
    f.version = reinterpret_cast<DnnlVersionFn>(dlsym(where, "dnnl_version"));
    f.isa = reinterpret_cast<DnnlIsaFn>(dlsym(where, "dnnl_get_effective_cpu_isa"));
    return f;
  }();
  return fns;
}

// -1: not chosen yet (DUO_GEMM read on first use).
std::atomic<int> g_backend{-1};

GemmBackend default_backend() {
  const char* env = std::getenv("DUO_GEMM");
  const std::string v = env != nullptr ? env : "";
  DUO_CHECK(v.empty() || v == "blas" || v == "onednn", "DUO_GEMM: expected 'blas' or 'onednn'; got '{}'", v);
  DUO_CHECK(v != "onednn" || onednn_available(),
            "DUO_GEMM=onednn: this process has no oneDNN (dnnl_sgemm not found in LibTorch's libraries)");
  if (v == "blas") return GemmBackend::kBlas;
  return onednn_available() ? GemmBackend::kOneDnn : GemmBackend::kBlas;
}

std::string isa_name(int isa) {
  switch (isa) {  // dnnl_cpu_isa_t of oneDNN 2.6
    case 0x7: return "avx2";
    case 0x27: return "avx512_core";
    case 0x67: return "avx512_core_vnni";
    case 0xe7: return "avx512_core_bf16";
    case 0x3e7: return "avx512_core_amx";
    case 0x407: return "avx2_vnni";
    default: return fmt::format("isa 0x{:x}", isa);
  }
}

// How oneDNN reads a 2-D fp32 tensor x [rows, cols]: 'N' with ld = x.stride(0) (row-major) or
// 'T' with ld = x.stride(1) (a transposed view of a row-major [cols, rows]). false: neither.
bool dnnl_layout(const at::Tensor& x, char* trans, int64_t* ld) {
  const int64_t rows = x.size(0), cols = x.size(1);
  if (x.stride(1) == 1 && (rows == 1 || x.stride(0) >= cols)) {
    *trans = 'N';
    *ld = rows == 1 ? std::max<int64_t>(cols, 1) : x.stride(0);
    return true;
  }
  if (x.stride(0) == 1 && (cols == 1 || x.stride(1) >= rows)) {
    *trans = 'T';
    *ld = cols == 1 ? std::max<int64_t>(rows, 1) : x.stride(1);
    return true;
  }
  return false;
}

// The arguments of a dnnl_sgemm call computing c = a b.
struct DnnlCall {
  char ta = 'N', tb = 'N';
  int64_t lda = 0, ldb = 0, ldc = 0;
};

// Fills `call` and returns true when gemm_out(c, a, b) runs on oneDNN: the backend is oneDNN, the
// dtypes fp32, the sizes non-zero, c's rows unit-stride and a and b in layouts oneDNN reads.
bool dnnl_call(const at::Tensor& c, const at::Tensor& a, const at::Tensor& b, DnnlCall* call) {
  const int64_t m = a.size(0), n = b.size(1), k = a.size(1);
  const bool fp32 = a.scalar_type() == at::kFloat && b.scalar_type() == at::kFloat && c.scalar_type() == at::kFloat;
  const bool cpu = a.device().is_cpu() && b.device().is_cpu() && c.device().is_cpu();
  if (gemm_backend() != GemmBackend::kOneDnn || !fp32 || !cpu || m == 0 || n == 0 || k == 0 || c.stride(1) != 1 ||
      (m > 1 && c.stride(0) < n))
    return false;
  call->ldc = m == 1 ? n : c.stride(0);
  return dnnl_layout(a, &call->ta, &call->lda) && dnnl_layout(b, &call->tb, &call->ldb);
}

void blas_out(at::Tensor& c, const at::Tensor& a, const at::Tensor& b, float beta) {
  if (beta == 0.0f) {
    at::mm_out(c, a, b);
  } else {
    c.addmm_(a, b, /*beta=*/beta);
  }
}

}  // namespace

bool onednn_available() { return onednn().sgemm != nullptr; }

GemmBackend gemm_backend() {
  int b = g_backend.load(std::memory_order_relaxed);
  if (b < 0) {
    static std::once_flag once;
    std::call_once(once, [] {
      int expected = -1;
      g_backend.compare_exchange_strong(expected, static_cast<int>(default_backend()));
    });
    b = g_backend.load();
  }
  return static_cast<GemmBackend>(b);
}

void set_gemm_backend(GemmBackend backend) {
  DUO_CHECK(backend != GemmBackend::kOneDnn || onednn_available(),
            "gemm: oneDNN requested, but this process has no oneDNN (dnnl_sgemm not found)");
  g_backend.store(static_cast<int>(backend));
}

std::string gemm_summary() {
  if (gemm_backend() == GemmBackend::kBlas) return "BLAS (at::mm)";
  const OneDnn& f = onednn();
  std::string s = "oneDNN";
  if (f.version != nullptr) {
    const DnnlVersion* v = f.version();
    s += fmt::format(" {}.{}.{}", v->major, v->minor, v->patch);
  }
  s += " sgemm";
  if (f.isa != nullptr) s += " (" + isa_name(f.isa()) + ")";
  return s;
}

bool onednn_runs(const at::Tensor& c, const at::Tensor& a, const at::Tensor& b) {
  DnnlCall call;
  return dnnl_call(c, a, b, &call);
}

void gemm_out(at::Tensor& c, const at::Tensor& a, const at::Tensor& b, float beta) {
  DUO_ASSERT(a.dim() == 2 && b.dim() == 2 && c.dim() == 2 && a.size(1) == b.size(0) && c.size(0) == a.size(0) &&
             c.size(1) == b.size(1));
  DnnlCall x;
  if (!dnnl_call(c, a, b, &x)) {
    blas_out(c, a, b, beta);
    return;
  }
  const int64_t m = a.size(0), n = b.size(1), k = a.size(1);
  const int status = onednn().sgemm(x.ta, x.tb, m, n, k, 1.0f, a.data_ptr<float>(), x.lda, b.data_ptr<float>(), x.ldb,
                                    beta, c.data_ptr<float>(), x.ldc);
  DUO_CHECK(status == 0, "gemm: oneDNN's sgemm failed (status {}) on [{}, {}] x [{}, {}]", status, m, k, k, n);
}

}  // namespace duo::kernels::cpu
