// Test suites parameterised over (device, dtype, tolerance), as CTranslate2's ops_test.cc
// instantiates one suite per device: a suite is written once with TEST_P over DeviceCase and
// instantiated per device with the dtypes and tolerances that device supports. A CUDA build adds
// its cases with one more INSTANTIATE_TEST_SUITE_P (cuda_cases() lists none in a CPU build).
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace duo::testing {

struct DeviceCase {
  at::Device device = at::kCPU;
  at::ScalarType dtype = at::kFloat;  // compute dtype of the path under test
  double tol = 0.0;                   // max |fast - reference|, in the units each test states

  at::TensorOptions options() const { return at::TensorOptions().device(device).dtype(dtype); }
  // x moved to this case's device and dtype (references stay on the CPU in fp32 / fp64).
  at::Tensor to(const at::Tensor& x) const { return x.to(device, dtype); }
};

inline std::string dtype_tag(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "fp32";
    case at::kDouble: return "fp64";
    case at::kBFloat16: return "bf16";
    case at::kHalf: return "fp16";
    default: return "other";
  }
}

// How gtest prints a case (test listings, failures): "cpu fp32 tol 2e-05".
inline void PrintTo(const DeviceCase& c, std::ostream* os) {
  *os << c.device.str() << " " << dtype_tag(c.dtype) << " tol " << c.tol;
}

// gtest parameter names: "cpu_fp32".
struct DeviceCaseName {
  std::string operator()(const ::testing::TestParamInfo<DeviceCase>& info) const {
    return info.param.device.str() + "_" + dtype_tag(info.param.dtype);
  }
};

// Max |a - b| over all elements, computed in fp64 on the CPU.
inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kCPU, at::kDouble) - b.to(at::kCPU, at::kDouble)).abs().max().item<double>();
}

}  // namespace duo::testing
