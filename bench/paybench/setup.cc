#include "bench/paybench/setup.h"

#include <cassert>
#include <ctime>
#include <utility>
#include <vector>

#include "bench/paybench/json_fields.h"
#include "core/json_writer.h"

namespace payd::bench {
namespace {

// How far in the future the test card expires, in years.
constexpr int card_expiry_years = 3;

// POSTs each body to `target` with a fresh key; every answer must be 201.
// The answers as JSON objects, in the order of `bodies`.
Expected<std::vector<boost::json::object>> post_all(const DriveOptions& drive_options, Clock& clock, KeyMaker& keys,
                                                    const std::string& target, std::vector<std::string> bodies) {
  std::vector<HttpRequest> requests;
  requests.reserve(bodies.size());
  for (std::string& body : bodies) requests.push_back(HttpRequest{"POST", target, std::move(body), keys.next().second});
  Expected<std::vector<HttpResponse>> responses = exchange_all(drive_options, clock, std::move(requests));
  if (!responses.ok()) return Failure{responses.message()};
  std::vector<boost::json::object> objects;
  objects.reserve(responses.value().size());
  for (const HttpResponse& response : responses.value()) {
    if (response.status != 201) return Failure{"setup: POST " + target + " answered " + describe(response)};
    objects.push_back(parse_object(response.body));
  }
  return objects;
}

Outcome create_accounts(const SetupOptions& options, const DriveOptions& drive_options, Clock& clock, KeyMaker& keys,
                        Fixture& fixture) {
  std::string body;
  JsonWriter(body).begin_object().member("currency", options.currency).end_object();
  auto created = post_all(drive_options, clock, keys, "/v1/accounts", std::vector<std::string>(options.accounts, body));
  if (!created.ok()) return Failure{created.message()};
  for (const auto& account : created.value()) {
    std::string id = text_member(account, "id");
    if (id.empty()) return Failure{"setup: an account without an id"};
    fixture.account_ids.push_back(std::move(id));
  }
  return Done{};
}

Outcome deposit(const SetupOptions& options, const DriveOptions& drive_options, Clock& clock, KeyMaker& keys,
                Fixture& fixture) {
  std::vector<std::string> bodies;
  bodies.reserve(fixture.account_ids.size());
  for (const std::string& account : fixture.account_ids) {
    std::string body;
    JsonWriter json(body);
    json.begin_object().member("account", account).member("amount", options.deposit_minor);
    json.member("currency", options.currency).end_object();
    bodies.push_back(std::move(body));
  }
  auto deposits = post_all(drive_options, clock, keys, "/v1/deposits", std::move(bodies));
  if (!deposits.ok()) return Failure{deposits.message()};
  for (const auto& made : deposits.value()) {
    std::optional<std::int64_t> amount = integer_member(made, "amount");
    if (amount != options.deposit_minor) return Failure{"setup: a deposit answered with another amount"};
    fixture.deposited_minor += *amount;
  }
  return Done{};
}

// `count` merchants alike but for their names, created concurrently.
Outcome create_merchants(const SetupOptions& options, std::size_t count, const DriveOptions& drive_options,
                         Clock& clock, KeyMaker& keys, Fixture& fixture) {
  std::vector<std::string> bodies;
  bodies.reserve(count);
  for (std::size_t index = 0; index < count; ++index) {
    std::string body;
    JsonWriter json(body);
    json.begin_object().member("name", "paybench " + keys.run_id() + " " + std::to_string(index));
    json.member("settlement_currency", options.currency).member("max_amount", merchant_max_amount_minor);
    json.member("fee_bps", merchant_fee_bps).member("fee_fixed", merchant_fee_fixed_minor).end_object();
    bodies.push_back(std::move(body));
  }
  auto created = post_all(drive_options, clock, keys, "/v1/merchants", std::move(bodies));
  if (!created.ok()) return Failure{created.message()};
  for (const auto& merchant : created.value()) {
    FixtureMerchant made{text_member(merchant, "id"), text_member(merchant, "account")};
    if (made.id.empty() || made.account_id.empty()) return Failure{"setup: a merchant without an id or an account"};
    fixture.merchants.push_back(std::move(made));
  }
  return Done{};
}

Outcome create_payment_method(const DriveOptions& drive_options, Clock& clock, KeyMaker& keys, Fixture& fixture) {
  std::time_t now_s = static_cast<std::time_t>(clock.now_ms() / 1000);
  std::tm utc{};
  gmtime_r(&now_s, &utc);
  std::string body;
  JsonWriter json(body);
  json.begin_object().member("type", "card").key("card").begin_object().member("number", test_card_number);
  json.member("exp_month", 12).member("exp_year", utc.tm_year + 1900 + card_expiry_years);
  json.end_object().end_object();
  auto created = post_all(drive_options, clock, keys, "/v1/payment_methods", {std::move(body)});
  if (!created.ok()) return Failure{created.message()};
  fixture.payment_method_id = text_member(created.value().front(), "id");
  if (fixture.payment_method_id.empty()) return Failure{"setup: the payment method has no id"};
  return Done{};
}

}  // namespace

Expected<Fixture> set_up(const SetupOptions& options, const DriveOptions& drive_options, KeyMaker& keys, Clock& clock) {
  assert(options.accounts >= 2);
  assert(options.deposit_minor > 0);
  assert(options.merchants >= 1);
  Fixture fixture;
  fixture.currency = options.currency;
  Outcome step = create_accounts(options, drive_options, clock, keys, fixture);
  if (step.ok()) step = deposit(options, drive_options, clock, keys, fixture);
  std::size_t merchants = merchants_for(options.workload, options.merchants);
  if (step.ok() && merchants > 0) step = create_merchants(options, merchants, drive_options, clock, keys, fixture);
  if (step.ok() && options.workload == WorkloadKind::payment_mix) {
    step = create_payment_method(drive_options, clock, keys, fixture);
  }
  if (!step.ok()) return Failure{step.message()};
  assert(fixture.account_ids.size() == options.accounts);
  assert(fixture.merchants.size() == merchants);
  return fixture;
}

}  // namespace payd::bench
