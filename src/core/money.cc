#include "core/money.h"

#include <algorithm>
#include <cassert>

namespace payd {

Minor compute_fee(Minor amount, std::int64_t fee_bps, Minor fee_fixed) {
  assert(amount >= 0 && amount <= amount_max);
  assert(fee_bps >= 0 && fee_bps <= fee_bps_max);
  assert(fee_fixed >= 0);
  // amount * fee_bps could overflow int64 for amounts near 10^15, so the
  // quotient and remainder by 10000 are scaled separately.
  Minor whole = amount / fee_bps_max * fee_bps;
  Minor rest = (amount % fee_bps_max * fee_bps + fee_bps_max / 2) / fee_bps_max;
  Minor proportional = whole + rest;
  std::optional<Minor> fee = checked_add(proportional, fee_fixed);
  if (!fee) return amount;
  Minor capped = std::min(*fee, amount);
  assert(capped >= 0 && capped <= amount);
  return capped;
}

}  // namespace payd
