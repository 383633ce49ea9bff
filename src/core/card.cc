#include "core/card.h"

#include <algorithm>

namespace payd {
namespace {

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int prefix_value(std::string_view number, std::size_t digits) {
  int value = 0;
  for (std::size_t i = 0; i < digits && i < number.size(); ++i) value = value * 10 + (number[i] - '0');
  return value;
}

}  // namespace

bool luhn_check(std::string_view digits) {
  if (!all_digits(digits)) return false;
  int sum = 0;
  bool double_it = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int digit = *it - '0';
    if (double_it) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double_it = !double_it;
  }
  return sum % 10 == 0;
}

bool is_valid_card_number(std::string_view number) {
  return number.size() >= 12 && number.size() <= 19 && luhn_check(number);
}

std::string_view card_brand(std::string_view number) {
  if (!all_digits(number)) return "unknown";
  if (number[0] == '4') return "visa";
  int two = prefix_value(number, 2);
  if (two >= 51 && two <= 55) return "mastercard";
  int four = prefix_value(number, 4);
  if (number.size() >= 4 && four >= 2221 && four <= 2720) return "mastercard";
  if (two == 34 || two == 37) return "amex";
  return "unknown";
}

}  // namespace payd
