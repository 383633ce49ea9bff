// Result<T>: a value or the Problem that explains why there is none.
//
// Expected failures (bad input, business refusals, an unreachable ledger) are
// values in payd, never exceptions. A Result is either ok() and holds a T, or
// holds a Problem whose code is one of the stable codes of the API.
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "core/problem.h"

namespace payd {

template <typename T>
class Result {
 public:
  Result(T value) : state_(std::move(value)) {}              // NOLINT: implicit by design
  Result(Problem problem) : state_(std::move(problem)) {}    // NOLINT: implicit by design

  bool ok() const { return state_.index() == 0; }

  T& value() & {
    assert(ok());
    return std::get<0>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(state_));
  }
  const Problem& problem() const {
    assert(!ok());
    return std::get<1>(state_);
  }
  Problem&& take_problem() {
    assert(!ok());
    return std::get<1>(std::move(state_));
  }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }

 private:
  std::variant<T, Problem> state_;
};

// Result<void>: success, or a Problem.
struct Ok {};
using Status = Result<Ok>;

}  // namespace payd
