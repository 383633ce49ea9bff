// The BIN table: what a card number's first digits say about the card.
//
// A small CSV shipped with payd (share/bins.csv) maps prefixes of 6 to 8
// digits to {brand, country, type}; a lookup takes the longest prefix that
// matches. The table is read once at start; a malformed file stops payd
// with the file's line number and the reason, never a half-loaded table.
//
// Bins is the one place that answers lookups (GET /v1/bins, tokenisation).
// Today it reads the in-memory table; a cache for a remote BIN service
// (Redis `bin:{bin}`, 24 h) belongs inside Bins::lookup() and nowhere else.
//
// Thread-safe: the table is immutable after loading.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"

namespace payd::reference {

inline constexpr std::size_t bin_digits_min = 6;
inline constexpr std::size_t bin_digits_max = 8;
inline constexpr std::size_t bin_table_rows_max = 1'000'000;
inline constexpr std::uintmax_t bin_table_bytes_max = 64 * 1024 * 1024;
static_assert(bin_digits_min <= bin_digits_max);

struct BinRange {
  std::string prefix;   // 6 to 8 digits
  std::string brand;    // visa, mastercard, amex or unknown (API.md's brands)
  std::string country;  // ISO 3166-1 alpha-2, upper case
  std::string type;     // credit, debit or prepaid
};

class BinTable {
 public:
  // Parses the CSV text: a header line `prefix,brand,country,type`, then
  // one range per line; blank lines and lines starting with '#' are
  // skipped, a trailing '\r' is ignored. A Problem (internal_error) names
  // `source` and the line of the first error: a bad field, a duplicate
  // prefix, too many rows.
  static Result<BinTable> parse(std::string_view csv, const std::string& source);

  // The range with the longest prefix of `digits` (at most its first
  // bin_digits_max digits); nullptr when none.
  const BinRange* longest_prefix_match(std::string_view digits) const;
  std::size_t size() const { return ranges_.size(); }

 private:
  std::unordered_map<std::string, BinRange> ranges_;  // by prefix
};

// Reads the BIN table at `configured`, or when it is empty at the first
// default location that exists: bins.csv beside the executable (the build
// copies it there), ../share/payd/bins.csv from the executable, then the
// source tree's share/bins.csv. A Problem (internal_error) says what could
// not be read or parsed, or where it looked.
Result<BinTable> load_bin_table(const std::string& configured);

class Bins {
 public:
  explicit Bins(BinTable table) : table_(std::move(table)) {}

  // What is known of a card from its first 6 to 8 digits (or more: only the
  // first bin_digits_max count); nullopt when the table has no range.
  std::optional<BinRange> lookup(std::string_view digits) const;

 private:
  BinTable table_;
};

}  // namespace payd::reference
