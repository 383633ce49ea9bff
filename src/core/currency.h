// ISO 4217: the active alphabetic currency codes payd accepts.
//
// X-codes (XXX, XTS, XAU, ...) are not currencies for payments and are
// rejected. Codes are upper case, exactly three letters.
#pragma once

#include <string_view>

namespace payd {

struct Currency {
  std::string_view code;
  int minor_units;  // digits after the decimal point: 2 for USD, 0 for JPY
};

// nullptr when `code` is not an active ISO 4217 currency for payments.
const Currency* find_currency(std::string_view code);

}  // namespace payd
