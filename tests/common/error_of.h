// Test helper: runs `f` and returns the message of the duo::Error it throws, or "(no error)".
#pragma once

#include <string>
#include <utility>

#include "core/error.h"

namespace duo::testing {

template <class F>
std::string error_of(F&& f) {
  try {
    std::forward<F>(f)();
  } catch (const duo::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace duo::testing
