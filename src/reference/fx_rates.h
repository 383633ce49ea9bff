// FxRates: where payd reads the current FX rate of a currency pair.
//
// Every reader of rates (the payment routes converting an amount, capture
// checking for drift, GET /v1/fx_rates) goes through current(), and nothing
// else reads the fx_rates table, so this class is the one seam for a cache.
// Today current() reads the ledger database every time. A cache-aside layer
// (an in-process L1 in front of Redis `fx:{base}{quote}`) belongs inside
// current(); because API.md wants a new rate seen at once by every later
// request on every node, such a cache must be invalidated when a PUT
// commits (Api::put_fx_rate's continuation is the place), not merely expire.
//
// Writes do not go through here: a PUT is a ledger command (SetFxRate), so
// it shares the group-commit writer and the idempotency rules of every
// other write.
//
// Thread-safe: current() may be called from any thread.
#pragma once

#include <string>

#include "core/result.h"
#include "domain/model.h"
#include "ledger/ledger.h"

namespace payd::reference {

class FxRates {
 public:
  explicit FxRates(ledger::Ledger& ledger) : ledger_(ledger) {}

  // The current rate of base/quote: not_found when the pair was never set,
  // unavailable when the ledger cannot be read.
  Result<FxRate> current(const std::string& base, const std::string& quote);

 private:
  ledger::Ledger& ledger_;
};

}  // namespace payd::reference
