#include "reference/fx_rates.h"

#include <cassert>
#include <charconv>
#include <vector>

#include "core/fx.h"

namespace payd::reference {
namespace {

std::optional<std::int64_t> integer(std::string_view text) {
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::string encode_fx_rate(const FxRate& rate) {
  return rate.base + " " + rate.quote + " " + format_rate(rate.rate) + " " + std::to_string(rate.version) + " " +
         std::to_string(rate.updated_at_ms);
}

std::optional<FxRate> decode_fx_rate(const std::string& text) {
  std::vector<std::string_view> parts;
  std::string_view rest = text;
  while (parts.size() < 6) {
    std::size_t space = rest.find(' ');
    parts.push_back(rest.substr(0, space));
    if (space == std::string_view::npos) break;
    rest.remove_prefix(space + 1);
  }
  if (parts.size() != 5) return std::nullopt;
  Result<Rate> rate = parse_rate(parts[2]);
  std::optional<std::int64_t> version = integer(parts[3]);
  std::optional<std::int64_t> updated_at = integer(parts[4]);
  if (!rate.ok() || !version || *version < 1 || !updated_at || parts[0].size() != 3 || parts[1].size() != 3) {
    return std::nullopt;
  }
  return FxRate{std::string(parts[0]), std::string(parts[1]), rate.value(), *version, *updated_at};
}

Result<FxRate> FxRates::current(const std::string& base, const std::string& quote) {
  assert(base != quote);
  auto load = [&]() -> Result<FxRate> {
    Result<FxRate> rate = ledger_.fx_rate(base, quote);
    assert(!rate.ok() || (rate->base == base && rate->quote == quote && rate->version >= 1));
    return rate;
  };
  if (!through_) return load();
  Result<std::string> text = through_(cache_key(base, quote), cache_ttl_ms, [&]() -> Result<std::string> {
    Result<FxRate> rate = load();
    if (!rate.ok()) return rate.take_problem();
    return encode_fx_rate(rate.value());
  });
  if (!text.ok()) return text.take_problem();
  std::optional<FxRate> rate = decode_fx_rate(text.value());
  if (!rate || rate->base != base || rate->quote != quote) return load();  // not what was cached: ask the ledger
  return std::move(*rate);
}

}  // namespace payd::reference
