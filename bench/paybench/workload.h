// What paybench asks of payd: the workloads, as generators of requests.
//
// A WorkloadGenerator makes the next fresh request of its workload from the
// fixture that setup created (accounts, merchants, card) and from what it
// learnt from earlier answers (payments to capture or refund, transfers to
// read back). It knows nothing of connections, timing, idempotency keys or
// duplicates; the load phase adds those. Sans-I/O, single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/paybench/http_client.h"
#include "core/clock.h"

namespace payd::bench {

// hot-merchant and payments-uniform send the same captured wallet payments
// (same amounts, same choice of customer account); hot-merchant pays one
// merchant, payments-uniform one drawn uniformly from several, so the two
// together measure what a single hot merchant account costs.
enum class WorkloadKind { transfers_uniform, transfers_zipf, hot_merchant, payments_uniform, payment_mix, read_heavy };

std::string_view to_string(WorkloadKind workload);
std::optional<WorkloadKind> parse_workload(std::string_view name);
// Workloads that pay merchants (and so need them, and read the fees).
bool pays_merchant(WorkloadKind workload);
// How many merchants setup creates for `workload`: `merchants_option` (>= 1)
// for payments-uniform, 1 for the other workloads that pay merchants, else 0.
std::size_t merchants_for(WorkloadKind workload, std::size_t merchants_option);

enum class RequestKind { transfer, wallet_payment, card_payment, capture, refund, get_account, get_transfer };

std::string_view to_string(RequestKind kind);
// Whether requests of this kind move money (and so carry an Idempotency-Key).
bool moves_money(RequestKind kind);

// A merchant setup created, and its ledger account.
struct FixtureMerchant {
  std::string id;
  std::string account_id;
};

// What setup created for the run. Test accounts hold only this run's money.
struct Fixture {
  std::string currency;
  std::vector<std::string> account_ids;
  std::vector<FixtureMerchant> merchants;  // merchants_for(workload, ...) of them
  std::string payment_method_id;           // the tokenised test card (payment-mix only)
  std::int64_t deposited_minor = 0;        // sum of the acknowledged deposits
};

// A request of the workload, before the load phase gives it a key.
struct PlannedRequest {
  RequestKind kind = RequestKind::transfer;
  HttpRequest request;
};

// Zipf(exponent) over ranks 0..count-1: rank k is drawn with probability
// proportional to 1 / (k + 1)^exponent. O(count) memory, O(log count) a draw.
class ZipfSampler {
 public:
  ZipfSampler(std::size_t count, double exponent);
  std::size_t sample(Random& random) const;

 private:
  std::vector<double> cumulative_;  // cumulative_[k]: P(rank <= k), last is 1
};

// A uniform double in [0, 1).
double uniform_unit(Random& random);

class WorkloadGenerator {
 public:
  // Amounts of new transfers and payments are 1..amount_max_minor.
  static constexpr std::int64_t amount_max_minor = 100;
  // Ids kept to capture, refund or read back; older ones are forgotten.
  static constexpr std::size_t remembered_ids_max = 4096;
  static constexpr double zipf_exponent = 0.99;

  // `fixture` must outlive the generator and hold at least two accounts;
  // for a workload that pays merchants, at least one merchant, and exactly
  // one unless the workload is payments-uniform.
  WorkloadGenerator(WorkloadKind workload, const Fixture& fixture, Random& random);

  PlannedRequest next();

  // Learns from a 2xx answer to a request this generator made: payments to
  // capture later or refund, transfers to read back.
  void learn(RequestKind kind, unsigned status, const std::string& id, const std::string& payment_status);

 private:
  PlannedRequest transfer(bool zipf);
  PlannedRequest wallet_payment(bool capture);
  PlannedRequest card_payment();
  PlannedRequest payment_mix();
  PlannedRequest read_heavy();
  std::size_t pick_account(bool zipf);
  const FixtureMerchant& pick_merchant();
  std::int64_t pick_amount();

  WorkloadKind workload_;
  const Fixture& fixture_;
  Random& random_;
  std::optional<ZipfSampler> zipf_;
  std::deque<std::string> to_capture_;    // authorised wallet payments, oldest first
  std::deque<std::string> to_refund_;     // captured payments
  std::deque<std::string> transfer_ids_;  // acknowledged transfers, to read back
};

}  // namespace payd::bench
