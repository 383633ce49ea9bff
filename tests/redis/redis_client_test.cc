// The Redis client against real redis-servers started by the harness
// (tests/support/redis_server.h): round trips, pipelining, AUTH, TLS,
// deadlines, crashes and restarts, backoff, overload, pub/sub, Sentinel
// failover. Time bounds asserted here are correctness bounds with generous
// margins, not benchmarks.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "redis/client.h"
#include "tests/support/eventually.h"
#include "tests/support/redis_server.h"

namespace payd::redis {
namespace {

using testing::RedisServer;
using testing::RedisServerOptions;
using testing::RedisSentinelSet;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using payd::testing::eventually;

// Generous deadline for tests about something else than deadlines: the
// machine running them may be busy.
constexpr int relaxed_deadline_ms = 1000;

Options relaxed_options() {
  Options options;
  options.deadline_ms = relaxed_deadline_ms;
  options.connect_timeout_ms = 1000;
  options.backoff_base_ms = 20;
  options.backoff_max_ms = 200;
  return options;
}

std::unique_ptr<Client> make(const std::string& text, const Options& options, metrics::Registry& registry,
                             Random& random) {
  Result<Url> url = parse_url(text);
  if (!url.ok()) throw std::runtime_error(url.problem().detail);
  return make_client(*url, options, registry, random);
}

std::string text_of(const Response& response) {
  if (!response.ok()) return "failure: " + response.failure.message;
  return response.reply->text;
}

long long elapsed_ms(SteadyClock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start).count();
}

// Counts callbacks; waits for a number of them.
class Latch {
 public:
  void arrive() {
    std::lock_guard lock(mutex_);
    ++count_;
    changed_.notify_all();
  }
  bool wait_for(int count, milliseconds wait_max) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, wait_max, [&] { return count_ >= count; });
  }
  int count() {
    std::lock_guard lock(mutex_);
    return count_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int count_ = 0;
};

class RedisClientTest : public ::testing::Test {
 protected:
  metrics::Registry registry_;
  SeededRandom random_{42};
};

TEST_F(RedisClientTest, RoundTrips) {
  RedisServer server;
  auto client = make(server.url(), relaxed_options(), registry_, random_);
  ASSERT_TRUE(client);
  EXPECT_EQ(text_of(client->call({"SET", "greeting", "hello\r\nworld"})), "OK");
  EXPECT_EQ(text_of(client->call({"GET", "greeting"})), "hello\r\nworld");
  Response missing = client->call({"GET", "missing"});
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing.reply->is_nil());
  Response counted = client->call({"INCRBY", "counter", "5"});
  ASSERT_TRUE(counted.ok());
  EXPECT_EQ(counted.reply->integer, 5);
  Response wrong_type = client->call({"LPUSH", "greeting", "x"});
  ASSERT_TRUE(wrong_type.ok());
  EXPECT_TRUE(wrong_type.reply->is_error());
  EXPECT_TRUE(wrong_type.reply->text.starts_with("WRONGTYPE"));
  Response script = client->call({"EVAL", "return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}", "1", "n", "a"});
  ASSERT_TRUE(script.ok());
  ASSERT_EQ(script.reply->elements.size(), 3u);
  EXPECT_EQ(script.reply->elements[0].text, "n");
  EXPECT_EQ(script.reply->elements[1].text, "a");
  EXPECT_EQ(script.reply->elements[2].integer, 1);
  EXPECT_TRUE(client->connected());

  std::vector<Response> all = client->call_all({{"SET", "a", "1"}, {"GET", "a"}, {"DEL", "a"}, {"GET", "a"}});
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(text_of(all[1]), "1");
  EXPECT_EQ(all[2].reply->integer, 1);
  EXPECT_TRUE(all[3].reply->is_nil());
}

