// The setup phase: the accounts, deposits, merchants and card a workload
// needs, created through the API like any client would.
//
// Every setup POST carries an Idempotency-Key, so a request that got no
// answer (or 503) is retried safely. Setup fails when anything is still
// refused after the retries: a benchmark on a half-built fixture would
// measure something else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "bench/paybench/expected.h"
#include "bench/paybench/http_client.h"
#include "bench/paybench/key_history.h"
#include "bench/paybench/workload.h"
#include "core/clock.h"

namespace payd::bench {

struct SetupOptions {
  WorkloadKind workload = WorkloadKind::transfers_uniform;
  std::size_t accounts = 1000;               // >= 2
  std::size_t merchants = 100;               // >= 1, for payments-uniform (see merchants_for)
  std::int64_t deposit_minor = 100'000'000;  // into each account
  std::string currency = "USD";
};

// The merchants the payment workloads pay.
inline constexpr std::int64_t merchant_max_amount_minor = 1'000'000;
inline constexpr int merchant_fee_bps = 290;
inline constexpr std::int64_t merchant_fee_fixed_minor = 30;
// The approved test card of the simulated gateway, tokenised once.
inline constexpr const char* test_card_number = "4242424242424242";

static_assert(merchant_max_amount_minor >= WorkloadGenerator::amount_max_minor);

Expected<Fixture> set_up(const SetupOptions& options, const DriveOptions& drive_options, KeyMaker& keys, Clock& clock);

}  // namespace payd::bench
