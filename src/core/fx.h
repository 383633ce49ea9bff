// Exact FX arithmetic: rates as decimals, conversion between minor units.
//
// A rate is never a double. It is a positive decimal mantissa / 10^scale,
// parsed from the decimal string clients send ("1.0842") and rendered back
// in canonical form (no leading zeros, no trailing fractional zeros). A rate
// says how many units of the quote currency one unit of the base currency
// buys: EUR/USD 1.0842 turns 1 EUR into 1.0842 USD.
//
// Conversion works in 128-bit integers and rounds once, half to even, to the
// target currency's minor unit, so it is exact, unbiased and cannot
// overflow for any int64 amount, any rate within the limits below and any
// ISO 4217 exponent (0 to 4).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/money.h"
#include "core/result.h"

namespace payd {

// Limits on a rate (API.md leaves them to us; docs/api.md states them).
inline constexpr int rate_significant_digits_max = 12;
inline constexpr int rate_scale_max = 10;  // digits after the decimal point
inline constexpr std::size_t rate_text_bytes_max = 32;
inline constexpr std::int64_t rate_mantissa_max = 999'999'999'999;  // 12 digits
inline constexpr int currency_exponent_max = 4;  // the largest ISO 4217 minor unit
static_assert(rate_scale_max + currency_exponent_max <= 18, "10^(scale + exponent) must fit an int64");

// mantissa / 10^scale, > 0. Canonical: the mantissa has no trailing zero
// when scale > 0, so equal rates have equal representations.
struct Rate {
  std::int64_t mantissa = 0;
  int scale = 0;
  bool operator==(const Rate&) const = default;
};

// Parses "1.0842": digits, optionally one '.' followed by digits; at most
// rate_scale_max digits after the point as written, at most
// rate_significant_digits_max significant digits, greater than zero. No
// sign, exponent or spaces. A Problem is 400 invalid_request with `param`.
Result<Rate> parse_rate(std::string_view text, const std::string& param = "rate");

// The canonical decimal text of a rate: "1.0842", "0.0067", "150".
std::string format_rate(const Rate& rate);

// `amount` minor units of a currency with `from_exponent` decimals,
// converted at `rate` into minor units of a currency with `to_exponent`
// decimals, rounded half to even:
//   round_half_even(amount * rate * 10^to_exponent / 10^from_exponent).
// nullopt when the result does not fit an int64. Preconditions (asserted):
// amount >= 0, exponents in 0..currency_exponent_max, rate parsed.
std::optional<Minor> convert_minor(Minor amount, int from_exponent, int to_exponent, const Rate& rate);

// Whether `current` differs from `recorded` by more than tolerance_bps
// basis points of `recorded` (|current - recorded| * 10000 > tolerance_bps *
// recorded, exactly). Precondition: tolerance_bps >= 0.
bool rate_moved_more_than(const Rate& recorded, const Rate& current, std::int64_t tolerance_bps);

}  // namespace payd