TEST_F(RedisClientTest, ThousandsOfPipelinedCommandsGetTheirOwnReplies) {
  RedisServer server;
  Options options = relaxed_options();
  options.in_flight_max = 4096;
  auto client = make(server.url(), options, registry_, random_);
  ASSERT_TRUE(eventually([&] { return client->connected(); }, milliseconds(5000)));
  // Commands on different connections are not ordered: all SETs first.
  constexpr int count = 5000;
  std::atomic<int> wrong{0};
  Latch set;
  for (int i = 0; i < count; ++i) {
    client->execute({"SET", "key:" + std::to_string(i), "value:" + std::to_string(i)}, [&](Response response) {
      if (text_of(response) != "OK") ++wrong;
      set.arrive();
    });
  }
  ASSERT_TRUE(set.wait_for(count, milliseconds(10'000)));
  Latch done;
  for (int i = 0; i < count; ++i) {
    client->execute({"GET", "key:" + std::to_string(i)}, [&, i](Response response) {
      if (text_of(response) != "value:" + std::to_string(i)) ++wrong;
      done.arrive();
    });
  }
  ASSERT_TRUE(done.wait_for(count, milliseconds(10'000)));
  EXPECT_EQ(wrong.load(), 0);

  std::vector<Command> commands;
  for (int i = 0; i < 2000; ++i) commands.push_back({"GET", "key:" + std::to_string(i)});
  std::vector<Response> responses = client->call_all(commands);
  for (int i = 0; i < 2000; ++i) EXPECT_EQ(text_of(responses[static_cast<std::size_t>(i)]), "value:" + std::to_string(i));
}

TEST_F(RedisClientTest, AuthenticatesWithPasswordOrUser) {
  RedisServerOptions server_options;
  server_options.password = "s3cret";
  server_options.acl_user = "payd";
  server_options.acl_password = "p@ss/word";
  RedisServer server(server_options);
  std::string address = "127.0.0.1:" + std::to_string(server.port());
  Options options = relaxed_options();
  options.deadline_ms = 300;

  auto with_password = make("redis://:s3cret@" + address + "/2", options, registry_, random_);
  EXPECT_EQ(text_of(with_password->call({"SET", "k", "v"})), "OK");
  EXPECT_EQ(server.cli("-n 2 GET k"), "v");

  auto with_user = make("redis://payd:p%40ss%2Fword@" + address, options, registry_, random_);
  EXPECT_EQ(text_of(with_user->call({"ACL", "WHOAMI"})), "payd");

  for (const std::string& wrong : {"redis://:wrong@" + address, "redis://payd:wrong@" + address, "redis://" + address}) {
    SCOPED_TRACE(wrong);
    auto client = make(wrong, options, registry_, random_);
    auto start = SteadyClock::now();
    Response response = client->call({"SET", "k", "x"});
    bool refused = !response.ok() || response.reply->is_error();  // no AUTH at all: -NOAUTH
    EXPECT_TRUE(refused);
    EXPECT_LT(elapsed_ms(start), options.deadline_ms + 500);
  }
  EXPECT_EQ(server.cli("-n 0 GET k"), "");
}

TEST_F(RedisClientTest, Tls) {
  RedisServerOptions server_options;
  server_options.tls = true;
  RedisServer server(server_options);
  Options options = relaxed_options();
  options.tls_ca_file = server.ca_file();
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    SCOPED_TRACE(host);
    auto client = make("rediss://" + host + ":" + std::to_string(server.port()), options, registry_, random_);
    EXPECT_EQ(text_of(client->call({"SET", "tls", host})), "OK");
    EXPECT_EQ(text_of(client->call({"GET", "tls"})), host);
  }

  // The system store does not know the test CA.
  Options system_store = relaxed_options();
  system_store.deadline_ms = 300;
  auto untrusted = make(server.url(), system_store, registry_, random_);
  EXPECT_FALSE(untrusted->call({"PING"}).ok());
  EXPECT_FALSE(untrusted->connected());

  system_store.tls_verify = false;
  auto unverified = make(server.url(), system_store, registry_, random_);
  EXPECT_EQ(text_of(unverified->call({"PING"})), "PONG");

  // Plain RESP to a TLS port gets no reply.
  auto plain = make("redis://127.0.0.1:" + std::to_string(server.port()), system_store, registry_, random_);
  EXPECT_FALSE(plain->call({"PING"}).ok());
}

TEST_F(RedisClientTest, PausedServerTimesOutWithinTheDeadlineAndRecovers) {
  RedisServerOptions server_options;
  server_options.config_lines = {"enable-debug-command local"};
  RedisServer server(server_options);
  Options options = relaxed_options();
  options.deadline_ms = 100;
  auto client = make(server.url(), options, registry_, random_);
  ASSERT_TRUE(eventually([&] { return client->connected(); }, milliseconds(5000)));
  ASSERT_EQ(text_of(client->call({"SET", "x", "old"})), "OK");
  ASSERT_EQ(text_of(client->call({"SET", "y", "why"})), "OK");

  // CLIENT PAUSE answers at once; DEBUG SLEEP answers after sleeping, so it
  // runs on a thread, given time to reach the server.
  std::thread sleeper;
  metrics::Counter& connects = registry_.counter("payd_redis_connects_total", "",
                                                 {{"client", "cache"}, {"outcome", "ok"}});
  for (const std::string pause : {"CLIENT PAUSE 1000 ALL", "DEBUG SLEEP 1"}) {
    SCOPED_TRACE(pause);
    if (pause.starts_with("CLIENT")) {
      server.cli(pause);
    } else {
      sleeper = std::thread([&server, pause] { server.cli(pause); });
      std::this_thread::sleep_for(milliseconds(300));
    }
    auto start = SteadyClock::now();
    Response response = client->call({"GET", "x"});
    long long waited_ms = elapsed_ms(start);
    EXPECT_FALSE(response.ok());
    EXPECT_EQ(response.failure.kind, Failure::Kind::timeout) << response.failure.message;
    EXPECT_GE(waited_ms, options.deadline_ms - 5);
    EXPECT_LT(waited_ms, 500);
    // The late reply to GET x is dropped, not given to the next command.
    std::uint64_t connects_before = connects.value();
    EXPECT_TRUE(eventually([&] { return text_of(client->call({"GET", "y"})) == "why"; }, milliseconds(3000)));
    // GET x had no reply for 4 deadlines past its own: its connection was
    // closed and opened again.
    EXPECT_GT(connects.value(), connects_before);
  }
  sleeper.join();
}

TEST_F(RedisClientTest, KilledServerFailsFastAndClientReconnectsAfterRestart) {
  RedisServer server;
  Options options = relaxed_options();
  options.deadline_ms = 200;
  auto client = make(server.url(), options, registry_, random_);
  ASSERT_EQ(text_of(client->call({"SET", "k", "v"})), "OK");

  server.kill9();
  // The client learns of the loss when its thread reads the close; a GET
  // sent before that waits for a reply and times out instead (seen once,
  // with the other test job loading both cores), so ask once it knows.
  ASSERT_TRUE(eventually([&] { return !client->connected(); }, milliseconds(5000)));
  for (int i = 0; i < 3; ++i) {
    auto start = SteadyClock::now();
    Response response = client->call({"GET", "k"});
    ASSERT_FALSE(response.ok());
    EXPECT_EQ(response.failure.kind, Failure::Kind::connection) << response.failure.message;
    EXPECT_LT(elapsed_ms(start), 500);
  }
  EXPECT_FALSE(client->connected());

  server.restart();
  ASSERT_TRUE(eventually([&] { return client->connected(); }, milliseconds(5000)));
  EXPECT_EQ(text_of(client->call({"SET", "k", "again"})), "OK");
}

// The backoff delays each client draws, from its metrics.
struct DelayHistogram {
  std::uint64_t count;
  std::vector<std::uint64_t> per_bucket;  // not cumulative
  double sum;
};

DelayHistogram reconnect_delays(metrics::Registry& registry) {
  metrics::Histogram& histogram =
      registry.histogram("payd_redis_reconnect_delay_seconds", "", {}, {{"client", "cache"}});
  DelayHistogram delays{histogram.count(), {}, histogram.sum()};
  std::uint64_t below = 0;
  for (std::size_t i = 0; i < histogram.upper_bounds().size(); ++i) {
    delays.per_bucket.push_back(histogram.cumulative(i) - below);
    below = histogram.cumulative(i);
  }
  return delays;
}

TEST_F(RedisClientTest, ReconnectDelaysAreJitteredAndGrowToTheCap) {
  int port;
  {
    RedisServer gone;
    port = gone.port();
  }
  Options options = relaxed_options();
  options.backoff_base_ms = 5;
  options.backoff_max_ms = 80;
  std::vector<DelayHistogram> seen;
  for (std::uint64_t seed : {1, 2}) {
    metrics::Registry registry;
    SeededRandom random(seed);
    auto client = make("redis://127.0.0.1:" + std::to_string(port), options, registry, random);
    std::this_thread::sleep_for(milliseconds(1500));
    seen.push_back(reconnect_delays(registry));
  }
  for (const DelayHistogram& delays : seen) {
    // Two connections, each about 1.5 s / 40 ms on average.
    EXPECT_GE(delays.count, 20u);
    std::size_t buckets_used = 0;
    for (std::uint64_t n : delays.per_bucket) buckets_used += n > 0 ? 1 : 0;
    EXPECT_GE(buckets_used, 4u) << "delays are spread, not in step";
    // Buckets end at 1, 5, 10, 25, 50 and 100 ms. Delays above 50 ms exist
    // only once the ceiling has doubled up to the cap, and none exceeds the
    // cap of 80 ms.
    EXPECT_GT(delays.per_bucket[5], 0u);
    EXPECT_EQ(delays.per_bucket[0] + delays.per_bucket[1] + delays.per_bucket[2] + delays.per_bucket[3] +
                  delays.per_bucket[4] + delays.per_bucket[5],
              delays.count);
  }
  EXPECT_NE(seen[0].sum, seen[1].sum) << "differently seeded clients draw different delays";
}

TEST_F(RedisClientTest, BeyondInFlightMaxCommandsAreOverloadedAtOnce) {
  RedisServer server;
  Options options = relaxed_options();
  options.connections = 1;
  options.in_flight_max = 4;
  auto client = make(server.url(), options, registry_, random_);
  ASSERT_TRUE(eventually([&] { return client->connected(); }, milliseconds(5000)));
  server.cli("CLIENT PAUSE 500 ALL");
  std::mutex mutex;
  std::vector<Failure::Kind> failures;
  int replies = 0;
  Latch done;
  Latch overloaded;
  auto start = SteadyClock::now();
  for (int i = 0; i < 10; ++i) {
    client->execute({"PING"}, [&](Response response) {
      {
        std::lock_guard lock(mutex);
        if (response.ok()) {
          ++replies;
        } else {
          failures.push_back(response.failure.kind);
          if (response.failure.kind == Failure::Kind::overloaded) overloaded.arrive();
        }
      }
      done.arrive();
    });
  }
  ASSERT_TRUE(overloaded.wait_for(6, milliseconds(1000)));
  EXPECT_LT(elapsed_ms(start), 300) << "refused at once, not after the pause";
  ASSERT_TRUE(done.wait_for(10, milliseconds(3000)));
  std::lock_guard lock(mutex);
  EXPECT_EQ(replies, 4);
  EXPECT_EQ(failures.size(), 6u);
}

TEST_F(RedisClientTest, EveryCommandCompletesOnceEvenWhenTheClientIsDestroyed) {
  RedisServer server;
  Options options = relaxed_options();
  auto client = make(server.url(), options, registry_, random_);
  ASSERT_TRUE(eventually([&] { return client->connected(); }, milliseconds(5000)));
  server.cli("CLIENT PAUSE 1000 ALL");
  std::atomic<int> calls{0};
  for (int i = 0; i < 100; ++i) client->execute({"PING"}, [&](Response) { ++calls; });
  client->execute_all({{"PING"}, {"PING"}}, [&](std::vector<Response> responses) {
    calls += static_cast<int>(responses.size());
  });
  std::this_thread::sleep_for(milliseconds(50));
  auto start = SteadyClock::now();
  client.reset();
  EXPECT_LT(elapsed_ms(start), 500);
  EXPECT_EQ(calls.load(), 102);
}

TEST_F(RedisClientTest, SubscriptionReceivesMessagesAndResubscribesAfterRestart) {
  RedisServer server;
  auto client = make(server.url(), relaxed_options(), registry_, random_);
  std::mutex mutex;
  std::vector<std::string> messages;
  Latch subscribed;
  auto subscription = client->subscribe(
      "invalidations",
      [&](std::string message) {
        std::lock_guard lock(mutex);
        messages.push_back(std::move(message));
      },
      [&] { subscribed.arrive(); });
  ASSERT_TRUE(subscribed.wait_for(1, milliseconds(5000)));
  auto received = [&](const std::string& message) {
    return eventually(
        [&] {
          std::lock_guard lock(mutex);
          return std::find(messages.begin(), messages.end(), message) != messages.end();
        },
        milliseconds(3000));
  };
  EXPECT_EQ(client->call({"PUBLISH", "invalidations", "first"}).reply->integer, 1);
  EXPECT_TRUE(received("first"));

  server.kill9();
  server.restart();
  ASSERT_TRUE(subscribed.wait_for(2, milliseconds(5000)));
  ASSERT_TRUE(eventually([&] { return client->call({"PUBLISH", "invalidations", "second"}).ok(); },
                         milliseconds(5000)));
  EXPECT_TRUE(received("second"));

  subscription.reset();
  EXPECT_TRUE(eventually([&] { return server.cli("PUBSUB NUMSUB invalidations") == "invalidations\n0"; },
                         milliseconds(3000)));
}

TEST_F(RedisClientTest, SentinelFindsTheMasterAndFollowsAFailover) {
  RedisSentinelSet set;
  Options options = relaxed_options();
  options.deadline_ms = 500;
  auto client = make(set.url(), options, registry_, random_);
  ASSERT_TRUE(eventually([&] { return text_of(client->call({"SET", "before", "1"})) == "OK"; },
                         milliseconds(5000)));
  EXPECT_EQ(set.primary().cli("GET before"), "1");

  auto start = SteadyClock::now();
  set.primary().kill9();
  bool written = eventually([&] { return text_of(client->call({"SET", "after", "2"})) == "OK"; },
                            milliseconds(20'000));
  ASSERT_TRUE(written) << "no failover within 20 s";
  EXPECT_EQ(set.master_port(), set.replica().port());
  EXPECT_EQ(set.replica().cli("GET after"), "2");
  EXPECT_EQ(set.replica().cli("GET before"), "1");
  std::cout << "writes resumed " << elapsed_ms(start) << " ms after the master was killed\n";
}

}  // namespace
}  // namespace payd::redis
