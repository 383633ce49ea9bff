// The listener for the database's notices of changed reference data,
// against a harness-started server: what the migration's triggers notify,
// and the listener across the server's crash and restart.
#include "ledger/postgres/notification_listener.h"

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "ledger/postgres/connection.h"
#include "ledger/postgres/schema.h"
#include "tests/support/eventually.h"
#include "tests/support/postgres_server.h"

namespace payd::ledger::postgres {
namespace {

using namespace std::chrono_literals;
using payd::testing::eventually;

// What a listener said, in order: "listening", "deaf" or a payload heard.
class Log {
 public:
  NotificationHandlers handlers() {
    return {[this] { add("listening"); }, [this](const std::string& payload) { add(payload); },
            [this] { add("deaf"); }};
  }
  std::vector<std::string> said() {
    std::lock_guard lock(mutex_);
    return said_;
  }
  bool has(const std::string& what) {
    std::vector<std::string> now = said();
    return std::find(now.begin(), now.end(), what) != now.end();
  }

 private:
  void add(const std::string& what) {
    std::lock_guard lock(mutex_);
    said_.push_back(what);
  }
  std::mutex mutex_;
  std::vector<std::string> said_;
};

NotificationOptions options_for(const std::string& url) {
  NotificationOptions options;
  options.url = url;
  options.channel = cache_channel;
  options.connect_timeout_s = 2;
  options.reconnect_backoff_max_ms = 200;
  return options;
}

TEST(NotificationListener, HearsTheCacheKeysOfChangedReferenceRowsAcrossACrash) {
  payd::testing::PostgresServer server;
  Connection connection(server.url(), 2);
  apply_migrations(connection);
  SeededRandom random(1);
  Log log;
  NotificationListener listener(options_for(server.url()), log.handlers(), random);
  ASSERT_TRUE(eventually([&] { return listener.listening(); }, 5s));

  connection.execute(
      "INSERT INTO merchants (id, name, settlement_currency, max_amount, fee_bps, fee_fixed, active, account, "
      "created_at, updated_at) VALUES ('mer_1', 'Shop', 'USD', 100000, 290, 30, true, 'acct_m', 0, 0);"
      "INSERT INTO fx_rates (base, quote, rate, mantissa, scale, version, updated_at) "
      "VALUES ('USD', 'EUR', '0.91', 91, 2, 1, 0)");
  connection.execute("UPDATE merchants SET fee_bps = 100 WHERE id = 'mer_1'");
  connection.execute("UPDATE fx_rates SET rate = '0.92', mantissa = 92, version = 2");
  ASSERT_TRUE(eventually([&] { return log.has("fx:USDEUR"); }, 5s));
  EXPECT_EQ(log.said(), (std::vector<std::string>{"listening", "merchant:config:mer_1", "fx:USDEUR"}))
      << "new rows are not notified (a miss is never cached); changed ones are, in commit order";
  // A change rolled back is never notified.
  connection.execute("BEGIN; UPDATE merchants SET fee_bps = 5 WHERE id = 'mer_1'; ROLLBACK");

  server.stop_immediate();
  ASSERT_TRUE(eventually([&] { return !listener.listening(); }, 10s));
  EXPECT_EQ(log.said().back(), "deaf");
  server.start();
  ASSERT_TRUE(eventually([&] { return listener.listening(); }, 10s)) << "it listens again by itself";
  Connection again(server.url(), 2);
  again.execute("DELETE FROM merchants WHERE id = 'mer_1'");
  ASSERT_TRUE(eventually([&] { return log.said().size() == 6; }, 5s));
  EXPECT_EQ(log.said(), (std::vector<std::string>{"listening", "merchant:config:mer_1", "fx:USDEUR", "deaf",
                                                  "listening", "merchant:config:mer_1"}));
}

TEST(NotificationListener, KeepsTryingWhileTheServerIsDownAndStopsPromptly) {
  payd::testing::PostgresServer server;
  server.stop_immediate();
  SeededRandom random(1);
  Log log;
  {
    NotificationListener listener(options_for(server.url()), log.handlers(), random);
    server.start();
    ASSERT_TRUE(eventually([&] { return listener.listening(); }, 10s));
  }
  EXPECT_EQ(log.said(), (std::vector<std::string>{"listening", "deaf"})) << "stopping is the end of hearing";
}

}  // namespace
}  // namespace payd::ledger::postgres
