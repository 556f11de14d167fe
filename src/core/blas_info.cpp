// OpenBLAS's own report of itself, looked up at run time as in threads.cpp, so that duo links
// against any BLAS.
#include "core/blas_info.h"

#include <dlfcn.h>

#include <cstdlib>
#include <string>

namespace duo::core {
namespace {

std::string call_string_fn(const char* symbol) {
  using Fn = char* (*)();
  const auto fn = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, symbol));
  if (fn == nullptr) return "";
  const char* s = fn();
  std::string out = s != nullptr ? s : "";
  while (!out.empty() && (out.back() == ' ' || out.back() == '\n')) out.pop_back();  // OpenBLAS pads
  return out;
}

}  // namespace

std::string openblas_core() { return call_string_fn("openblas_get_corename"); }

std::string blas_summary() {
  const std::string config = call_string_fn("openblas_get_config");
  if (config.empty()) return "not OpenBLAS";
  const char* env = std::getenv("OPENBLAS_CORETYPE");
  return config + ", kernels " + openblas_core() + " (OPENBLAS_CORETYPE=" + (env != nullptr ? env : "-") + ")";
}

}  // namespace duo::core
