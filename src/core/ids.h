// Ids: server-made, prefixed by type, sorting by creation time.
//
// An id is a type prefix (`acct_`, `tr_`, ...) and 24 characters of
// Crockford base32: 48 bits of milliseconds since the Unix epoch, then 72
// bits that are random at the start of each millisecond and incremented
// within it, so ids made by one generator are strictly increasing and ids
// made by two nodes do not collide in practice. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace payd {

enum class IdType { account, merchant, transfer, deposit, payment, refund, payment_method, session, entry, request };

std::string_view id_prefix(IdType type);

class IdGenerator {
 public:
  IdGenerator(Clock& clock, Random& random) : clock_(clock), random_(random) {}
  std::string next(IdType type);

 private:
  Clock& clock_;
  Random& random_;
  std::mutex mutex_;
  std::int64_t last_ms_ = -1;
  std::uint64_t high_ = 0;  // upper 8 of the 72 counter bits
  std::uint64_t low_ = 0;   // lower 64 of the 72 counter bits
};

// True when `id` has the prefix of `type` and a well-formed body.
bool is_id_of(IdType type, std::string_view id);

inline constexpr std::size_t id_body_length = 24;

}  // namespace payd
