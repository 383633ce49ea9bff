#include "tests/api/api_test.h"

#include <cstdlib>

#include "tests/support/postgres_server.h"

#include <cctype>
#include <cstdio>
#include <regex>
#include <sstream>

namespace payd::api_test {
namespace {

constexpr int entry_pages_max = 1000;

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

bool is_currency_code(std::string_view text) {
  return text.size() == 3 && std::isupper(static_cast<unsigned char>(text[0])) &&
         std::isupper(static_cast<unsigned char>(text[1])) && std::isupper(static_cast<unsigned char>(text[2]));
}

// The integer member holding a trial balance line's sum, when there is one.
std::optional<std::int64_t> line_sum(const boost::json::value& line) {
  for (const char* name : {"sum", "total", "balance_sum", "sum_of_balances"}) {
    if (auto sum = int_at(line, name)) return sum;
  }
  return std::nullopt;
}

// Collects the built-in accounts listed inside one currency's line: objects
// with an account id and a balance, named by their role member or by the key
// they are found under.
void collect_system_accounts(const boost::json::value& value, const std::string& currency, const std::string& key,
                             TrialBalance& out) {
  if (value.is_array()) {
    for (const auto& element : value.get_array()) collect_system_accounts(element, currency, key, out);
    return;
  }
  if (!value.is_object()) return;
  auto id = string_at(value, "id");
  auto balance = int_at(value, "balance");
  if (id && starts_with(*id, "acct_") && balance) {
    SystemAccount account;
    account.currency = currency;
    account.id = *id;
    account.balance = *balance;
    account.role = string_at(value, "role").value_or(string_at(value, "name").value_or(key));
    out.system_accounts.push_back(account);
    return;
  }
  for (const auto& member : value.get_object()) {
    collect_system_accounts(member.value(), currency, std::string(member.key()), out);
  }
}

// Finds currency lines anywhere in the answer: objects with a sum and a
// currency (as a member, or as the key they are found under).
void collect_lines(const boost::json::value& value, const std::string& key, TrialBalance& out) {
  if (value.is_array()) {
    for (const auto& element : value.get_array()) collect_lines(element, key, out);
    return;
  }
  if (!value.is_object()) return;
  auto sum = line_sum(value);
  auto currency = string_at(value, "currency");
  if (!currency && is_currency_code(key)) currency = key;
  if (sum && currency) {
    out.sum_by_currency[*currency] = *sum;
    for (const auto& member : value.get_object()) {
      collect_system_accounts(member.value(), *currency, std::string(member.key()), out);
    }
    return;
  }
  for (const auto& member : value.get_object()) collect_lines(member.value(), std::string(member.key()), out);
}

}  // namespace

payd::testing::PostgresServer* postgres_server() {
  const char* ledger = std::getenv("PAYD_TEST_LEDGER");
  if (!ledger || std::string(ledger) != "postgresql") return nullptr;
  static payd::testing::PostgresServer server;
  return &server;
}

std::optional<std::string> new_postgres_database() {
  payd::testing::PostgresServer* server = postgres_server();
  if (!server) return std::nullopt;
  static int databases_made = 0;
  return server->create_database("api_" + std::to_string(++databases_made));
}

// The ledger the suite runs on: SQLite in payd's data folder, or, with
// PAYD_TEST_LEDGER=postgresql, a fresh database of one PostgreSQL server
// that this test process starts (the conformance run of both backends).
std::vector<std::string> ledger_args() {
  std::optional<std::string> url = new_postgres_database();
  if (!url) return {};
  return {"--ledger", *url};
}

payd::testing::RedisServer* redis_server() {
  const char* cache = std::getenv("PAYD_TEST_CACHE");
  if (!cache || std::string(cache) != "redis") return nullptr;
  static payd::testing::RedisServer server([] {
    payd::testing::RedisServerOptions options;
    options.password = "conformance";
    options.config_lines = {"databases 4096"};
    return options;
  }());
  return &server;
}

// With PAYD_TEST_CACHE=redis, a fresh database (number) of one redis-server
// that this test process starts, so that payd processes of different suites
// do not share cached outcomes.
std::vector<std::string> cache_args() {
  payd::testing::RedisServer* server = redis_server();
  if (!server) return {};
  static int databases_used = 0;
  return {"--cache-url", "redis://:conformance@127.0.0.1:" + std::to_string(server->port()) + "/" +
                             std::to_string(++databases_used % 4096)};
}

std::unique_ptr<PaydProcess> start_payd_on(const std::string& ledger_url, const std::vector<std::string>& extra_args) {
  PaydProcess::Options options;
  options.payd_binary = PAYD_BINARY;
  options.payctl_binary = PAYCTL_BINARY;
  options.extra_args = {"--access-log", "off", "--ledger", ledger_url};
  options.extra_args.insert(options.extra_args.end(), extra_args.begin(), extra_args.end());
  return std::make_unique<PaydProcess>(std::move(options));
}

std::unique_ptr<PaydProcess> start_payd(const std::vector<std::string>& extra_args) {
  PaydProcess::Options options;
  options.payd_binary = PAYD_BINARY;
  options.payctl_binary = PAYCTL_BINARY;
  options.extra_args = {"--access-log", "off"};
  std::vector<std::string> ledger = ledger_args();
  options.extra_args.insert(options.extra_args.end(), ledger.begin(), ledger.end());
  std::vector<std::string> cache = cache_args();
  options.extra_args.insert(options.extra_args.end(), cache.begin(), cache.end());
  options.extra_args.insert(options.extra_args.end(), extra_args.begin(), extra_args.end());
  return std::make_unique<PaydProcess>(std::move(options));
}

std::string to_body(const boost::json::object& object) { return boost::json::serialize(object); }

boost::json::value json_of(const HttpResponse& response) { return parse_json(response.body); }

boost::json::value expect_problem_at(const char* file, int line, const HttpResponse& response, int status,
                                     std::string_view code, std::optional<std::string> param) {
  ::testing::ScopedTrace trace(file, line, "expected problem " + std::to_string(status) + " " + std::string(code));
  EXPECT_EQ(response.status, status) << response.body;
  EXPECT_TRUE(starts_with(response.header("content-type"), "application/problem+json"))
      << "Content-Type: " << response.header("content-type");
  boost::json::value body = json_of(response);
  EXPECT_TRUE(body.is_object()) << "problem body is not a JSON object: " << response.body;
  EXPECT_EQ(string_at(body, "code"), std::string(code)) << response.body;
  auto type = string_at(body, "type");
  EXPECT_TRUE(type && ends_with(*type, "/problems/" + std::string(code))) << response.body;
  auto title = string_at(body, "title");
  EXPECT_TRUE(title && !title->empty()) << response.body;
  EXPECT_EQ(int_at(body, "status"), status) << response.body;
  EXPECT_TRUE(has_prefix(string_at(body, "request_id"), "req_")) << response.body;
  if (param) {
    EXPECT_EQ(string_at(body, "param"), *param) << response.body;
  }
  return body;
}

boost::json::value expect_json_at(const char* file, int line, const HttpResponse& response, int status) {
  ::testing::ScopedTrace trace(file, line, "expected JSON answer " + std::to_string(status));
  EXPECT_EQ(response.status, status) << response.body;
  EXPECT_TRUE(starts_with(response.header("content-type"), "application/json"))
      << "Content-Type: " << response.header("content-type");
  boost::json::value body = json_of(response);
  EXPECT_TRUE(body.is_object()) << "body is not a JSON object: " << response.body;
  return body;
}

bool has_prefix(const std::optional<std::string>& id, std::string_view prefix) {
  return id && id->size() > prefix.size() && starts_with(*id, prefix);
}

bool is_rfc3339_utc(const std::optional<std::string>& text) {
  static const std::regex pattern(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$)");
  return text && std::regex_match(*text, pattern);
}

std::ostream& operator<<(std::ostream& out, const AccountState& state) {
  return out << "{balance " << state.balance << ", held " << state.held << ", available " << state.available
             << ", version " << state.version << "}";
}

std::optional<SystemAccount> TrialBalance::system_account(const std::string& currency, std::string_view role) const {
  for (const auto& account : system_accounts) {
    if (account.currency == currency && account.role.find(role) != std::string::npos) return account;
  }
  return std::nullopt;
}

std::ostream& operator<<(std::ostream& out, const TrialBalance& balance) { return out << balance.raw; }

std::ostream& operator<<(std::ostream& out, const Snapshot& snapshot) {
  for (const auto& [id, state] : snapshot.accounts) out << id << " " << state << "; ";
  return out << "trial balance " << snapshot.trial_balance;
}

HttpResponse Api::get(const std::string& target) { return client_.request("GET", target); }

HttpResponse Api::post(const std::string& target, const std::string& body, const std::optional<std::string>& key,
                       Headers headers) {
  if (key) headers.emplace_back("Idempotency-Key", *key);
  return client_.request("POST", target, body, headers);
}

HttpResponse Api::patch(const std::string& target, const boost::json::object& body) {
  return client_.request("PATCH", target, to_body(body));
}

HttpResponse Api::put(const std::string& target, const boost::json::object& body) {
  return client_.request("PUT", target, to_body(body));
}

std::string Api::create_account(const std::string& currency, boost::json::object extra) {
  extra["currency"] = currency;
  HttpResponse response = post("/v1/accounts", extra);
  EXPECT_EQ(response.status, 201) << "creating an account: " << response.body;
  return string_at(json_of(response), "id").value_or("");
}

std::string Api::deposit(const std::string& account, std::int64_t amount, const std::string& currency) {
  HttpResponse response = post("/v1/deposits", {{"account", account}, {"amount", amount}, {"currency", currency}},
                               unique_idempotency_key("deposit"));
  EXPECT_EQ(response.status, 201) << "depositing " << amount << " to " << account << ": " << response.body;
  return string_at(json_of(response), "id").value_or("");
}

std::string Api::funded_account(std::int64_t amount, const std::string& currency, boost::json::object extra) {
  std::string id = create_account(currency, std::move(extra));
  if (amount > 0) deposit(id, amount, currency);
  return id;
}

std::string Api::transfer(const std::string& from, const std::string& to, std::int64_t amount,
                          const std::string& currency) {
  HttpResponse response = post("/v1/transfers",
                               {{"from", from}, {"to", to}, {"amount", amount}, {"currency", currency}},
                               unique_idempotency_key("transfer"));
  EXPECT_EQ(response.status, 201) << "transferring " << amount << ": " << response.body;
  return string_at(json_of(response), "id").value_or("");
}

boost::json::value Api::create_merchant(boost::json::object fields, const std::string& currency) {
  boost::json::object body = {{"name", "Test Shop"}, {"settlement_currency", currency}, {"max_amount", 1'000'000'000}};
  for (const auto& member : fields) body[member.key()] = member.value();
  HttpResponse response = post("/v1/merchants", body);
  EXPECT_EQ(response.status, 201) << "creating a merchant: " << response.body;
  return json_of(response);
}

std::string Api::tokenize_card(const std::string& number, const std::string& customer) {
  boost::json::object body = {{"type", "card"}, {"card", {{"number", number}, {"exp_month", 12}, {"exp_year", 2034}}}};
  if (!customer.empty()) body["customer"] = customer;
  HttpResponse response = post("/v1/payment_methods", body);
  EXPECT_EQ(response.status, 201) << "tokenising a card: " << response.body;
  return string_at(json_of(response), "id").value_or("");
}

boost::json::value Api::account(const std::string& id) {
  HttpResponse response = get("/v1/accounts/" + id);
  EXPECT_EQ(response.status, 200) << "reading account " << id << ": " << response.body;
  return json_of(response);
}

AccountState Api::state(const std::string& id) {
  boost::json::value json = account(id);
  AccountState state;
  state.balance = int_at(json, "balance").value_or(INT64_MIN);
  state.held = int_at(json, "held").value_or(INT64_MIN);
  state.available = int_at(json, "available").value_or(INT64_MIN);
  state.version = int_at(json, "version").value_or(INT64_MIN);
  return state;
}

boost::json::value Api::payment(const std::string& id) {
  HttpResponse response = get("/v1/payments/" + id);
  EXPECT_EQ(response.status, 200) << "reading payment " << id << ": " << response.body;
  return json_of(response);
}

TrialBalance Api::trial_balance() {
  HttpResponse response = get("/v1/admin/trial_balance");
  EXPECT_EQ(response.status, 200) << "reading the trial balance: " << response.body;
  TrialBalance balance;
  balance.raw = response.body;
  boost::json::value json = json_of(response);
  collect_lines(json, "", balance);
  balance.parsed = response.status == 200 && !balance.sum_by_currency.empty();
  return balance;
}

Snapshot Api::snapshot(const std::vector<std::string>& account_ids) {
  Snapshot snapshot;
  for (const auto& id : account_ids) snapshot.accounts[id] = state(id);
  snapshot.trial_balance = trial_balance();
  return snapshot;
}

std::vector<boost::json::value> Api::all_entries(const std::string& account) {
  std::vector<boost::json::value> entries;
  std::string starting_after;
  for (int page = 0; page < entry_pages_max; ++page) {
    std::string target = "/v1/accounts/" + account + "/entries?limit=100";
    if (!starting_after.empty()) target += "&starting_after=" + starting_after;
    HttpResponse response = get(target);
    EXPECT_EQ(response.status, 200) << "listing entries of " << account << ": " << response.body;
    boost::json::value list = json_of(response);
    const boost::json::value* data = testing::find_path(list, "data");
    if (response.status != 200 || data == nullptr || !data->is_array()) return entries;
    for (const auto& entry : data->get_array()) entries.push_back(entry);
    if (data->get_array().empty() || !bool_at(list, "has_more").value_or(false)) return entries;
    starting_after = string_at(entries.back(), "id").value_or("");
  }
  ADD_FAILURE() << "entries of " << account << " did not end within " << entry_pages_max << " pages";
  return entries;
}

void expect_balanced_at(const char* file, int line, const TrialBalance& balance,
                        const std::vector<std::string>& currencies) {
  ::testing::ScopedTrace trace(file, line, "expected a balanced trial balance");
  EXPECT_TRUE(balance.parsed) << "no per-currency sums found in " << balance.raw;
  for (const auto& [currency, sum] : balance.sum_by_currency) {
    EXPECT_EQ(sum, 0) << "sum of all " << currency << " balances: " << balance.raw;
  }
  for (const auto& currency : currencies) {
    EXPECT_TRUE(balance.sum_by_currency.contains(currency)) << "no " << currency << " line in " << balance.raw;
  }
}

void PaydSuite::start_shared(const std::vector<std::string>& extra_args) {
  shared_args_ = extra_args;
  start_error_.clear();
  try {
    shared_ = start_payd(extra_args);
  } catch (const std::exception& error) {
    shared_.reset();
    start_error_ = error.what();
  }
}

void PaydSuite::stop_shared() { shared_.reset(); }

void PaydSuite::SetUp() {
  if (!shared_) GTEST_FAIL() << "payd did not start: " << start_error_;
  if (!shared_->running()) {
    // A crash was reported by the test that caused it; start afresh.
    std::fprintf(stderr, "payd is not running; restarting it for this test\n");
    try {
      shared_->restart();
    } catch (const std::exception& error) {
      GTEST_FAIL() << "payd did not restart: " << error.what();
    }
  }
  api_ = std::make_unique<Api>(shared_->port());
}

void PaydSuite::TearDown() {
  api_.reset();
  if (shared_ && !shared_->running()) ADD_FAILURE() << "payd died during this test; its log:\n" << shared_->log_tail();
}

std::optional<std::int64_t> metric_value(Api& api, const std::string& series) {
  std::istringstream metrics(api.get("/metrics").body);
  std::string line;
  while (std::getline(metrics, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
      return std::stoll(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

}  // namespace payd::api_test
