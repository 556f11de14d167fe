// Single-precision matrix products of the CPU paths (projections and MLP without gradients, the
// tiles of the attention kernels): oneDNN's sgemm where the process has it, BLAS otherwise.
//
// LibTorch 1.13 runs fp32 matmuls on the BLAS it links (Debian: OpenBLAS 0.3.21). Debian's
// LibTorch also links oneDNN (package libdnnl2, 2.6), whose sgemm JIT-compiles kernels for the
// ISA of the CPU it runs on. On this project's 2-core AMD Zen 5 machines, whose environment pins
// OpenBLAS to its AVX2 kernels (OPENBLAS_CORETYPE=Haswell: older OpenBLAS builds compute wrong
// results on some processors), oneDNN's sgemm runs duo's prefill shapes at about 2x OpenBLAS's
// rate ([4096 x 768] x [768 x 3072] on 2 threads: ~400 against ~200 GFLOP/s; `gemm_bench`). duo
// looks `dnnl_sgemm` up at run time in the already-loaded libdnnl (no header, no extra package),
// so a LibTorch without oneDNN simply keeps BLAS.
//
// Both compute the same fp32 product (fp32 inputs, fp32 accumulation); results differ only in
// rounding (summation order). Inside a parallel region (run_tasks) oneDNN, like BLAS there, runs
// on the calling thread only, so a tile's result depends on its shapes alone (the flash backward
// stays bitwise the same for any thread count). Products under autograd (gate training's
// projections) never come here: they keep at::linear; the attention kernels' tiles do.
//
// DUO_GEMM=blas in the environment (or set_gemm_backend) keeps every product on BLAS.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace duo::kernels::cpu {

enum class GemmBackend { kBlas, kOneDnn };

// Whether the process has oneDNN's sgemm.
bool onednn_available();
// The backend gemm_out uses: oneDNN when available, unless DUO_GEMM=blas (DUO_GEMM other than
// "blas" or "onednn" is an error, reported on first use).
GemmBackend gemm_backend();
// Switches the backend (benches and tests run both side by side); kOneDnn where oneDNN is missing
// is an error.
void set_gemm_backend(GemmBackend backend);
// "oneDNN 2.6.x sgemm (avx512_core_bf16)" or "BLAS (at::mm)": what gemm_out runs on.
std::string gemm_summary();

// c = a b + beta c, in fp32. a [M, K] and b [K, N] are fp32 2-D tensors whose rows or columns are
// unit-stride (a row-major matrix or a transposed view of one: w.t() is read in place); c [M, N]
// is fp32 with unit-stride rows (c.stride(1) == 1). beta 0 overwrites c (its old values, even
// NaN, are ignored). Other layouts and dtypes go to at::mm_out / at::addmm_ (BLAS).
void gemm_out(at::Tensor& c, const at::Tensor& a, const at::Tensor& b, float beta = 0.0f);

// Whether gemm_out(c, a, b) runs on oneDNN (the backend is oneDNN, the dtypes fp32, the sizes
// non-zero and every layout one it reads in place), rather than falling back to BLAS.
bool onednn_runs(const at::Tensor& c, const at::Tensor& a, const at::Tensor& b);

}  // namespace duo::kernels::cpu
