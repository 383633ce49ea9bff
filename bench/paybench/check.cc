#include "bench/paybench/check.h"

#include <algorithm>
#include <cassert>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "bench/paybench/json_fields.h"
#include "bench/paybench/retry.h"
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

CheckResult check_acknowledged_found(const LoadResult& load, const DriveOptions& drive_options, Clock& clock,
                                     std::int64_t& lost) {
  CheckResult result{"acknowledged ids found", false, ""};
  std::vector<ToFind> items = ids_to_find(load);
  std::vector<HttpRequest> requests;
  requests.reserve(items.size());
  for (const ToFind& item : items) requests.push_back(HttpRequest{"GET", path_of(item), {}, {}});
  auto responses = exchange_all(drive_options, clock, std::move(requests));
  if (!responses.ok()) {
    lost = static_cast<std::int64_t>(items.size());
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
  lost = static_cast<std::int64_t>(items.size() - found);
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

struct AccountReading {
  std::int64_t balance_minor = 0;
  std::int64_t entries = 0;  // the account's version
};

// The balances and entry counts of `account_ids`, read through the API, in
// their order.
Expected<std::vector<AccountReading>> read_accounts(const std::vector<std::string>& account_ids,
                                                    const DriveOptions& drive_options, Clock& clock) {
  std::vector<HttpRequest> requests;
  requests.reserve(account_ids.size());
  for (const std::string& id : account_ids) requests.push_back(HttpRequest{"GET", "/v1/accounts/" + id, {}, {}});
  auto responses = exchange_all(drive_options, clock, std::move(requests));
  if (!responses.ok()) return Failure{responses.message()};
  std::vector<AccountReading> readings;
  readings.reserve(account_ids.size());
  for (const HttpResponse& response : responses.value()) {
    boost::json::object object = parse_object(response.body);
    std::optional<std::int64_t> balance = integer_member(object, "balance");
    std::optional<std::int64_t> version = integer_member(object, "version");
    if (response.status != 200 || !balance || !version) return Failure{"GET account answered " + describe(response)};
    readings.push_back(AccountReading{*balance, *version});
  }
  return readings;
}

// Adds `terms` with overflow checks; nullopt on overflow.
std::optional<std::int64_t> checked_sum(const std::vector<std::int64_t>& terms) {
  std::optional<std::int64_t> sum = 0;
  for (std::int64_t term : terms) {
    if (sum) sum = checked_add(*sum, term);
  }
  return sum;
}

std::string describe_sum(std::optional<std::int64_t> sum) { return sum ? std::to_string(*sum) : "overflow"; }

// Money conserved and no test account below zero, from the balances: the
// test accounts' in fixture order, then (payment workloads) every merchant's.
std::vector<CheckResult> check_balances(WorkloadKind workload, const Fixture& fixture, const TrialBalance& before,
                                        const TrialBalance& after, const std::vector<std::int64_t>& balances) {
  CheckResult conserved{"money conserved", false, ""};
  CheckResult not_negative{"no test account below zero", false, ""};
  std::size_t customers = fixture.account_ids.size();
  std::size_t merchants = pays_merchant(workload) ? fixture.merchants.size() : 0;
  assert(balances.size() == customers + merchants);
  auto customers_end = balances.begin() + static_cast<std::ptrdiff_t>(customers);
  std::vector<std::int64_t> customer_balances(balances.begin(), customers_end);
  std::int64_t lowest = *std::min_element(customer_balances.begin(), customer_balances.end());
  not_negative.passed = lowest >= 0;
  not_negative.detail = "lowest balance " + std::to_string(lowest);
  std::optional<std::int64_t> total = checked_sum(customer_balances);
  std::string detail = std::to_string(customers) + " test accounts hold " + describe_sum(total);
  if (pays_merchant(workload)) {
    assert(merchants >= 1);
    std::optional<std::int64_t> merchants_minor = checked_sum(std::vector<std::int64_t>(customers_end, balances.end()));
    std::int64_t fees_gained_minor = after.fees_minor - before.fees_minor;
    std::int64_t clearing_gained_minor = after.clearing_minor - before.clearing_minor;
    total = total && merchants_minor
                ? checked_sum({*total, *merchants_minor, fees_gained_minor, clearing_gained_minor})
                : std::nullopt;
    detail += ", " + std::to_string(merchants) + (merchants == 1 ? " merchant holds " : " merchants hold ") +
              describe_sum(merchants_minor) + ", fees gained " + std::to_string(fees_gained_minor) +
              ", clearing gained " + std::to_string(clearing_gained_minor) + ": in all " + describe_sum(total);
  }
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
  if (pays_merchant(workload)) {
    for (const FixtureMerchant& merchant : fixture.merchants) account_ids.push_back(merchant.account_id);
  }
  auto readings = read_accounts(account_ids, drive_options, clock);
  auto after = read_trial_balance(drive_options, clock, fixture.currency);
  if (!readings.ok() || !after.ok()) {
    std::string message = !readings.ok() ? readings.message() : after.message();
    return {CheckResult{"money conserved", false, "could not read: " + message}};
  }
  std::vector<std::int64_t> balances;
  for (const AccountReading& reading : readings.value()) balances.push_back(reading.balance_minor);
  std::vector<CheckResult> results = check_balances(workload, fixture, before, after.value(), balances);
  results.push_back(check_trial_balance(after.value()));
  return results;
}

// The decision of a key: its first answer that records one, or nullptr.
const KeyAnswer* decision_of(const KeyRecord& record) {
  for (const KeyAnswer& answer : record.answers) {
    if (records_decision(answer)) return &answer;
  }
  return nullptr;
}

// What the test accounts must hold when every transfer answered 201 took
// effect exactly once: a deposit and one entry each, plus the transfers.
struct ExpectedAccounts {
  std::vector<std::int64_t> balance_minor;
  std::vector<std::int64_t> entries;
  std::int64_t open_keys = 0;  // keys without a decision: their effect is unknown
};

ExpectedAccounts expect_accounts(const Fixture& fixture, const KeyHistory& keys) {
  std::size_t count = fixture.account_ids.size();
  std::int64_t deposit_minor = fixture.deposited_minor / static_cast<std::int64_t>(count);
  ExpectedAccounts expected{std::vector<std::int64_t>(count, deposit_minor), std::vector<std::int64_t>(count, 1), 0};
  std::unordered_map<std::string, std::size_t> index_of;
  for (std::size_t index = 0; index < count; ++index) index_of.emplace(fixture.account_ids[index], index);
  for (const KeyRecord* record : keys.every_key()) {
    if (record->kind != RequestKind::transfer) continue;
    const KeyAnswer* decision = decision_of(*record);
    if (decision == nullptr) {
      expected.open_keys += 1;
      continue;
    }
    if (decision->status != 201) continue;
    boost::json::object body = parse_object(record->request.body);
    auto from = index_of.find(text_member(body, "from"));
    auto to = index_of.find(text_member(body, "to"));
    std::optional<std::int64_t> amount = integer_member(body, "amount");
    assert(from != index_of.end() && to != index_of.end() && amount);  // paybench wrote the body
    expected.balance_minor[from->second] -= *amount;
    expected.balance_minor[to->second] += *amount;
    expected.entries[from->second] += 1;
    expected.entries[to->second] += 1;
  }
  return expected;
}

CheckResult check_exactly_once(const Fixture& fixture, const KeyHistory& keys, const DriveOptions& drive_options,
                               Clock& clock, Invariants& invariants) {
  CheckResult result{"each answered transfer exactly once in the accounts", false, ""};
  ExpectedAccounts expected = expect_accounts(fixture, keys);
  auto readings = read_accounts(fixture.account_ids, drive_options, clock);
  if (!readings.ok()) {
    result.detail = "could not read: " + readings.message();
    return result;
  }
  std::int64_t extra_entries = 0;
  std::int64_t missing_entries = 0;
  std::int64_t balances_off = 0;
  std::int64_t entries_expected = 0;
  for (std::size_t index = 0; index < fixture.account_ids.size(); ++index) {
    const AccountReading& reading = readings.value()[index];
    std::int64_t difference = reading.entries - expected.entries[index];
    extra_entries += std::max<std::int64_t>(0, difference);
    missing_entries += std::max<std::int64_t>(0, -difference);
    balances_off += reading.balance_minor == expected.balance_minor[index] ? 0 : 1;
    entries_expected += expected.entries[index];
  }
  // A transfer has two entries, one in each test account.
  invariants.duplicate_effects = std::max(invariants.duplicate_effects, (extra_entries + 1) / 2);
  invariants.lost_acknowledged = std::max(invariants.lost_acknowledged, (missing_entries + 1) / 2);
  result.passed = extra_entries == 0 && missing_entries == 0 && balances_off == 0 && expected.open_keys == 0;
  result.detail = std::to_string(entries_expected) + " entries expected in " +
                  std::to_string(fixture.account_ids.size()) + " accounts: " + std::to_string(extra_entries) +
                  " extra, " + std::to_string(missing_entries) + " missing, " + std::to_string(balances_off) +
                  " balances off, " + std::to_string(expected.open_keys) + " keys without an outcome";
  return result;
}

}  // namespace

CheckResult resolve_open_keys(LoadResult& load, const DriveOptions& drive_options, Clock& clock) {
  CheckResult result{"every key has an outcome", false, ""};
  std::vector<std::uint64_t> open;
  std::vector<HttpRequest> requests;
  for (const KeyRecord* record : load.keys.every_key()) {
    if (has_decision(*record)) continue;
    bool asked_again =
        record->answers.empty() || says_try_again(record->answers.back().status, record->answers.back().code);
    if (!asked_again) continue;  // refused for good (400, 422, ...): no effect
    open.push_back(record->sequence);
    requests.push_back(record->request);
  }
  auto responses = exchange_all(drive_options, clock, std::move(requests));
  if (!responses.ok()) {
    result.detail =
        std::to_string(open.size()) + " keys open after the load; sending them again: " + responses.message();
    return result;
  }
  std::size_t still_open = 0;
  for (std::size_t index = 0; index < open.size(); ++index) {
    const HttpResponse& response = responses.value()[index];
    boost::json::object object = parse_object(response.body);
    bool success = response.status >= 200 && response.status < 300;
    KeyAnswer answer = make_key_answer(response, success ? text_member(object, "id") : std::string(),
                                       success ? std::string() : text_member(object, "code"));
    still_open += records_decision(answer) ? 0 : 1;
    load.keys.record_resend(open[index]);
    load.keys.record_answer(open[index], std::move(answer));
  }
  result.passed = still_open == 0;
  result.detail = std::to_string(open.size()) + " keys open after the load, " + std::to_string(still_open) +
                  " still open after sending them again";
  return result;
}

CheckResult check_one_effect_per_key(const KeyHistory& keys, std::int64_t& violations_found) {
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
  violations_found = static_cast<std::int64_t>(violations);
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

Checked check_through_api(WorkloadKind workload, const Fixture& fixture, const LoadResult& load,
                          const TrialBalance& before, bool exactly_once, const DriveOptions& drive_options,
                          Clock& clock) {
  Checked checked;
  Invariants& invariants = checked.invariants;
  checked.results.push_back(check_acknowledged_found(load, drive_options, clock, invariants.lost_acknowledged));
  checked.results.push_back(check_one_effect_per_key(load.keys, invariants.duplicate_effects));
  invariants.conserved = true;
  for (CheckResult& result : check_money(workload, fixture, before, drive_options, clock)) {
    if (result.name == "money conserved" || result.name == "trial balance sums to zero") {
      invariants.conserved = invariants.conserved && result.passed;
    }
    checked.results.push_back(std::move(result));
  }
  if (exactly_once) {
    checked.results.push_back(check_exactly_once(fixture, load.keys, drive_options, clock, invariants));
  }
  return checked;
}

}  // namespace payd::bench
