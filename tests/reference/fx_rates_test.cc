#include "reference/fx_rates.h"

#include <gtest/gtest.h>

#include "core/fx.h"

namespace payd::reference {
namespace {

TEST(FxRateCacheText, RoundTrips) {
  FxRate rate{"USD", "EUR", parse_rate("1.0842").value(), 7, 1'767'225'600'123};
  std::optional<FxRate> back = decode_fx_rate(encode_fx_rate(rate));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->base, "USD");
  EXPECT_EQ(back->quote, "EUR");
  EXPECT_EQ(format_rate(back->rate), "1.0842");
  EXPECT_EQ(back->version, 7);
  EXPECT_EQ(back->updated_at_ms, 1'767'225'600'123);
}

TEST(FxRateCacheText, RefusesAnythingElse) {
  for (const char* text : {"", "USD EUR 1.0842 7", "USD EUR 1.0842 7 1 extra", "USD EUR -1 7 1", "USD EUR 1.0842 0 1",
                           "USDX EUR 1.0842 7 1", "USD EUR 1.0842 seven 1", "USD EUR abc 7 1"}) {
    EXPECT_FALSE(decode_fx_rate(text)) << text;
  }
}

}  // namespace
}  // namespace payd::reference
