#include "core/card.h"

#include <string>

#include <gtest/gtest.h>

namespace payd {
namespace {

// `prefix` padded with zeros to `length - 1` digits, then the Luhn check digit.
std::string luhn_number(std::string prefix, std::size_t length) {
  prefix.resize(length - 1, '0');
  for (char check = '0'; check <= '9'; ++check) {
    if (luhn_check(prefix + check)) return prefix + check;
  }
  ADD_FAILURE() << "no check digit for " << prefix;
  return {};
}

TEST(Card, LuhnAcceptsKnownNumbers) {
  EXPECT_TRUE(luhn_check("79927398713"));
  EXPECT_TRUE(luhn_check("4242424242424242"));
  EXPECT_TRUE(luhn_check("5555555555554444"));
  EXPECT_TRUE(luhn_check("378282246310005"));
  EXPECT_TRUE(luhn_check("4000000000000002"));
  EXPECT_TRUE(luhn_check("4000000000009995"));
  EXPECT_TRUE(luhn_check("4000000000000259"));
  EXPECT_TRUE(luhn_check("4000000000000119"));
}

TEST(Card, LuhnRejectsWrongCheckDigitAndNonDigits) {
  EXPECT_FALSE(luhn_check("79927398710"));
  EXPECT_FALSE(luhn_check("4242424242424241"));
  EXPECT_FALSE(luhn_check("4242424242424243"));
  EXPECT_FALSE(luhn_check(""));
  EXPECT_FALSE(luhn_check("4242 4242 4242 4242"));
  EXPECT_FALSE(luhn_check("4242-4242-4242-4242"));
  EXPECT_FALSE(luhn_check("42424242424242a2"));
}

TEST(Card, LuhnDetectsEverySingleDigitChange) {
  const std::string valid = "4242424242424242";
  for (std::size_t i = 0; i < valid.size(); ++i) {
    for (char digit = '0'; digit <= '9'; ++digit) {
      if (digit == valid[i]) continue;
      std::string changed = valid;
      changed[i] = digit;
      EXPECT_FALSE(luhn_check(changed)) << changed;
    }
  }
}

TEST(Card, ValidNumbersAreTwelveToNineteenDigits) {
  for (std::size_t length = 12; length <= 19; ++length) {
    std::string number = luhn_number("4", length);
    EXPECT_TRUE(is_valid_card_number(number)) << number;
  }
  for (std::size_t length : {2u, 8u, 11u, 20u, 21u}) {
    std::string number = luhn_number("4", length);
    ASSERT_TRUE(luhn_check(number));
    EXPECT_FALSE(is_valid_card_number(number)) << number << " has " << length << " digits";
  }
  EXPECT_FALSE(is_valid_card_number(""));
  EXPECT_FALSE(is_valid_card_number("4242424242424241"));
  EXPECT_FALSE(is_valid_card_number(" 4242424242424242"));
  EXPECT_FALSE(is_valid_card_number("4242424242424242 "));
  EXPECT_FALSE(is_valid_card_number("+4242424242424242"));
}

TEST(Card, BrandFromNetworkPrefix) {
  EXPECT_EQ(card_brand("4242424242424242"), "visa");
  EXPECT_EQ(card_brand("4000000000000002"), "visa");
  EXPECT_EQ(card_brand("5555555555554444"), "mastercard");
  EXPECT_EQ(card_brand("5105105105105100"), "mastercard");
  EXPECT_EQ(card_brand("378282246310005"), "amex");
  EXPECT_EQ(card_brand("341111111111111"), "amex");
  EXPECT_EQ(card_brand("6011111111111117"), "unknown");
  EXPECT_EQ(card_brand("3530111333300000"), "unknown");
}

TEST(Card, MastercardRanges) {
  for (int prefix = 51; prefix <= 55; ++prefix) {
    EXPECT_EQ(card_brand(luhn_number(std::to_string(prefix), 16)), "mastercard") << prefix;
  }
  EXPECT_EQ(card_brand(luhn_number("50", 16)), "unknown");
  EXPECT_EQ(card_brand(luhn_number("56", 16)), "unknown");
  EXPECT_EQ(card_brand(luhn_number("2220", 16)), "unknown");
  EXPECT_EQ(card_brand(luhn_number("2221", 16)), "mastercard");
  EXPECT_EQ(card_brand(luhn_number("2500", 16)), "mastercard");
  EXPECT_EQ(card_brand(luhn_number("2720", 16)), "mastercard");
  EXPECT_EQ(card_brand(luhn_number("2721", 16)), "unknown");
  EXPECT_EQ(card_brand(luhn_number("22209", 16)), "unknown");
  EXPECT_EQ(card_brand(luhn_number("27209", 16)), "mastercard");
}

TEST(Card, AmexPrefixesOnly34And37) {
  EXPECT_EQ(card_brand(luhn_number("34", 15)), "amex");
  EXPECT_EQ(card_brand(luhn_number("37", 15)), "amex");
  EXPECT_EQ(card_brand(luhn_number("33", 15)), "unknown");
  EXPECT_EQ(card_brand(luhn_number("35", 15)), "unknown");
  EXPECT_EQ(card_brand(luhn_number("36", 15)), "unknown");
  EXPECT_EQ(card_brand(luhn_number("38", 15)), "unknown");
}

TEST(Card, BrandOfNonDigitsIsUnknown) {
  EXPECT_EQ(card_brand(""), "unknown");
  EXPECT_EQ(card_brand("x242424242424242"), "unknown");
  EXPECT_EQ(card_brand("4242 4242 4242 4242"), "unknown");
}

}  // namespace
}  // namespace payd
