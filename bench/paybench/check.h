// The check phase: after the load, is what payd acknowledged really there,
// did each key have at most one effect, and is the money all accounted for?
// Everything is read through the API; payctl's own verification of the
// ledger files is run by the caller (see process.h) when it has them.
//
// - acknowledged ids: a uniform sample of the creations answered 201, plus
//   every id answered to a duplicated key, is read back with GET and must
//   exist with the acknowledged amount.
// - one effect per key: for every key sent more than once, the answers
//   that record a decision (2xx, 402, 409 invalid_state and
//   amount_exceeds_refundable) are identical (status and body) and at most
//   one of them is not marked Idempotent-Replayed; no answer is 422.
// - money conserved: the balances of the test accounts, plus (for payment
//   workloads) the accounts of all the run's merchants and what the fees
//   and gateway clearing accounts gained during the run, add up to the
//   deposits.
// - no test account below zero, and the trial balance's sum is 0 in every
//   currency.
// - with retries (fault runs) and a transfer workload, exactly once: keys
//   still without an outcome after the load are first sent again (same key,
//   same body) until payd decides them (resolve_open_keys); then every
//   key's decision is known, and each test account's balance and number of
//   entries must be exactly its deposit plus the transfers answered 201. A
//   transfer applied twice shows as extra entries, one lost as missing ones.
//
// Assumes nobody else moves money in the run's accounts meanwhile; the fee
// and clearing accounts are shared, so other traffic in the same currency
// during the run would show up as a difference.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bench/paybench/expected.h"
#include "bench/paybench/http_client.h"
#include "bench/paybench/load.h"
#include "bench/paybench/workload.h"
#include "core/clock.h"

namespace payd::bench {

struct CheckResult {
  std::string name;
  bool passed = false;
  std::string detail;
};

struct TrialBalance {
  std::map<std::string, std::int64_t> sum_by_currency;
  std::int64_t fees_minor = 0;      // fees account, in the fixture's currency
  std::int64_t clearing_minor = 0;  // gateway clearing account(s), same currency
};

// The figures of a fault run (bench/chaos), taken from the checks.
struct Invariants {
  // Acknowledged operations not in the ledger: ids not read back, or
  // (exactly-once check) transfers missing from the accounts' entries.
  std::int64_t lost_acknowledged = 0;
  // Keys with a second effect: by their answers, or (exactly-once check)
  // by extra entries in the accounts.
  std::int64_t duplicate_effects = 0;
  bool conserved = false;  // money conserved and the trial balance zero
};

struct Checked {
  std::vector<CheckResult> results;
  Invariants invariants;
};

Expected<TrialBalance> read_trial_balance(const DriveOptions& drive_options, Clock& clock, const std::string& currency);

// Sends every key that has no decision yet (its answers all said "try
// again") once more, retrying up to drive_options.attempts_max times, and
// records the answers in load.keys. Fails when some key is still open.
CheckResult resolve_open_keys(LoadResult& load, const DriveOptions& drive_options, Clock& clock);

// Runs the API checks. `before` is the trial balance read after setup.
// `exactly_once` adds the balance-and-entries check (transfer workloads,
// with every key kept and resolved).
Checked check_through_api(WorkloadKind workload, const Fixture& fixture, const LoadResult& load,
                          const TrialBalance& before, bool exactly_once, const DriveOptions& drive_options,
                          Clock& clock);

// The check of idempotency alone: pure, on the recorded answers. `violations`
// is set to the number of keys with more than one effect.
CheckResult check_one_effect_per_key(const KeyHistory& keys, std::int64_t& violations);

}  // namespace payd::bench
