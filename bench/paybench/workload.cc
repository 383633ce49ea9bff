#include "bench/paybench/workload.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <utility>

#include "core/json_writer.h"

namespace payd::bench {
namespace {

// payment-mix, in percent of requests: captures of earlier authorisations
// and refunds of earlier captures (when there are any), then new payments.
constexpr std::uint64_t mix_capture_percent = 15;
constexpr std::uint64_t mix_refund_percent = 10;
// Of the new payments in payment-mix, in percent: card, wallet authorise-only;
// the rest are wallet payments captured at once.
constexpr std::uint64_t mix_card_percent = 20;
constexpr std::uint64_t mix_authorise_only_percent = 25;
// read-heavy, in percent: reads (half of them transfers once there are
// some); the rest are uniform transfers.
constexpr std::uint64_t read_percent = 90;

static_assert(mix_capture_percent + mix_refund_percent < 100);
static_assert(mix_card_percent + mix_authorise_only_percent <= 100);
static_assert(read_percent <= 100);

struct WorkloadName {
  WorkloadKind workload;
  std::string_view name;
};
constexpr std::array<WorkloadName, 6> workload_names = {{
    {WorkloadKind::transfers_uniform, "transfers-uniform"},
    {WorkloadKind::transfers_zipf, "transfers-zipf"},
    {WorkloadKind::hot_merchant, "hot-merchant"},
    {WorkloadKind::payments_uniform, "payments-uniform"},
    {WorkloadKind::payment_mix, "payment-mix"},
    {WorkloadKind::read_heavy, "read-heavy"},
}};

HttpRequest post(std::string target, std::string body) {
  return HttpRequest{"POST", std::move(target), std::move(body), {}};
}

HttpRequest get(std::string target) { return HttpRequest{"GET", std::move(target), {}, {}}; }

void remember(std::deque<std::string>& ids, const std::string& id) {
  if (id.empty()) return;
  if (ids.size() == WorkloadGenerator::remembered_ids_max) ids.pop_front();
  ids.push_back(id);
}

}  // namespace

std::string_view to_string(WorkloadKind workload) {
  for (const auto& entry : workload_names) {
    if (entry.workload == workload) return entry.name;
  }
  return "unknown";
}

std::optional<WorkloadKind> parse_workload(std::string_view name) {
  for (const auto& entry : workload_names) {
    if (entry.name == name) return entry.workload;
  }
  return std::nullopt;
}

bool pays_merchant(WorkloadKind workload) {
  return workload == WorkloadKind::hot_merchant || workload == WorkloadKind::payments_uniform ||
         workload == WorkloadKind::payment_mix;
}

std::size_t merchants_for(WorkloadKind workload, std::size_t merchants_option) {
  assert(merchants_option >= 1);
  if (workload == WorkloadKind::payments_uniform) return merchants_option;
  return pays_merchant(workload) ? 1 : 0;
}

std::string_view to_string(RequestKind kind) {
  switch (kind) {
    case RequestKind::transfer: return "transfer";
    case RequestKind::wallet_payment: return "wallet_payment";
    case RequestKind::card_payment: return "card_payment";
    case RequestKind::capture: return "capture";
    case RequestKind::refund: return "refund";
    case RequestKind::get_account: return "get_account";
    case RequestKind::get_transfer: return "get_transfer";
  }
  return "unknown";
}

bool moves_money(RequestKind kind) { return kind != RequestKind::get_account && kind != RequestKind::get_transfer; }

ZipfSampler::ZipfSampler(std::size_t count, double exponent) {
  assert(count >= 1);
  assert(exponent > 0.0);
  cumulative_.reserve(count);
  double total = 0.0;
  for (std::size_t rank = 0; rank < count; ++rank) {
    total += 1.0 / std::pow(static_cast<double>(rank + 1), exponent);
    cumulative_.push_back(total);
  }
  for (double& value : cumulative_) value /= total;
  cumulative_.back() = 1.0;
}

std::size_t ZipfSampler::sample(Random& random) const {
  double draw = uniform_unit(random);
  auto found = std::upper_bound(cumulative_.begin(), cumulative_.end(), draw);
  auto rank = static_cast<std::size_t>(found - cumulative_.begin());
  return std::min(rank, cumulative_.size() - 1);
}

double uniform_unit(Random& random) {
  // The top 53 bits: every double in [0, 1) with that spacing, equally likely.
  return static_cast<double>(random.next_u64() >> 11) * 0x1.0p-53;
}

WorkloadGenerator::WorkloadGenerator(WorkloadKind workload, const Fixture& fixture, Random& random)
    : workload_(workload), fixture_(fixture), random_(random) {
  assert(fixture_.account_ids.size() >= 2);
  assert(!pays_merchant(workload_) || !fixture_.merchants.empty());
  assert(workload_ == WorkloadKind::payments_uniform || fixture_.merchants.size() <= 1);
  if (workload_ == WorkloadKind::transfers_zipf) zipf_.emplace(fixture_.account_ids.size(), zipf_exponent);
}

PlannedRequest WorkloadGenerator::next() {
  switch (workload_) {
    case WorkloadKind::transfers_uniform: return transfer(false);
    case WorkloadKind::transfers_zipf: return transfer(true);
    case WorkloadKind::hot_merchant:
    case WorkloadKind::payments_uniform: return wallet_payment(true);
    case WorkloadKind::payment_mix: return payment_mix();
    case WorkloadKind::read_heavy: return read_heavy();
  }
  assert(false && "every workload is handled");
  return transfer(false);
}

void WorkloadGenerator::learn(RequestKind kind, unsigned status, const std::string& id,
                              const std::string& payment_status) {
  if (status < 200 || status >= 300) return;
  switch (kind) {
    case RequestKind::transfer: return remember(transfer_ids_, id);
    case RequestKind::wallet_payment:
    case RequestKind::card_payment:
    case RequestKind::capture:
      if (payment_status == "authorized") remember(to_capture_, id);
      if (payment_status == "captured") remember(to_refund_, id);
      return;
    case RequestKind::refund:
    case RequestKind::get_account:
    case RequestKind::get_transfer: return;
  }
}

std::size_t WorkloadGenerator::pick_account(bool zipf) {
  if (zipf) return zipf_->sample(random_);
  return static_cast<std::size_t>(random_.uniform(fixture_.account_ids.size()));
}

// Uniform over the fixture's merchants. Nothing is drawn when there is one
// (hot-merchant, payment-mix, payments-uniform with --merchants 1), so
// payments-uniform with one merchant makes exactly the requests hot-merchant
// makes from the same seed.
const FixtureMerchant& WorkloadGenerator::pick_merchant() {
  assert(!fixture_.merchants.empty());
  if (fixture_.merchants.size() == 1) return fixture_.merchants.front();
  return fixture_.merchants[static_cast<std::size_t>(random_.uniform(fixture_.merchants.size()))];
}

std::int64_t WorkloadGenerator::pick_amount() {
  return 1 + static_cast<std::int64_t>(random_.uniform(static_cast<std::uint64_t>(amount_max_minor)));
}

PlannedRequest WorkloadGenerator::transfer(bool zipf) {
  std::size_t from = pick_account(zipf);
  std::size_t to = pick_account(zipf);
  if (to == from) to = (to + 1) % fixture_.account_ids.size();
  std::string body;
  JsonWriter json(body);
  json.begin_object().member("from", fixture_.account_ids[from]).member("to", fixture_.account_ids[to]);
  json.member("amount", pick_amount()).member("currency", fixture_.currency).end_object();
  return {RequestKind::transfer, post("/v1/transfers", std::move(body))};
}

// The amount, then the customer account, drawn the same way in every
// workload that makes wallet payments; then the merchant.
PlannedRequest WorkloadGenerator::wallet_payment(bool capture) {
  std::int64_t amount_minor = pick_amount();
  const std::string& account_id = fixture_.account_ids[pick_account(false)];
  const FixtureMerchant& merchant = pick_merchant();
  std::string body;
  JsonWriter json(body);
  json.begin_object().member("amount", amount_minor).member("currency", fixture_.currency);
  json.member("merchant", merchant.id).member("account", account_id);
  json.member("capture", capture).end_object();
  return {RequestKind::wallet_payment, post("/v1/payments", std::move(body))};
}

PlannedRequest WorkloadGenerator::card_payment() {
  assert(!fixture_.payment_method_id.empty());
  std::string body;
  JsonWriter json(body);
  json.begin_object().member("amount", pick_amount()).member("currency", fixture_.currency);
  json.member("merchant", pick_merchant().id).member("payment_method", fixture_.payment_method_id);
  json.member("capture", true).end_object();
  return {RequestKind::card_payment, post("/v1/payments", std::move(body))};
}

PlannedRequest WorkloadGenerator::payment_mix() {
  std::uint64_t draw = random_.uniform(100);
  if (draw < mix_capture_percent && !to_capture_.empty()) {
    std::string id = std::move(to_capture_.front());
    to_capture_.pop_front();
    return {RequestKind::capture, post("/v1/payments/" + id + "/capture", "{}")};
  }
  if (draw < mix_capture_percent + mix_refund_percent && !to_refund_.empty()) {
    std::size_t index = static_cast<std::size_t>(random_.uniform(to_refund_.size()));
    std::swap(to_refund_[index], to_refund_.back());
    std::string id = std::move(to_refund_.back());
    to_refund_.pop_back();
    return {RequestKind::refund, post("/v1/payments/" + id + "/refunds", "{}")};
  }
  std::uint64_t kind = random_.uniform(100);
  if (kind < mix_card_percent) return card_payment();
  return wallet_payment(kind >= mix_card_percent + mix_authorise_only_percent);
}

PlannedRequest WorkloadGenerator::read_heavy() {
  std::uint64_t draw = random_.uniform(100);
  if (draw >= read_percent) return transfer(false);
  if (draw % 2 == 0 && !transfer_ids_.empty()) {
    const std::string& id = transfer_ids_[static_cast<std::size_t>(random_.uniform(transfer_ids_.size()))];
    return {RequestKind::get_transfer, get("/v1/transfers/" + id)};
  }
  const std::string& id = fixture_.account_ids[pick_account(false)];
  return {RequestKind::get_account, get("/v1/accounts/" + id)};
}

}  // namespace payd::bench
