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

void FxRates::current(const std::string& base, const std::string& quote, Done<FxRate> done) {
  assert(base != quote);
  auto load = [this, base, quote](Done<FxRate> loaded) {
    ledger_.fx_rate_async(base, quote, [base, quote, loaded = std::move(loaded)](Result<FxRate> rate) {
      assert(!rate.ok() || (rate->base == base && rate->quote == quote && rate->version >= 1));
      loaded(std::move(rate));
    });
  };
  if (!through_) return load(std::move(done));
  auto load_text = [load](Done<std::string> loaded) {
    load([loaded = std::move(loaded)](Result<FxRate> rate) {
      if (!rate.ok()) return loaded(rate.take_problem());
      loaded(encode_fx_rate(rate.value()));
    });
  };
  through_(cache_key(base, quote), cache_ttl_ms, load_text,
           [base, quote, load, done = std::move(done)](Result<std::string> text) mutable {
             if (!text.ok()) return done(text.take_problem());
             std::optional<FxRate> rate = decode_fx_rate(text.value());
             // Not what was cached: ask the ledger.
             if (!rate || rate->base != base || rate->quote != quote) return load(std::move(done));
             done(std::move(*rate));
           });
}

}  // namespace payd::reference
