#include "bench/paybench/check.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

#include "bench/paybench/json_fields.h"
#include "core/money.h"

namespace payd::bench {
namespace {

// Failures named in a check's detail, at most.
constexpr std::size_t examples_max = 3;

// An id to read back, with the amount it was acknowledged with (if known).
struct ToFind {
  RequestKind kind = RequestKind::transfer;
  std::string id;
  std::optional<std::int64_t> amount_minor;
};

std::string path_of(const ToFind& item) {
  return (item.kind == RequestKind::transfer ? "/v1/transfers/" : "/v1/payments/") + item.id;
}

std::vector<ToFind> ids_to_find(const LoadResult& load) {
  std::vector<ToFind> items;
  std::set<std::string> seen;
  for (const Acknowledged& acknowledged : load.acknowledged_sample) {
    if (seen.insert(acknowledged.id).second) {
      items.push_back({acknowledged.kind, acknowledged.id, acknowledged.amount_minor});
    }
  }
  for (const KeyRecord* record : load.keys.duplicated()) {
    if (record->kind == RequestKind::refund) continue;  // refunds have no GET of their own
    for (const KeyAnswer& answer : record->answers) {
      bool acknowledged = answer.status >= 200 && answer.status < 300 && !answer.id.empty();
      if (acknowledged && seen.insert(answer.id).second) items.push_back({record->kind, answer.id, std::nullopt});
    }
  }
  return items;
}

CheckResult check_acknowledged_found(const LoadResult& load, const DriveOptions& drive_options, Clock& clock) {
  CheckResult result{"acknowledged ids found", false, ""};
  std::vector<ToFind> items = ids_to_find(load);
  std::vector<HttpRequest> requests;
  requests.reserve(items.size());
  for (const ToFind& item : items) requests.push_back(HttpRequest{"GET", path_of(item), {}, {}});
  auto responses = exchange_all(drive_options, clock, std::move(requests));
  if (!responses.ok()) {
    result.detail = responses.message();
    return result;
  }
  std::size_t found = 0;
  std::string missing;
  for (std::size_t index = 0; index < items.size(); ++index) {
    const HttpResponse& response = responses.value()[index];
    boost::json::object object = parse_object(response.body);
    bool same_id = response.status == 200 && text_member(object, "id") == items[index].id;
    bool same_amount = !items[index].amount_minor || integer_member(object, "amount") == items[index].amount_minor;
    if (same_id && same_amount) {
      found += 1;
      continue;
    }
    if (index - found < examples_max) missing += " " + items[index].id + ": " + describe(response) + ";";
  }
  result.passed = found == items.size();
  result.detail = std::to_string(found) + " of " + std::to_string(items.size()) + " read back" +
                  (result.passed ? "" : ", missing:" + missing);
  return result;
}

std::string describe_key(const KeyRecord& record) {
  std::string text = record.request.idempotency_key + " (" + std::string(to_string(record.kind)) + ") answers:";
  for (const KeyAnswer& answer : record.answers) {
    text += " " + std::to_string(answer.status) + (answer.replayed ? " replayed" : "");
    if (!answer.id.empty()) text += " " + answer.id;
    if (!answer.code.empty()) text += " " + answer.code;
    text += ",";
  }
  return text;
}

// The balances of `account_ids`, read through the API, in their order.
Expected<std::vector<std::int64_t>> read_balances(const std::vector<std::string>& account_ids,
                                                  const DriveOptions& drive_options, Clock& clock) {
  std::vector<HttpRequest> requests;
  requests.reserve(account_ids.size());
  for (const std::string& id : account_ids) requests.push_back(HttpRequest{"GET", "/v1/accounts/" + id, {}, {}});
  auto responses = exchange_all(drive_options, clock, std::move(requests));
  if (!responses.ok()) return Failure{responses.message()};
  std::vector<std::int64_t> balances;
  balances.reserve(account_ids.size());
  for (const HttpResponse& response : responses.value()) {
    std::optional<std::int64_t> balance = integer_member(parse_object(response.body), "balance");
    if (response.status != 200 || !balance) return Failure{"GET account answered " + describe(response)};
    balances.push_back(*balance);
  }
  return balances;
}

// Adds `terms` with overflow checks; nullopt on overflow.
std::optional<std::int64_t> checked_sum(const std::vector<std::int64_t>& terms) {
  std::optional<std::int64_t> sum = 0;
  for (std::int64_t term : terms) {
    if (sum) sum = checked_add(*sum, term);
  }
  return sum;
}

// Money conserved and no test account below zero, from the balances.
std::vector<CheckResult> check_balances(WorkloadKind workload, const Fixture& fixture, const TrialBalance& before,
                                        const TrialBalance& after, const std::vector<std::int64_t>& balances) {
  CheckResult conserved{"money conserved", false, ""};
  CheckResult not_negative{"no test account below zero", false, ""};
  std::size_t customers = fixture.account_ids.size();
  std::vector<std::int64_t> customer_balances(balances.begin(),
                                              balances.begin() + static_cast<std::ptrdiff_t>(customers));
  std::int64_t lowest = *std::min_element(customer_balances.begin(), customer_balances.end());
  not_negative.passed = lowest >= 0;
  not_negative.detail = "lowest balance " + std::to_string(lowest);
  std::vector<std::int64_t> terms = {checked_sum(customer_balances).value_or(0)};
  std::string detail = std::to_string(customers) + " test accounts hold " + std::to_string(terms.front());
  if (pays_merchant(workload)) {
    terms.push_back(balances.back());
    terms.push_back(after.fees_minor - before.fees_minor);
    terms.push_back(after.clearing_minor - before.clearing_minor);
    std::optional<std::int64_t> total = checked_sum(terms);
    detail += ", merchant " + std::to_string(terms[1]) + ", fees gained " + std::to_string(terms[2]) +
              ", clearing gained " + std::to_string(terms[3]) + ": in all " +
              (total ? std::to_string(*total) : "overflow");
  }
  std::optional<std::int64_t> total = checked_sum(terms);
  conserved.passed = total == fixture.deposited_minor;
  conserved.detail =
      detail + (conserved.passed ? " = " : " != ") + "deposited " + std::to_string(fixture.deposited_minor);
  return {conserved, not_negative};
}

CheckResult check_trial_balance(const TrialBalance& after) {
  CheckResult result{"trial balance sums to zero", true, ""};
  for (const auto& [currency, sum] : after.sum_by_currency) {
    if (sum != 0) result.passed = false;
    result.detail += (result.detail.empty() ? "" : ", ") + currency + " " + std::to_string(sum);
  }
  return result;
}

std::vector<CheckResult> check_money(WorkloadKind workload, const Fixture& fixture, const TrialBalance& before,
                                     const DriveOptions& drive_options, Clock& clock) {
  std::vector<std::string> account_ids = fixture.account_ids;
  if (pays_merchant(workload)) account_ids.push_back(fixture.merchant_account_id);
  auto balances = read_balances(account_ids, drive_options, clock);
  auto after = read_trial_balance(drive_options, clock, fixture.currency);
  if (!balances.ok() || !after.ok()) {
    std::string message = !balances.ok() ? balances.message() : after.message();
    return {CheckResult{"money conserved", false, "could not read: " + message}};
  }
  std::vector<CheckResult> results = check_balances(workload, fixture, before, after.value(), balances.value());
  results.push_back(check_trial_balance(after.value()));
  return results;
}

}  // namespace

CheckResult check_one_effect_per_key(const KeyHistory& keys) {
  CheckResult result{"one effect per key", true, ""};
  std::int64_t answers = 0;
  std::int64_t replays = 0;
  std::int64_t in_use = 0;
  std::vector<const KeyRecord*> duplicated = keys.duplicated();
  std::size_t violations = 0;
  for (const KeyRecord* record : duplicated) {
    for (const KeyAnswer& answer : record->answers) {
      answers += 1;
      replays += answer.replayed ? 1 : 0;
      in_use += answer.code == "idempotency_key_in_use" ? 1 : 0;
    }
    if (at_most_one_effect(*record)) continue;
    violations += 1;
    if (violations <= examples_max) result.detail += " " + describe_key(*record);
  }
  result.passed = violations == 0;
  std::string summary = std::to_string(duplicated.size()) + " keys sent more than once, " + std::to_string(answers) +
                        " answers: " + std::to_string(replays) + " replayed, " + std::to_string(in_use) +
                        " in use (409)";
  result.detail = result.passed
                      ? summary
                      : summary + "; " + std::to_string(violations) + " keys with a second effect:" + result.detail;
  return result;
}

Expected<TrialBalance> read_trial_balance(const DriveOptions& drive_options, Clock& clock,
                                          const std::string& currency) {
  auto responses = exchange_all(drive_options, clock, {HttpRequest{"GET", "/v1/admin/trial_balance", {}, {}}});
  if (!responses.ok()) return Failure{responses.message()};
  const HttpResponse& response = responses.value().front();
  boost::json::object object = parse_object(response.body);
  const boost::json::value* currencies = object.if_contains("currencies");
  if (response.status != 200 || currencies == nullptr || !currencies->is_array()) {
    return Failure{"GET /v1/admin/trial_balance answered " + describe(response)};
  }
  TrialBalance balance;
  for (const boost::json::value& line : currencies->as_array()) {
    if (!line.is_object()) continue;
    std::string code = text_member(line.as_object(), "currency");
    balance.sum_by_currency[code] = integer_member(line.as_object(), "sum").value_or(0);
    const boost::json::value* system_accounts = line.as_object().if_contains("system_accounts");
    if (code != currency || system_accounts == nullptr || !system_accounts->is_array()) continue;
    for (const boost::json::value& account : system_accounts->as_array()) {
      if (!account.is_object()) continue;
      std::string role = text_member(account.as_object(), "role");
      std::int64_t amount = integer_member(account.as_object(), "balance").value_or(0);
      if (role == "fees") balance.fees_minor += amount;
      if (role == "gateway_clearing") balance.clearing_minor += amount;
    }
  }
  return balance;
}

std::vector<CheckResult> check_through_api(WorkloadKind workload, const Fixture& fixture, const LoadResult& load,
                                           const TrialBalance& before, const DriveOptions& drive_options,
                                           Clock& clock) {
  std::vector<CheckResult> results;
  results.push_back(check_acknowledged_found(load, drive_options, clock));
  results.push_back(check_one_effect_per_key(load.keys));
  for (CheckResult& result : check_money(workload, fixture, before, drive_options, clock)) {
    results.push_back(std::move(result));
  }
  return results;
}

}  // namespace payd::bench
