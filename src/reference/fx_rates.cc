#include "reference/fx_rates.h"

#include <cassert>

namespace payd::reference {

Result<FxRate> FxRates::current(const std::string& base, const std::string& quote) {
  assert(base != quote);
  Result<FxRate> rate = ledger_.fx_rate(base, quote);
  assert(!rate.ok() || (rate->base == base && rate->quote == quote && rate->version >= 1));
  return rate;
}

}  // namespace payd::reference
