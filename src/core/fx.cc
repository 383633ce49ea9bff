#include "core/fx.h"

#include <cassert>

namespace payd {
namespace {

__extension__ typedef __int128 Wide;

constexpr std::int64_t basis_points_per_unit = 10'000;

Problem bad_rate(const std::string& param, std::string detail) { return invalid_request(std::move(detail), param); }

Wide power_of_ten(int exponent) {
  assert(exponent >= 0 && exponent <= 36);
  Wide value = 1;
  for (int i = 0; i < exponent; ++i) value *= 10;
  return value;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Result<Rate> parse_rate(std::string_view text, const std::string& param) {
  const std::string shape = param + " must be a positive decimal string such as \"1.0842\"";
  if (text.empty() || text.size() > rate_text_bytes_max) return bad_rate(param, shape);
  std::size_t point = text.find('.');
  std::string_view whole = text.substr(0, point);
  std::string_view fraction = point == std::string_view::npos ? std::string_view() : text.substr(point + 1);
  if (whole.empty() || (point != std::string_view::npos && fraction.empty())) return bad_rate(param, shape);
  for (std::string_view part : {whole, fraction}) {
    for (char c : part) {
      if (!is_digit(c)) return bad_rate(param, shape);
    }
  }
  if (fraction.size() > static_cast<std::size_t>(rate_scale_max)) {
    return bad_rate(param, param + " has more than " + std::to_string(rate_scale_max) + " decimals");
  }
  // Significant digits: the digits from the first non-zero one, trailing
  // fractional zeros dropped.
  std::string digits = std::string(whole) + std::string(fraction);
  int scale = static_cast<int>(fraction.size());
  while (scale > 0 && digits.back() == '0') {
    digits.pop_back();
    --scale;
  }
  std::size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return bad_rate(param, param + " must be greater than zero");
  digits.erase(0, first);
  if (digits.size() > static_cast<std::size_t>(rate_significant_digits_max)) {
    return bad_rate(param, param + " has more than " + std::to_string(rate_significant_digits_max) +
                               " significant digits");
  }
  Rate rate{std::stoll(digits), scale};
  assert(rate.mantissa > 0 && rate.mantissa <= rate_mantissa_max);
  return rate;
}

std::string format_rate(const Rate& rate) {
  assert(rate.mantissa > 0 && rate.scale >= 0 && rate.scale <= rate_scale_max);
  std::string digits = std::to_string(rate.mantissa);
  if (rate.scale == 0) return digits;
  auto scale = static_cast<std::size_t>(rate.scale);
  if (digits.size() <= scale) digits.insert(0, scale - digits.size() + 1, '0');
  digits.insert(digits.size() - scale, 1, '.');
  return digits;
}

std::optional<Minor> convert_minor(Minor amount, int from_exponent, int to_exponent, const Rate& rate) {
  assert(amount >= 0);
  assert(from_exponent >= 0 && from_exponent <= currency_exponent_max);
  assert(to_exponent >= 0 && to_exponent <= currency_exponent_max);
  assert(rate.mantissa > 0 && rate.mantissa <= rate_mantissa_max && rate.scale >= 0 && rate.scale <= rate_scale_max);
  // |numerator| < 2^63 * 10^12 * 10^4 < 10^35 < 2^127: no overflow.
  Wide numerator = Wide{amount} * rate.mantissa * power_of_ten(to_exponent);
  Wide denominator = power_of_ten(rate.scale + from_exponent);
  Wide quotient = numerator / denominator;
  Wide twice_remainder = numerator % denominator * 2;
  if (twice_remainder > denominator || (twice_remainder == denominator && quotient % 2 != 0)) quotient += 1;
  if (quotient > Wide{INT64_MAX}) return std::nullopt;
  return static_cast<Minor>(quotient);
}

bool rate_moved_more_than(const Rate& recorded, const Rate& current, std::int64_t tolerance_bps) {
  assert(tolerance_bps >= 0);
  assert(recorded.mantissa > 0 && current.mantissa > 0);
  int scale = recorded.scale > current.scale ? recorded.scale : current.scale;
  // Both at the common scale: < 10^12 * 10^10 each, so the products below
  // stay under 10^22 * 10^4 * 10^18 < 2^127.
  Wide r = Wide{recorded.mantissa} * power_of_ten(scale - recorded.scale);
  Wide c = Wide{current.mantissa} * power_of_ten(scale - current.scale);
  Wide difference = c > r ? c - r : r - c;
  return difference * basis_points_per_unit > Wide{tolerance_bps} * r;
}

}  // namespace payd
