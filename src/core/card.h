// Card numbers: Luhn check and brand from the network prefix.
//
// Pure functions on digit strings. A card number is never logged, cached or
// stored in plain text; these functions do not keep it either.
#pragma once

#include <string_view>

namespace payd {

// True when `number` is 12 to 19 ASCII digits and passes the Luhn check.
bool is_valid_card_number(std::string_view number);

// "visa", "mastercard", "amex" or "unknown" (API.md: 4 -> visa; 51-55 and
// 2221-2720 -> mastercard; 34, 37 -> amex).
std::string_view card_brand(std::string_view number);

bool luhn_check(std::string_view digits);

}  // namespace payd
