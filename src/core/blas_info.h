// What BLAS the process runs, for logs and bench reports (LibTorch's fp32 matmuls, the training
// path's gemms; the inference paths' products go to kernels/cpu/gemm.h).
#pragma once

#include <string>

namespace duo::core {

// The kernel set of the loaded OpenBLAS ("Haswell", "SkylakeX", ...; OPENBLAS_CORETYPE chooses
// it when set); "" when the process's BLAS is not OpenBLAS.
std::string openblas_core();

// One line, e.g. "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ..., kernels Haswell
// (OPENBLAS_CORETYPE=Haswell)"; "not OpenBLAS" for another BLAS.
std::string blas_summary();

}  // namespace duo::core
