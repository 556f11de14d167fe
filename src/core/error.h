// duo::Error and DUO_CHECK: the one way library code reports a failure.
//
// Messages say what went wrong, what was expected and what was found, naming the file,
// key or tensor involved, e.g.
//   model.safetensors: tensor 'model.layers.3.self_attn.k_proj.weight' has wrong shape;
//   expected [512, 4096], got [1024, 4096]
// Library code throws; only main() catches, prints "error: <message>" and returns 1.
#pragma once

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdexcept>
#include <string>

namespace duo {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws duo::Error with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace duo

// DUO_CHECK(cond, "fmt {}", args...): throws duo::Error with the formatted message when !cond.
#define DUO_CHECK(cond, ...)                 \
  do {                                       \
    if (!(cond)) ::duo::fail(__VA_ARGS__);   \
  } while (0)

// DUO_ASSERT(cond): a precondition the caller has already validated (kernels assert, front ends
// validate with DUO_CHECK). Failing it is a bug in duo, reported with the expression and place.
#define DUO_ASSERT(cond)                                                                              \
  do {                                                                                                \
    if (!(cond)) ::duo::fail("internal error: assertion '{}' failed at {}:{}", #cond, __FILE__, __LINE__); \
  } while (0)
