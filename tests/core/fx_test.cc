// Exact FX arithmetic: rate parsing, conversion with half-even rounding
// across currency exponents, drift against a tolerance.
#include "core/fx.h"

#include <gtest/gtest.h>

namespace payd {
namespace {

Rate rate(std::string_view text) {
  Result<Rate> parsed = parse_rate(text);
  EXPECT_TRUE(parsed.ok()) << text;
  return parsed.ok() ? parsed.value() : Rate{1, 0};
}

TEST(FxRate, ParsesToCanonicalMantissaAndScale) {
  EXPECT_EQ(rate("1.0842"), (Rate{10842, 4}));
  EXPECT_EQ(rate("1"), (Rate{1, 0}));
  EXPECT_EQ(rate("150"), (Rate{150, 0}));
  EXPECT_EQ(rate("1.50"), (Rate{15, 1})) << "trailing fractional zeros are not significant";
  EXPECT_EQ(rate("2.000"), (Rate{2, 0}));
  EXPECT_EQ(rate("0.0067"), (Rate{67, 4}));
  EXPECT_EQ(rate("007.5"), (Rate{75, 1})) << "leading zeros are not significant";
  EXPECT_EQ(rate("0.0000000001"), (Rate{1, 10})) << "ten decimals";
  EXPECT_EQ(rate("999999999999"), (Rate{999'999'999'999, 0})) << "twelve significant digits";
  EXPECT_EQ(rate("12345678.9012"), (Rate{123'456'789'012, 4}));
}

TEST(FxRate, FormatsCanonically) {
  EXPECT_EQ(format_rate(Rate{10842, 4}), "1.0842");
  EXPECT_EQ(format_rate(Rate{67, 4}), "0.0067");
  EXPECT_EQ(format_rate(Rate{150, 0}), "150");
  EXPECT_EQ(format_rate(Rate{1, 10}), "0.0000000001");
  EXPECT_EQ(format_rate(rate("1.50")), "1.5");
  for (std::string_view text : {"1.0842", "0.0067", "150", "123.456789", "0.5"}) {
    EXPECT_EQ(format_rate(rate(text)), text) << "canonical text survives a round trip";
  }
}

TEST(FxRate, RefusesWhatIsNotAPositiveBoundedDecimal) {
  for (std::string_view text :
       {"", "0", "0.0", "000", "-1", "+1", "1e3", "1E-2", ".5", "5.", "1.2.3", " 1", "1 ", "1,5", "0x10", "abc",
        "NaN", "Infinity", "1.00000000001", "1234567890123", "1.23456789012", "0000000000000000000000000000000001"}) {
    Result<Rate> parsed = parse_rate(text);
    EXPECT_FALSE(parsed.ok()) << "'" << text << "'";
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.problem().code, "invalid_request");
      EXPECT_EQ(parsed.problem().param, "rate");
    }
  }
}

TEST(FxConvert, SameExponentRoundsHalfToEven) {
  // 1.5 rounds to 2, 2.5 to 2, 3.5 to 4: no bias either way.
  EXPECT_EQ(convert_minor(1, 2, 2, rate("1.5")), 2);
  EXPECT_EQ(convert_minor(5, 2, 2, rate("0.5")), 2);
  EXPECT_EQ(convert_minor(7, 2, 2, rate("0.5")), 4);
  EXPECT_EQ(convert_minor(10'000, 2, 2, rate("1.0842")), 10'842);
  EXPECT_EQ(convert_minor(12'345, 2, 2, rate("1.0842")), 13'384) << "13384.449 rounds down";
  EXPECT_EQ(convert_minor(12'346, 2, 2, rate("1.0842")), 13'386) << "13385.5332 rounds up";
  EXPECT_EQ(convert_minor(0, 2, 2, rate("1.0842")), 0);
}

TEST(FxConvert, AccountsForDifferentExponents) {
  // 1000 JPY (exponent 0) at 0.0067 USD per JPY = 6.70 USD = 670 cents.
  EXPECT_EQ(convert_minor(1'000, 0, 2, rate("0.0067")), 670);
  // 1 JPY = 0.67 cents rounds to 1 cent; 10.00 USD at 149.5 JPY = 1495 JPY.
  EXPECT_EQ(convert_minor(1, 0, 2, rate("0.0067")), 1);
  EXPECT_EQ(convert_minor(1'000, 2, 0, rate("149.5")), 1'495);
  // 0.05 USD at 149.5 = 7.475 JPY rounds to 7; 0.15 USD = 22.425 JPY to 22.
  EXPECT_EQ(convert_minor(5, 2, 0, rate("149.5")), 7);
  EXPECT_EQ(convert_minor(15, 2, 0, rate("149.5")), 22);
  // 1.00 EUR at 0.33 KWD (exponent 3) = 0.330 KWD = 330 fils.
  EXPECT_EQ(convert_minor(100, 2, 3, rate("0.33")), 330);
  // 1.235 KWD (1235 fils) at 1 USD per KWD: 123.5 cents, half to even: 124.
  EXPECT_EQ(convert_minor(1'235, 3, 2, rate("1")), 124);
  EXPECT_EQ(convert_minor(1'245, 3, 2, rate("1")), 124) << "124.5 rounds to the even 124";
  // KWD (3) to JPY (0): 1.2345 KWD is not expressible, 1.234 KWD at 480.5 = 592.937 JPY.
  EXPECT_EQ(convert_minor(1'234, 3, 0, rate("480.5")), 593);
}

TEST(FxConvert, NeverOverflowsAndReportsResultsOutsideInt64) {
  EXPECT_EQ(convert_minor(amount_max, 2, 2, rate("1")), amount_max);
  EXPECT_EQ(convert_minor(amount_max, 0, 4, rate("999999999999")), std::nullopt);
  EXPECT_EQ(convert_minor(INT64_MAX, 4, 0, rate("0.0000000001")), 92'234);  // 92233.72...
  EXPECT_EQ(convert_minor(amount_max, 2, 2, rate("9223.372")), 9'223'372'000'000'000'000);
  EXPECT_EQ(convert_minor(amount_max, 2, 2, rate("9223.373")), std::nullopt);
}

TEST(FxDrift, ComparesExactlyAgainstBasisPoints) {
  Rate recorded = rate("1.0000");
  EXPECT_FALSE(rate_moved_more_than(recorded, rate("1.005"), 50)) << "exactly 0.5% is within the tolerance";
  EXPECT_TRUE(rate_moved_more_than(recorded, rate("1.0050001"), 50));
  EXPECT_FALSE(rate_moved_more_than(recorded, rate("0.995"), 50));
  EXPECT_TRUE(rate_moved_more_than(recorded, rate("0.9949"), 50)) << "downwards too";
  EXPECT_FALSE(rate_moved_more_than(recorded, recorded, 0));
  EXPECT_TRUE(rate_moved_more_than(recorded, rate("1.0000000001"), 0));
  EXPECT_TRUE(rate_moved_more_than(rate("1.0842"), rate("1.0900"), 50)) << "0.53%";
  EXPECT_FALSE(rate_moved_more_than(rate("1.0842"), rate("1.0880"), 50)) << "0.35%";
  EXPECT_FALSE(rate_moved_more_than(rate("999999999999"), rate("0.0000000001"), 10'000'000'000)) << "no overflow";
}

}  // namespace
}  // namespace payd
