// Shared pieces of the acceptance suite: a real payd over HTTP, checked
// against API.md.
//
// A suite derives from PaydSuite and starts one payd for all its tests in
// SetUpTestSuite (tests then use fresh accounts, so they do not see each
// other's money). Helpers that set up state (create an account, deposit)
// record a failure when payd answers something unexpected, so a test never
// goes on silently from a broken precondition.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/support/http_client.h"
#include "tests/support/json_helpers.h"
#include "tests/support/payd_process.h"
#include "tests/support/postgres_server.h"
#include "tests/support/redis_server.h"

namespace payd::api_test {

using payd::testing::bool_at;
using payd::testing::HttpClient;
using payd::testing::HttpResponse;
using payd::testing::int_at;
using payd::testing::parse_json;
using payd::testing::PaydProcess;
using payd::testing::string_at;
using payd::testing::unique_idempotency_key;
using Headers = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::int64_t amount_max = 1'000'000'000'000'000;  // 10^15

// Starts payd on loopback port 0 in a fresh data directory with
// `--access-log off` and `extra_args`.
std::unique_ptr<PaydProcess> start_payd(const std::vector<std::string>& extra_args);
// With PAYD_TEST_LEDGER=postgresql: a fresh database on the run's PostgreSQL
// server; otherwise nullopt (the suite runs on SQLite).
std::optional<std::string> new_postgres_database();
// The run's PostgreSQL server (started on first use), or nullptr on SQLite.
payd::testing::PostgresServer* postgres_server();
// The run's redis-server with PAYD_TEST_CACHE=redis (started on first use),
// or nullptr: payd then uses its in-process cache.
payd::testing::RedisServer* redis_server();
// A payd on the given ledger URL, e.g. a second node on one database.
std::unique_ptr<PaydProcess> start_payd_on(const std::string& ledger_url, const std::vector<std::string>& extra_args);

std::string to_body(const boost::json::object& object);

// The JSON of a response body (null when it is not JSON).
boost::json::value json_of(const HttpResponse& response);

// Checks an RFC 9457 problem: HTTP status, Content-Type
// application/problem+json, members type (/problems/<code>), title, status,
// code, request_id (req_...), and `param` when one is expected. Returns the
// body. Use through EXPECT_PROBLEM for the caller's line in failures.
boost::json::value expect_problem_at(const char* file, int line, const HttpResponse& response, int status,
                                     std::string_view code, std::optional<std::string> param = std::nullopt);
#define EXPECT_PROBLEM(response, ...) ::payd::api_test::expect_problem_at(__FILE__, __LINE__, (response), __VA_ARGS__)

// Checks a success: HTTP status, Content-Type application/json, a JSON
// object body. Returns the body.
boost::json::value expect_json_at(const char* file, int line, const HttpResponse& response, int status);
#define EXPECT_JSON(response, status) ::payd::api_test::expect_json_at(__FILE__, __LINE__, (response), (status))

// The id-of-type check of API.md: `prefix` and then something.
bool has_prefix(const std::optional<std::string>& id, std::string_view prefix);
// RFC 3339 UTC: 2026-11-23T10:40:05Z, with optional fraction.
bool is_rfc3339_utc(const std::optional<std::string>& text);

// The money view of an account.
struct AccountState {
  std::int64_t balance = 0;
  std::int64_t held = 0;
  std::int64_t available = 0;
  std::int64_t version = 0;
  bool operator==(const AccountState&) const = default;
};
std::ostream& operator<<(std::ostream& out, const AccountState& state);

// A built-in account as /v1/admin/trial_balance lists it.
struct SystemAccount {
  std::string currency;
  std::string role;  // external, fees, gateway_clearing (as named by payd)
  std::string id;
  std::int64_t balance = 0;
  bool operator==(const SystemAccount&) const = default;
};

struct TrialBalance {
  bool parsed = false;  // false when the answer was not understood
  std::string raw;
  std::map<std::string, std::int64_t> sum_by_currency;
  std::vector<SystemAccount> system_accounts;

