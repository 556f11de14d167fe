// One-row products y = W x (+ b) for decoding: several weight matrices in one pass of the task
// pool (the q/k/v projections of a layer, or its gate and up projections, as one dispatch).
//
// Decoding one token reads every weight matrix once, so the bytes of W are the cost. The rows of
// all matrices of one call are split into about 4 tasks per thread; each task is a run of dot
// products over its rows (dot_rows for fp32 W, dot_rows_half for bf16/f16 W widened in
// registers), x and the sums in fp32. BLAS gemm with M = 1 would copy (pack) W on every call.
#pragma once

#include <cstdint>

#include "kernels/cpu/half_rows.h"

namespace duo::kernels::cpu {

struct MatVec {
  const void* w = nullptr;          // [rows, in] row-major, contiguous, of `type`
  RowType type = RowType::kF32;
  int64_t rows = 0;
  const float* bias = nullptr;      // [rows] or null
  float* y = nullptr;               // [rows] output
};

// y_i = W_i x (+ b_i) for every i < n; x [in] fp32. Each matrix has `in` columns.
void matvec(const float* x, int64_t in, const MatVec* mats, int64_t n);

}  // namespace duo::kernels::cpu
