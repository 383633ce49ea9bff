// Expected<T>: a value, or the message that says why paybench has none.
//
// paybench's expected failures (payd would not start, a connection was
// refused, a setup request was answered with an error) end the run with a
// message for the operator. They are not API problems with an HTTP status,
// which is what payd's own Result carries, hence this smaller type.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace payd::bench {

struct Failure {
  std::string message;
};

template <typename T>
class Expected {
 public:
  Expected(T value) : state_(std::move(value)) {}            // NOLINT: implicit by design
  Expected(Failure failure) : state_(std::move(failure)) {}  // NOLINT: implicit by design

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
  const std::string& message() const {
    assert(!ok());
    return std::get<1>(state_).message;
  }

 private:
  std::variant<T, Failure> state_;
};

struct Done {};
using Outcome = Expected<Done>;

}  // namespace payd::bench