  // The built-in account of `currency` whose role contains `role`.
  std::optional<SystemAccount> system_account(const std::string& currency, std::string_view role) const;
  bool operator==(const TrialBalance& other) const {
    return sum_by_currency == other.sum_by_currency && system_accounts == other.system_accounts;
  }
};
std::ostream& operator<<(std::ostream& out, const TrialBalance& balance);

// Everything a rejected request must leave alone.
struct Snapshot {
  std::map<std::string, AccountState> accounts;
  TrialBalance trial_balance;
  bool operator==(const Snapshot&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Snapshot& snapshot);

// One connection to payd with helpers for the resources of API.md.
class Api {
 public:
  explicit Api(std::uint16_t port) : client_(port) {}

  HttpClient& client() { return client_; }

  HttpResponse get(const std::string& target);
  // POST with a JSON body; Idempotency-Key when `key` is set.
  HttpResponse post(const std::string& target, const std::string& body,
                    const std::optional<std::string>& key = std::nullopt, Headers headers = {});
  HttpResponse post(const std::string& target, const boost::json::object& body,
                    const std::optional<std::string>& key = std::nullopt) {
    return post(target, to_body(body), key);
  }
  HttpResponse patch(const std::string& target, const boost::json::object& body);
  HttpResponse put(const std::string& target, const boost::json::object& body);

  // Creating things; each expects success and returns the new id ("" on failure).
  std::string create_account(const std::string& currency = "USD", boost::json::object extra = {});
  std::string deposit(const std::string& account, std::int64_t amount, const std::string& currency = "USD");
  std::string funded_account(std::int64_t amount, const std::string& currency = "USD",
                             boost::json::object extra = {});
  std::string transfer(const std::string& from, const std::string& to, std::int64_t amount,
                       const std::string& currency = "USD");
  // A merchant settling in `currency` with the given fields over defaults
  // (name, max_amount 10^9); returns its JSON.
  boost::json::value create_merchant(boost::json::object fields = {}, const std::string& currency = "USD");
  std::string tokenize_card(const std::string& number, const std::string& customer = "");

  // Reading; each expects 200.
  boost::json::value account(const std::string& id);
  AccountState state(const std::string& id);
  boost::json::value payment(const std::string& id);
  TrialBalance trial_balance();
  Snapshot snapshot(const std::vector<std::string>& account_ids);
  // Every entry of an account, newest first, following starting_after.
  std::vector<boost::json::value> all_entries(const std::string& account);

 private:
  HttpClient client_;
};

// The value of one series (name and labels, as /metrics writes them) in
// the node's /metrics; nullopt when it is not there.
std::optional<std::int64_t> metric_value(Api& api, const std::string& series);

// Expects a sum of zero for each currency in the trial balance, and a line
// for each of `currencies`.
void expect_balanced_at(const char* file, int line, const TrialBalance& balance,
                        const std::vector<std::string>& currencies);
#define EXPECT_BALANCED(balance, ...) ::payd::api_test::expect_balanced_at(__FILE__, __LINE__, (balance), __VA_ARGS__)

// Base of the suites that share one payd. Derived suites define
//   static void SetUpTestSuite() { start_shared({...args...}); }
//   static void TearDownTestSuite() { stop_shared(); }
class PaydSuite : public ::testing::Test {
 protected:
  static void start_shared(const std::vector<std::string>& extra_args);
  static void stop_shared();
  static PaydProcess& payd() { return *shared_; }

  // Fails the test when payd is not up (restarting it for the next test).
  void SetUp() override;
  // Fails the test when payd died during it.
  void TearDown() override;

  Api& api() { return *api_; }
  std::uint16_t port() const { return shared_->port(); }

 private:
  static inline std::unique_ptr<PaydProcess> shared_;
  static inline std::vector<std::string> shared_args_;
  static inline std::string start_error_;
  std::unique_ptr<Api> api_;
};

}  // namespace payd::api_test
