// The device backends behind attention.h and decode.h (internal to src/attention). The public
// functions validate their inputs once and then call exactly one of these; a backend may assume
// valid inputs. A CUDA backend plugs in here as attend_cuda / attend_chunk_cuda.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "attention/attention.h"
#include "attention/decode.h"

namespace duo::attention {

// kernels/cpu: blockwise flash forward/backward (autograd_ops.h) and the split-cache decode kernel.
at::Tensor attend_cpu(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const LayerSpec& spec);
at::Tensor attend_chunk_cpu(const at::Tensor& q, const at::Tensor& k_new, const at::Tensor& v_new, int64_t p0,
                            const CacheView& cache, HeadKind kind, const LayerSpec& spec);

}  // namespace duo::attention

namespace duo::attention {

// Shared by the front ends: dtypes equal and supported (float32, bfloat16, float64), one device.
void check_dtype_and_device(const char* what, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);
// Refuses a device this build has no backend for.
[[noreturn]] void no_backend(const char* what, const at::Device& device);

}  // namespace duo::attention
