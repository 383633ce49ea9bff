// The BIN table: CSV parsing with line-numbered errors, longest prefix match.
#include "reference/bins.h"

#include <gtest/gtest.h>

namespace payd::reference {
namespace {

constexpr std::string_view good_csv =
    "# comment\n"
    "prefix,brand,country,type\r\n"
    "\n"
    "424242,visa,US,credit\r\n"
    "42424242,visa,GB,debit\n"
    "4242421,visa,FR,prepaid\n"
    "555555,mastercard,US,debit";

BinTable table() {
  Result<BinTable> parsed = BinTable::parse(good_csv, "test.csv");
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.problem().detail);
  return parsed.ok() ? std::move(parsed.value()) : BinTable();
}

std::string error_of(std::string_view csv) {
  Result<BinTable> parsed = BinTable::parse(csv, "bins.csv");
  return parsed.ok() ? std::string("parsed") : parsed.problem().detail;
}

TEST(BinTable, ParsesRangesSkippingCommentsBlankLinesAndCarriageReturns) {
  BinTable bins = table();
  EXPECT_EQ(bins.size(), 4u);
  const BinRange* range = bins.longest_prefix_match("555555");
  ASSERT_NE(range, nullptr);
  EXPECT_EQ(range->prefix, "555555");
  EXPECT_EQ(range->brand, "mastercard");
  EXPECT_EQ(range->country, "US");
  EXPECT_EQ(range->type, "debit");
}

TEST(BinTable, LongestPrefixWins) {
  BinTable bins = table();
  auto country = [&](std::string_view digits) {
    const BinRange* range = bins.longest_prefix_match(digits);
    return range ? range->country : std::string("none");
  };
  EXPECT_EQ(country("424242"), "US");
  EXPECT_EQ(country("4242420"), "US");
  EXPECT_EQ(country("4242421"), "FR") << "7 digits beat 6";
  EXPECT_EQ(country("42424219"), "FR");
  EXPECT_EQ(country("42424242"), "GB") << "8 digits beat 7 and 6";
  EXPECT_EQ(country("4242424242424242"), "GB") << "a whole card number: only its first 8 digits count";
  EXPECT_EQ(country("4000000000000002"), "none");
  EXPECT_EQ(country("42424"), "none") << "fewer than 6 digits never match";
  EXPECT_EQ(country(""), "none");
}

TEST(BinTable, MalformedFilesNameTheLineAndTheReason) {
  EXPECT_EQ(error_of(""), "bins.csv: no header line, no ranges");
  EXPECT_EQ(error_of("424242,visa,US,credit\n"),
            "bins.csv line 1: the first line must be the header 'prefix,brand,country,type'");
  const std::string header = "prefix,brand,country,type\n";
  EXPECT_EQ(error_of(header + "42424,visa,US,credit\n"), "bins.csv line 2: prefix '42424' is not 6 to 8 digits");
  EXPECT_EQ(error_of(header + "424242424,visa,US,credit\n"),
            "bins.csv line 2: prefix '424242424' is not 6 to 8 digits");
  EXPECT_EQ(error_of(header + "42424a,visa,US,credit\n"), "bins.csv line 2: prefix '42424a' is not 6 to 8 digits");
  EXPECT_EQ(error_of(header + "\n# fine\n424242,Visa,US,credit\n"),
            "bins.csv line 4: brand 'Visa' is not visa, mastercard, amex or unknown");
  EXPECT_EQ(error_of(header + "424242,visa,us,credit\n"), "bins.csv line 2: country 'us' is not two upper-case letters");
  EXPECT_EQ(error_of(header + "424242,visa,USA,credit\n"), "bins.csv line 2: country 'USA' is not two upper-case letters");
  EXPECT_EQ(error_of(header + "424242,visa,US,charge\n"),
            "bins.csv line 2: type 'charge' is not credit, debit or prepaid");
  EXPECT_EQ(error_of(header + "424242,visa,US\n"),
            "bins.csv line 2: expected 4 fields (prefix,brand,country,type), found 3");
  EXPECT_EQ(error_of(header + "424242,visa,US,credit,extra\n"),
            "bins.csv line 2: expected 4 fields (prefix,brand,country,type), found 5");
  EXPECT_EQ(error_of(header + "\"424242\",visa,US,credit\n"),
            "bins.csv line 2: prefix '\"424242\"' is not 6 to 8 digits");
  EXPECT_EQ(error_of(header + "424242,visa,US,credit\n424242,visa,GB,debit\n"),
            "bins.csv line 3: prefix 424242 appears twice");
}

TEST(BinTable, LoadsTheShippedTableByDefaultAndReportsMissingFiles) {
  Result<BinTable> shipped = load_bin_table("");
  ASSERT_TRUE(shipped.ok()) << shipped.problem().detail;
  for (std::string_view test_bin : {"424242", "555555", "400000"}) {
    EXPECT_NE(shipped->longest_prefix_match(test_bin), nullptr) << "the test cards' BIN " << test_bin;
  }
  Result<BinTable> missing = load_bin_table("/nonexistent/bins.csv");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.problem().detail.find("/nonexistent/bins.csv"), std::string::npos) << missing.problem().detail;
}

TEST(Bins, LookupCopiesTheRange) {
  Bins bins(table());
  std::optional<BinRange> range = bins.lookup("42424242");
  ASSERT_TRUE(range.has_value());
  EXPECT_EQ(range->type, "debit");
  EXPECT_FALSE(bins.lookup("999999").has_value());
}

}  // namespace
}  // namespace payd::reference
