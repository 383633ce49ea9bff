// The PostgreSQL ledger as a whole, against a harness-started server: the
// writer thread and reads beside it, several ledgers ("nodes") on one
// database, and the server dying under the writer.
#include "ledger/postgres/postgres_ledger.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "ledger/postgres/connection.h"
#include "tests/ledger/postgres/shared_server.h"

namespace payd::ledger::postgres {
namespace {

// One payd node: its own clock, ids, metrics and ledger.
struct Node {
  explicit Node(const std::string& url, std::uint64_t seed) : random(seed), ids(clock, random) {
    PostgresOptions options;
    options.url = url;
    options.connect_timeout_s = 2;
    ledger = std::make_unique<PostgresLedger>(options, ids, clock, random, registry);
  }
  std::future<Outcome> submit(Command command, std::optional<IdempotencyTag> tag = std::nullopt) {
    auto promise = std::make_shared<std::promise<Outcome>>();
    std::future<Outcome> future = promise->get_future();
    ledger->submit(Submission{std::move(command), std::move(tag), "req_test"},
                   [promise](Outcome outcome) { promise->set_value(std::move(outcome)); });
    return future;
  }
  Outcome run(Command command, std::optional<IdempotencyTag> tag = std::nullopt) {
    return submit(std::move(command), std::move(tag)).get();
  }

  SystemClock clock;
  SeededRandom random;
  IdGenerator ids;
  metrics::Registry registry;
  std::unique_ptr<PostgresLedger> ledger;
};

std::string id_of(const Outcome& outcome) { return outcome.reply.body.substr(7, outcome.reply.body.find('"', 7) - 7); }

MakeTransfer transfer(const std::string& from, const std::string& to, Minor amount) {
  return MakeTransfer{from, to, amount, "USD", "", "{}"};
}

// Every balance equals the sum of its entries, and entries sum to zero.
void expect_ledger_balances(const std::string& url) {
  Connection connection(url, 5);
  Rows mismatched = connection.query(
      "SELECT count(*) FROM balances b WHERE b.balance <> (SELECT coalesce(sum(amount), 0) FROM entries e WHERE "
      "e.account = b.account) OR b.version <> (SELECT count(*) FROM entries e WHERE e.account = b.account)",
      Parameters{});
  EXPECT_EQ(mismatched.integer(0, 0), 0);
  Rows total = connection.query("SELECT coalesce(sum(amount), 0)::bigint FROM entries", Parameters{});
  EXPECT_EQ(total.integer(0, 0), 0);
}

TEST(PostgresLedgerTest, WritesReplaysReadsPagesAndPurges) {
  std::string url = fresh_database_url();
  Node node(url, 1);
  ASSERT_TRUE(node.ledger->open().ok());
  std::string a = id_of(node.run(CreateAccount{"USD", AccountType::customer, 0, "{}"}));
  std::string b = id_of(node.run(CreateAccount{"USD", AccountType::customer, 0, "{}"}));
  ASSERT_EQ(node.run(MakeDeposit{a, 100, "USD", "{}"}).reply.status, 201u);
  IdempotencyTag tag{"key-1", "fingerprint-1"};
  Outcome first = node.run(transfer(a, b, 10), tag);
  Outcome again = node.run(transfer(a, b, 10), tag);
  ASSERT_EQ(first.reply.status, 201u);
  EXPECT_EQ(again.kind, Outcome::Kind::replayed);
  EXPECT_EQ(again.reply.body, first.reply.body);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(node.run(transfer(a, b, 1)).reply.status, 201u);
  EXPECT_EQ(node.ledger->account(a).value().balance, 86);
  EXPECT_TRUE(node.ledger->transfer(id_of(first)).ok());

  Page page;
  page.limit = 2;
  Result<List<Entry>> newest = node.ledger->entries(a, page);
  ASSERT_TRUE(newest.ok());
  ASSERT_EQ(newest.value().data.size(), 2u);
  EXPECT_TRUE(newest.value().has_more);
  EXPECT_EQ(newest.value().data[0].sequence, 6);
  page.starting_after = newest.value().data[1].id;
  page.limit = 10;
  Result<List<Entry>> rest = node.ledger->entries(a, page);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest.value().data.size(), 4u);
  EXPECT_FALSE(rest.value().has_more);
  EXPECT_EQ(rest.value().data.back().sequence, 1);
  page.starting_after = "ent_nonsense";
  EXPECT_EQ(node.ledger->entries(a, page).problem().status(), 400u);

