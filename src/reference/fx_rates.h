// FxRates: where payd reads the current FX rate of a currency pair.
//
// Every reader of rates (the payment routes converting an amount, capture
// checking for drift, GET /v1/fx_rates) goes through current(), and nothing
// else reads the fx_rates table. With a Through hook (the cache-aside layer:
// an in-process L1 in front of Redis `fx:{base}{quote}`, 60 s), current()
// reads through it; Api::put_fx_rate invalidates the key before it answers,
// so a new rate is seen at once by every later request on every node.
// Without a hook, current() reads the ledger database every time.
//
// Writes do not go through here: a PUT is a ledger command (SetFxRate), so
// it shares the group-commit writer and the idempotency rules of every
// other write.
//
// Thread-safe: current() may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/result.h"
#include "domain/model.h"
#include "ledger/ledger.h"

namespace payd::reference {

class FxRates {
 public:
  template <typename T>
  using Done = std::function<void(Result<T>)>;
  // Reads `key` through a cache, calling `load` on a miss and `done` with
  // the value (CacheAside::get_async).
  using Through = std::function<void(const std::string& key, std::int64_t ttl_ms,
                                     const std::function<void(Done<std::string> loaded)>& load,
                                     Done<std::string> done)>;
  static constexpr std::int64_t cache_ttl_ms = 60'000;

  explicit FxRates(ledger::Ledger& ledger, Through through = {}) : ledger_(ledger), through_(std::move(through)) {}

  // Calls `done` exactly once with the current rate of base/quote:
  // not_found when the pair was never set, unavailable when the ledger
  // cannot be read. It runs at once on a cache hit, else where the ledger's
  // fx_rate_async completes (on the event loop for PostgreSQL).
  void current(const std::string& base, const std::string& quote, Done<FxRate> done);

  // The cache key of a pair: "fx:USDEUR".
  static std::string cache_key(const std::string& base, const std::string& quote) { return "fx:" + base + quote; }

 private:
  ledger::Ledger& ledger_;
  Through through_;
};

// A rate as one line of text for the cache, and back (nullopt for anything
// that is not one).
std::string encode_fx_rate(const FxRate& rate);
std::optional<FxRate> decode_fx_rate(const std::string& text);

}  // namespace payd::reference
