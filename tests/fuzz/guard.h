// How every fuzz target tells a clean rejection from a bug (see targets.h).
#pragma once

#include <exception>
#include <string>

#include "core/error.h"
#include "fuzz/targets.h"

namespace duo::fuzz {

// Runs body(); returns kAccepted when it returns, kRejected when it throws a duo::Error with a
// message that is not an internal assertion. Anything else thrown is a bug.
template <class Body>
Outcome guarded(const char* target, Body&& body) {
  try {
    body();
    return Outcome::kAccepted;
  } catch (const duo::Error& e) {
    const std::string msg = e.what();
    if (msg.empty()) fuzz_bug(target, "duo::Error with an empty message");
    if (msg.rfind("internal error", 0) == 0) fuzz_bug(target, msg);
    return Outcome::kRejected;
  } catch (const std::exception& e) {
    fuzz_bug(target, std::string("exception other than duo::Error escaped: ") + e.what());
  } catch (...) {
    fuzz_bug(target, "a non-std exception escaped");
  }
}

// Aborts through fuzz_bug when `cond` is false.
inline void expect(bool cond, const char* target, const std::string& what) {
  if (!cond) fuzz_bug(target, what);
}

}  // namespace duo::fuzz
