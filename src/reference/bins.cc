#include "reference/bins.h"

#include <algorithm>
#include <cassert>
#include <fstream>
#include <iterator>

namespace payd::reference {
namespace {

constexpr std::string_view header = "prefix,brand,country,type";

bool all_digits(std::string_view text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

bool is_country(std::string_view text) {
  return text.size() == 2 && text[0] >= 'A' && text[0] <= 'Z' && text[1] >= 'A' && text[1] <= 'Z';
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  for (;;) {
    std::size_t comma = line.find(',', start);
    fields.push_back(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

// Why a data line is not a range; empty when it is one.
std::string check_range(const std::vector<std::string_view>& fields) {
  if (fields.size() != 4) {
    return "expected 4 fields (prefix,brand,country,type), found " + std::to_string(fields.size());
  }
  if (!all_digits(fields[0]) || fields[0].size() < bin_digits_min || fields[0].size() > bin_digits_max) {
    return "prefix '" + std::string(fields[0]) + "' is not 6 to 8 digits";
  }
  if (fields[1] != "visa" && fields[1] != "mastercard" && fields[1] != "amex" && fields[1] != "unknown") {
    return "brand '" + std::string(fields[1]) + "' is not visa, mastercard, amex or unknown";
  }
  if (!is_country(fields[2])) return "country '" + std::string(fields[2]) + "' is not two upper-case letters";
  if (fields[3] != "credit" && fields[3] != "debit" && fields[3] != "prepaid") {
    return "type '" + std::string(fields[3]) + "' is not credit, debit or prepaid";
  }
  return {};
}

std::filesystem::path executable_folder() {
  std::error_code error;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::filesystem::path() : self.parent_path();
}

}  // namespace

Result<BinTable> BinTable::parse(std::string_view csv, const std::string& source) {
  BinTable table;
  bool header_seen = false;
  std::size_t line_number = 0;
  std::size_t start = 0;
  while (start < csv.size()) {
    std::size_t end = csv.find('\n', start);
    if (end == std::string_view::npos) end = csv.size();
    std::string_view line = csv.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    auto fail = [&](const std::string& reason) {
      return make_problem("internal_error", source + " line " + std::to_string(line_number) + ": " + reason);
    };
    if (!header_seen) {
      if (line != header) return fail("the first line must be the header '" + std::string(header) + "'");
      header_seen = true;
      continue;
    }
    std::vector<std::string_view> fields = split_fields(line);
    if (std::string reason = check_range(fields); !reason.empty()) return fail(reason);
    if (table.ranges_.size() >= bin_table_rows_max) return fail("more than " + std::to_string(bin_table_rows_max) + " ranges");
    BinRange range{std::string(fields[0]), std::string(fields[1]), std::string(fields[2]), std::string(fields[3])};
    std::string prefix = range.prefix;
    if (!table.ranges_.emplace(std::move(prefix), std::move(range)).second) {
      return fail("prefix " + std::string(fields[0]) + " appears twice");
    }
  }
  if (!header_seen) return make_problem("internal_error", source + ": no header line, no ranges");
  return table;
}

const BinRange* BinTable::longest_prefix_match(std::string_view digits) const {
  std::size_t length = std::min(digits.size(), bin_digits_max);
  for (; length >= bin_digits_min; --length) {
    auto it = ranges_.find(std::string(digits.substr(0, length)));
    if (it != ranges_.end()) {
      assert(digits.substr(0, it->first.size()) == it->first);
      return &it->second;
    }
  }
  return nullptr;
}

Result<BinTable> load_bin_table(const std::string& configured) {
  std::filesystem::path path = configured;
  if (configured.empty()) {
    std::filesystem::path beside = executable_folder();
    std::vector<std::filesystem::path> candidates = {beside / "bins.csv", beside / ".." / "share" / "payd" / "bins.csv",
                                                     std::filesystem::path(PAYD_SOURCE_DATA_DIR) / "bins.csv"};
    std::string looked;
    path.clear();
    for (const auto& candidate : candidates) {
      std::error_code error;
      if (std::filesystem::is_regular_file(candidate, error)) {
        path = candidate;
        break;
      }
      looked += (looked.empty() ? "" : ", ") + candidate.string();
    }
    if (path.empty()) return make_problem("internal_error", "no BIN table found (looked at " + looked + "); pass --bin-table");
  }
  std::error_code error;
  std::uintmax_t bytes = std::filesystem::file_size(path, error);
  if (error) return make_problem("internal_error", "cannot read the BIN table " + path.string() + ": " + error.message());
  if (bytes > bin_table_bytes_max) return make_problem("internal_error", "the BIN table " + path.string() + " is over 64 MiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_problem("internal_error", "cannot open the BIN table " + path.string());
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return make_problem("internal_error", "cannot read the BIN table " + path.string());
  return BinTable::parse(text, path.string());
}

std::optional<BinRange> Bins::lookup(std::string_view digits) const {
  const BinRange* range = table_.longest_prefix_match(digits);
  if (!range) return std::nullopt;
  return *range;
}

}  // namespace payd::reference
