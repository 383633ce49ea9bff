// Money arithmetic: int64 minor units, checked, never a float.
//
// Amounts in requests are 1..amount_max. Balances may be negative (the
// external account, overdrafts) but never overflow: every sum goes through
// checked_add/checked_subtract, which report overflow instead of wrapping.
#pragma once

#include <cstdint>
#include <optional>

namespace payd {

using Minor = std::int64_t;  // an amount in a currency's minor unit

inline constexpr Minor amount_min = 1;
inline constexpr Minor amount_max = 1'000'000'000'000'000;  // 10^15, API.md
// Fee basis points: 10000 bps is 100%.
inline constexpr std::int64_t fee_bps_max = 10'000;
static_assert(amount_max / fee_bps_max * fee_bps_max + fee_bps_max * fee_bps_max < INT64_MAX,
              "compute_fee splits the amount so that no product overflows");

inline bool amount_in_range(Minor amount) { return amount >= amount_min && amount <= amount_max; }

// nullopt on overflow.
inline std::optional<Minor> checked_add(Minor a, Minor b) {
  Minor sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) return std::nullopt;
  return sum;
}

inline std::optional<Minor> checked_subtract(Minor a, Minor b) {
  Minor difference = 0;
  if (__builtin_sub_overflow(a, b, &difference)) return std::nullopt;
  return difference;
}

// fee_fixed + round_half_up(amount * fee_bps / 10000), capped at amount.
// Preconditions (asserted): 0 <= amount <= amount_max, 0 <= fee_bps <= 10000,
// fee_fixed >= 0.
Minor compute_fee(Minor amount, std::int64_t fee_bps, Minor fee_fixed);

}  // namespace payd
