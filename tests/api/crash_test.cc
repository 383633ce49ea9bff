// Crash safety (DESIGN.md, Failure behaviour: payd killed mid-batch): an
// acknowledged transfer survives SIGKILL, an unacknowledged one is applied at
// most once when retried with the same key, and the ledger stays consistent.
#include <atomic>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "tests/api/api_test.h"

namespace payd::api_test {
namespace {

constexpr int account_count = 20;
constexpr std::int64_t initial_balance = 1'000'000;
constexpr int client_count = 4;
constexpr auto traffic_before_kill = std::chrono::milliseconds(1'000);
constexpr auto traffic_max = std::chrono::milliseconds(2'000);
constexpr auto retry_deadline = std::chrono::seconds(30);

struct Attempt {
  std::string key;
  std::string body;
  std::string from;
  std::string to;
  std::int64_t amount = 0;
  int status = 0;  // 0: no final answer yet
  std::string answer;
};

bool is_final(int status) { return status == 201 || status == 402; }

// Sends `attempt` until it gets a final answer, waiting out 409 in-use and
// 503 (the in-flight state of a dead process is released within 10 s).
void retry_until_answered(Api& api, Attempt& attempt) {
  auto deadline = std::chrono::steady_clock::now() + retry_deadline;
  while (std::chrono::steady_clock::now() < deadline) {
    HttpResponse response;
    try {
      response = api.post("/v1/transfers", attempt.body, attempt.key);
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (is_final(response.status)) {
      attempt.status = response.status;
      attempt.answer = response.body;
      return;
    }
    if (response.status != 409 && response.status != 503) {
      ADD_FAILURE() << "retry of " << attempt.key << " got " << response.status << ": " << response.body;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ADD_FAILURE() << "retry of " << attempt.key << " got no final answer within 30 s";
}

TEST(Crash, Kill9MidTrafficLosesNothingAcknowledgedAndAppliesRetriesOnce) {
  std::unique_ptr<PaydProcess> payd = start_payd({"--rate-limits", "off"});
  std::vector<std::string> accounts;
  {
    Api api(payd->port());
    for (int i = 0; i < account_count; ++i) accounts.push_back(api.funded_account(initial_balance));
    ASSERT_FALSE(HasFailure()) << "setting up the accounts failed";
  }

  std::vector<std::vector<Attempt>> attempts(client_count);
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  const std::uint16_t port = payd->port();
  for (int c = 0; c < client_count; ++c) {
    clients.emplace_back([&, c] {
      Api api(port);
      api.client().set_timeout_ms(5'000);
      std::mt19937 random(static_cast<unsigned>(c + 1));
      auto end = std::chrono::steady_clock::now() + traffic_max;
      while (!stop.load() && std::chrono::steady_clock::now() < end) {
        Attempt attempt;
        int from = static_cast<int>(random() % account_count);
        int to = static_cast<int>((from + 1 + random() % (account_count - 1)) % account_count);
        attempt.from = accounts[from];
        attempt.to = accounts[to];
        attempt.amount = 1 + static_cast<std::int64_t>(random() % 1'000);
        attempt.key = unique_idempotency_key("crash");
        attempt.body = to_body({{"from", attempt.from}, {"to", attempt.to}, {"amount", attempt.amount}, {"currency", "USD"}});
        try {
          HttpResponse response = api.post("/v1/transfers", attempt.body, attempt.key);
          if (is_final(response.status)) {
            attempt.status = response.status;
            attempt.answer = response.body;
          }
          attempts[c].push_back(std::move(attempt));
        } catch (const std::exception&) {
          attempts[c].push_back(std::move(attempt));
          return;  // payd is gone; this attempt has no answer
        }
      }
    });
  }
  std::this_thread::sleep_for(traffic_before_kill);
  payd->kill9();
  stop = true;
  for (auto& client : clients) client.join();

  std::size_t acknowledged_before_crash = 0;
  std::size_t unanswered = 0;
  for (const auto& list : attempts) {
    for (const auto& attempt : list) {
      if (attempt.status == 201) ++acknowledged_before_crash;
      if (attempt.status == 0) ++unanswered;
    }
  }
  ASSERT_GT(acknowledged_before_crash, 0u) << "no transfer was acknowledged before the kill";
  std::printf("crash test: %zu acknowledged before the kill, %zu unanswered\n", acknowledged_before_crash, unanswered);

  payd->restart();
  Api api(payd->port());
  for (auto& list : attempts) {
    for (auto& attempt : list) {
      if (attempt.status == 0) retry_until_answered(api, attempt);
    }
  }

  // Every answered key replays its answer byte for byte.
  std::map<std::string, const Attempt*> by_transfer;
  std::map<std::string, std::int64_t> expected_balance;
  for (const auto& account : accounts) expected_balance[account] = initial_balance;
  for (const auto& list : attempts) {
    for (const auto& attempt : list) {
      if (attempt.status == 0) continue;
      HttpResponse replay = api.post("/v1/transfers", attempt.body, attempt.key);
      EXPECT_EQ(replay.status, attempt.status) << attempt.key;
      EXPECT_EQ(replay.body, attempt.answer) << attempt.key;
      EXPECT_EQ(replay.header("idempotent-replayed"), "true") << attempt.key;
      if (attempt.status != 201) continue;
      std::string id = string_at(parse_json(attempt.answer), "id").value_or("");
      ASSERT_TRUE(has_prefix(id, "tr_")) << attempt.answer;
      EXPECT_TRUE(by_transfer.emplace(id, &attempt).second) << "two keys got the same transfer " << id;
      expected_balance[attempt.from] -= attempt.amount;
      expected_balance[attempt.to] += attempt.amount;
    }
  }

  // Every acknowledged transfer exists, with its amounts, exactly once.
  for (const auto& [id, attempt] : by_transfer) {
    HttpResponse read = api.get("/v1/transfers/" + id);
    ASSERT_EQ(read.status, 200) << "acknowledged transfer " << id << " is missing: " << read.body;
    boost::json::value transfer = parse_json(read.body);
    EXPECT_EQ(string_at(transfer, "from"), attempt->from);
    EXPECT_EQ(string_at(transfer, "to"), attempt->to);
    EXPECT_EQ(int_at(transfer, "amount"), attempt->amount);
  }
  std::map<std::string, int> entries_per_transfer;
  std::int64_t total = 0;
  for (const auto& account : accounts) {
    AccountState state = api.state(account);
    EXPECT_EQ(state.balance, expected_balance[account]) << account;
    total += state.balance;
    std::vector<boost::json::value> entries = api.all_entries(account);
    EXPECT_EQ(static_cast<std::int64_t>(entries.size()), state.version) << account;
    for (const auto& entry : entries) {
      std::string transfer = string_at(entry, "transfer").value_or("");
      if (transfer.starts_with("dep_")) continue;
      auto known = by_transfer.find(transfer);
      if (known == by_transfer.end()) {
        ADD_FAILURE() << "entry for a transfer no client was told about: " << boost::json::serialize(entry);
        continue;
      }
      ++entries_per_transfer[transfer];
      std::int64_t expected = account == known->second->from ? -known->second->amount : known->second->amount;
      EXPECT_EQ(int_at(entry, "amount"), expected) << boost::json::serialize(entry);
    }
  }
  for (const auto& [id, attempt] : by_transfer) {
    EXPECT_EQ(entries_per_transfer[id], 2) << "transfer " << id << " must post one debit and one credit";
  }
  EXPECT_EQ(total, initial_balance * account_count) << "money was created or destroyed";
  EXPECT_BALANCED(api.trial_balance(), {"USD"});

  testing::CommandResult verified = payd->verify();
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
}

TEST(Crash, Kill9DuringACardPaymentChargesOnce) {
  // The simulated gateway takes 1.5 s to approve; payd dies while it waits.
  std::unique_ptr<PaydProcess> payd = start_payd(
      {"--rate-limits", "off", "--gateway-latency-ms", "1500", "--gateway-timeout-ms", "5000", "--recovery-interval-ms", "200"});
  std::string merchant;
  std::string merchant_account;
  std::string body;
  {
    Api api(payd->port());
    boost::json::value created = api.create_merchant({{"fee_bps", 100}});
    merchant = string_at(created, "id").value_or("");
    merchant_account = string_at(created, "account").value_or("");
    std::string method = api.tokenize_card("4242424242424242");
    body = to_body({{"amount", 2'000}, {"currency", "USD"}, {"merchant", merchant}, {"payment_method", method}});
    ASSERT_FALSE(HasFailure());
  }
  const std::string key = unique_idempotency_key("card-crash");
  std::atomic<int> answered_before_kill{0};
  std::thread client([&, port = payd->port()] {
    Api api(port);
    try {
      answered_before_kill = api.post("/v1/payments", body, key).status;
    } catch (const std::exception&) {
      // Expected: payd is killed while the gateway call is in flight.
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  payd->kill9();
  client.join();
  EXPECT_EQ(answered_before_kill.load(), 0)
      << "the payment was answered before the kill, so the crash did not hit it in flight";
  payd->restart();

  Api api(payd->port());
  std::string payment;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    HttpResponse retry = api.post("/v1/payments", body, key);
    if (retry.status == 201 || retry.status == 202) {
      payment = string_at(parse_json(retry.body), "id").value_or("");
      auto status = string_at(parse_json(retry.body), "status");
      if (status == "captured") break;
    } else if (retry.status != 409 && retry.status != 503) {
      ADD_FAILURE() << "retry after the crash got " << retry.status << ": " << retry.body;
      break;
    }
    if (!payment.empty() && string_at(api.payment(payment), "status") == "captured") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(has_prefix(payment, "pay_")) << "the retried payment never got an answer";
  boost::json::value resolved = api.payment(payment);
  EXPECT_EQ(string_at(resolved, "status"), "captured") << boost::json::serialize(resolved);

  HttpResponse listed = api.get("/v1/payments?merchant=" + merchant);
  boost::json::value list = parse_json(listed.body);
  const boost::json::value* data = testing::find_path(list, "data");
  ASSERT_TRUE(data && data->is_array()) << listed.body;
  EXPECT_EQ(data->get_array().size(), 1u) << "one request, one payment: " << listed.body;
  EXPECT_EQ(api.state(merchant_account).balance, 2'000 - 20) << "charged exactly once";
  EXPECT_BALANCED(api.trial_balance(), {"USD"});
  testing::CommandResult verified = payd->verify();
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
}

}  // namespace
}  // namespace payd::api_test