  EXPECT_TRUE(node.ledger->has_idempotency_key("key-1").value());
  EXPECT_EQ(node.ledger->purge_idempotency(node.clock.now_ms() - 3'600'000).value(), 0);
  EXPECT_EQ(node.ledger->purge_idempotency(node.clock.now_ms() + 1).value(), 1);
  EXPECT_FALSE(node.ledger->has_idempotency_key("key-1").value());
  // A currency with accounts but no money moved yet has a line too.
  ASSERT_EQ(node.run(CreateAccount{"EUR", AccountType::customer, 0, "{}"}).reply.status, 201u);
  std::vector<TrialBalanceLine> lines = node.ledger->trial_balance().value();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].currency, "EUR");
  EXPECT_EQ(lines[0].sum, 0);
  EXPECT_TRUE(lines[0].system_accounts.empty());
  EXPECT_EQ(lines[1].currency, "USD");
  EXPECT_EQ(lines[1].sum, 0);
  ASSERT_FALSE(lines[1].system_accounts.empty()) << "the deposit came from a system account";
  for (const Account& account : lines[1].system_accounts) {
    EXPECT_EQ(account.currency, "USD");
    EXPECT_NE(account.role, SystemRole::none);
  }
  node.ledger->shutdown();
  expect_ledger_balances(url);
}

TEST(PostgresLedgerTest, TwoNodesOnOneHotAccountConserveMoneyAndNeverOverdraw) {
  std::string url = fresh_database_url();
  Node first(url, 1), second(url, 2);
  ASSERT_TRUE(first.ledger->open().ok());
  ASSERT_TRUE(second.ledger->open().ok());
  std::string hot = id_of(first.run(CreateAccount{"USD", AccountType::customer, 0, "{}"}));
  std::string other = id_of(first.run(CreateAccount{"USD", AccountType::customer, 0, "{}"}));
  ASSERT_EQ(first.run(MakeDeposit{hot, 1000, "USD", "{}"}).reply.status, 201u);
  // 2 x 300 transfers of 3 from a balance of 1000: at most 333 can succeed.
  constexpr int transfers_per_node = 300;
  std::vector<std::future<Outcome>> futures;
  for (int i = 0; i < transfers_per_node; ++i) {
    futures.push_back(first.submit(transfer(hot, other, 3)));
    futures.push_back(second.submit(transfer(hot, other, 3)));
    if (i % 50 == 0) futures.push_back(second.submit(MakeDeposit{other, 1, "USD", "{}"}));
  }
  int succeeded = 0, refused = 0, deposits = 0;
  for (auto& future : futures) {
    Outcome outcome = future.get();
    if (outcome.reply.body.find("\"dep_") != std::string::npos) {
      ++deposits;
      continue;
    }
    if (outcome.reply.status == 201) ++succeeded;
    if (outcome.reply.status == 402) ++refused;
    EXPECT_TRUE(outcome.reply.status == 201 || outcome.reply.status == 402) << outcome.reply.body;
  }
  EXPECT_EQ(succeeded, 333);
  EXPECT_EQ(succeeded + refused, 2 * transfers_per_node);
  EXPECT_EQ(first.ledger->account(hot).value().balance, 1);
  EXPECT_EQ(second.ledger->account(other).value().balance, 999 + deposits);
  first.ledger->shutdown();
  second.ledger->shutdown();
  expect_ledger_balances(url);
}

