#include "core/currency.h"

#include <gtest/gtest.h>

namespace payd {
namespace {

TEST(Currency, FindsActiveCodesWithTheirMinorUnits) {
  struct Case {
    const char* code;
    int minor_units;
  };
  for (const Case& c : {Case{"USD", 2}, Case{"EUR", 2}, Case{"GBP", 2}, Case{"JPY", 0}, Case{"KRW", 0},
                        Case{"CLP", 0}, Case{"BHD", 3}, Case{"KWD", 3}, Case{"TND", 3}, Case{"CHF", 2},
                        Case{"AED", 2}, Case{"ZMW", 2}}) {
    const Currency* currency = find_currency(c.code);
    ASSERT_NE(currency, nullptr) << c.code;
    EXPECT_EQ(currency->code, c.code);
    EXPECT_EQ(currency->minor_units, c.minor_units) << c.code;
  }
}

TEST(Currency, RejectsXCodes) {
  for (const char* code : {"XXX", "XTS", "XAU", "XAG", "XPT", "XPD", "XDR", "XBA", "XSU", "XUA"}) {
    EXPECT_EQ(find_currency(code), nullptr) << code;
  }
}

TEST(Currency, RejectsFundCodes) {
  for (const char* code : {"BOV", "CHE", "CHW", "CLF", "COU", "MXV", "USN", "UYI", "UYW"}) {
    EXPECT_EQ(find_currency(code), nullptr) << code;
  }
}

TEST(Currency, RejectsUnknownAndMalformedCodes) {
  for (const char* code : {"ABC", "ZZZ", "AAA", "usd", "Usd", "uSD", "US", "USDD", "", " USD", "USD ", "840"}) {
    EXPECT_EQ(find_currency(code), nullptr) << '"' << code << '"';
  }
}

}  // namespace
}  // namespace payd