TEST(PostgresLedgerTest, SameKeyOnTwoNodesAtOnceHasExactlyOneEffect) {
  std::string url = fresh_database_url();
  Node first(url, 1), second(url, 2);
  ASSERT_TRUE(first.ledger->open().ok());
  ASSERT_TRUE(second.ledger->open().ok());
  std::string a = id_of(first.run(CreateAccount{"USD", AccountType::customer, 0, "{}"}));
  std::string b = id_of(first.run(CreateAccount{"USD", AccountType::customer, 0, "{}"}));
  ASSERT_EQ(first.run(MakeDeposit{a, 10'000, "USD", "{}"}).reply.status, 201u);
  constexpr int keys = 40;
  for (int i = 0; i < keys; ++i) {
    IdempotencyTag tag{"shared-" + std::to_string(i), "fingerprint"};
    // Also deposits, whose system account both nodes lock late.
    std::future<Outcome> one = first.submit(transfer(a, b, 5), tag);
    std::future<Outcome> two = second.submit(transfer(a, b, 5), tag);
    std::future<Outcome> noise = second.submit(MakeDeposit{b, 1, "USD", "{}"});
    Outcome left = one.get(), right = two.get();
    ASSERT_EQ(left.reply.status, 201u) << left.reply.body;
    ASSERT_EQ(right.reply.status, 201u) << right.reply.body;
    EXPECT_EQ(left.reply.body, right.reply.body);
    EXPECT_EQ(noise.get().reply.status, 201u);
  }
  EXPECT_EQ(first.ledger->account(a).value().balance, 10'000 - 5 * keys);
  first.ledger->shutdown();
  second.ledger->shutdown();
  expect_ledger_balances(url);
}

TEST(PostgresLedgerTest, ServerCrashAnswersUnavailableThenRecoversByItself) {
  testing::PostgresServer server;
  Node node(server.url(), 3);
  ASSERT_TRUE(node.ledger->open().ok());
  std::string a = id_of(node.run(CreateAccount{"USD", AccountType::customer, 0, "{}"}));
  ASSERT_EQ(node.run(MakeDeposit{a, 100, "USD", "{}"}).reply.status, 201u);
  std::vector<std::future<Outcome>> during;
  for (int i = 0; i < 50; ++i) during.push_back(node.submit(MakeDeposit{a, 1, "USD", "{}"}));
  server.stop_immediate();
  for (int i = 0; i < 5; ++i) {
    Outcome down = node.run(MakeDeposit{a, 1, "USD", "{}"});
    EXPECT_EQ(down.reply.status, 503u);
    EXPECT_NE(down.reply.body.find("unavailable"), std::string::npos);
  }
  EXPECT_FALSE(node.ledger->healthy());
  EXPECT_EQ(node.ledger->account(a).problem().status(), 503u);
  int acknowledged = 0;
  for (auto& future : during) {
    Outcome outcome = future.get();
    EXPECT_TRUE(outcome.reply.status == 201 || outcome.reply.status == 503) << outcome.reply.body;
    acknowledged += outcome.reply.status == 201;
  }
  server.start();
  bool recovered = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!recovered && std::chrono::steady_clock::now() < deadline) {
    recovered = node.run(MakeDeposit{a, 1000, "USD", "{}"}).reply.status == 201;
    if (!recovered) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(recovered);
  EXPECT_TRUE(node.ledger->healthy());
  // Every acknowledged deposit survived the crash (fsync on).
  EXPECT_GE(node.ledger->account(a).value().balance, 1100 + acknowledged);
  node.ledger->shutdown();
  expect_ledger_balances(server.url());
}

TEST(PostgresLedgerTest, OpenAgainstAnUnreachableServerFailsWithinTheConnectTimeout) {
  SystemClock clock;
  SeededRandom random(4);
  IdGenerator ids(clock, random);
  metrics::Registry registry;
  PostgresOptions options;
  options.url = "postgresql://postgres@127.0.0.1:1/payd";
  options.connect_timeout_s = 2;
  PostgresLedger ledger(options, ids, clock, random, registry);
  auto start = std::chrono::steady_clock::now();
  Status opened = ledger.open();
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.problem().detail.find("cannot connect to PostgreSQL"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(PostgresLedgerTest, StatementsLongerThanTheTimeoutAreCancelled) {
  Connection connection(fresh_database_url(), 5, 200);
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(connection.execute("SELECT pg_sleep(3)"), DatabaseError);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  connection.execute("SELECT 1");  // the connection stays usable
}

}  // namespace
}  // namespace payd::ledger::postgres
