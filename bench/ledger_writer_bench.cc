// Durable transfers per second through a ledger writer alone (no HTTP), at
// batch sizes 1, 64 and 512, between 10,000 accounts chosen uniformly. Each
// transfer carries an idempotency key, so the figure includes storing the
// outcome in the same transaction. The SQLite writer by default; with
// PAYD_BENCH_POSTGRES_URL set, the PostgreSQL writer on that database
// (bench/pgbench/run starts one and compares with pgbench).
//
//   make bench            (or build/ledger_writer_bench)
//
// Target (foundation issue): at least 40,000 transfers/s at batch size 512
// on a 2-core machine where one fsync costs about 175 µs.
#include <benchmark/benchmark.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "domain/render.h"
#include "ledger/postgres/postgres_ledger.h"
#include "ledger/sqlite/sqlite_ledger.h"

namespace payd {
namespace {

constexpr int accounts_count = 10'000;

struct Fixture {
  explicit Fixture(std::size_t batch_size_max) : ids(clock, random) {
    char pattern[] = "/tmp/payd-bench-XXXXXX";
    directory = mkdtemp(pattern);
    ledger_ = open_ledger(batch_size_max);
    for (int i = 0; i < accounts_count; ++i) {
      account_ids.push_back(run_one(ledger::CreateAccount{"USD", AccountType::customer, 0, "{}"}));
    }
    std::vector<ledger::Command> deposits;
    for (const auto& id : account_ids) deposits.push_back(ledger::MakeDeposit{id, 1'000'000'000, "USD", "{}"});
    run_all(std::move(deposits));
  }
  std::unique_ptr<ledger::Ledger> open_ledger(std::size_t batch_size_max) {
    const char* postgres_url = std::getenv("PAYD_BENCH_POSTGRES_URL");
    Status opened = Ok{};
    if (postgres_url) {
      ledger::postgres::PostgresOptions options;
      options.url = postgres_url;
      options.batch_size_max = batch_size_max;
      options.queue_capacity = 1'000'000;
      auto ledger = std::make_unique<ledger::postgres::PostgresLedger>(options, ids, clock, random, registry);
      opened = ledger->open();
      if (opened.ok()) return ledger;
    } else {
      ledger::sqlite::SqliteOptions options;
      options.path = directory + "/ledger.db";
      options.batch_size_max = batch_size_max;
      options.queue_capacity = 1'000'000;
      // Batch 1 is the textbook design: a transaction and an fsync per
      // transfer, on the writer thread. (With the pipelined sync, batches of
      // one would still share fsyncs.)
      options.pipelined_sync = batch_size_max > 1;
      auto ledger = std::make_unique<ledger::sqlite::SqliteLedger>(options, ids, clock, registry);
      opened = ledger->open();
      if (opened.ok()) return ledger;
    }
    std::fprintf(stderr, "cannot open the ledger: %s\n", opened.problem().detail.c_str());
    std::abort();
  }

  ~Fixture() {
    ledger_->shutdown();
    std::filesystem::remove_all(directory);
  }

  // Submits every command at once (so they commit in full batches) and waits.
  void run_all(std::vector<ledger::Command> commands) {
    std::mutex mutex;
    std::condition_variable done_signal;
    std::size_t remaining = commands.size();
    for (auto& command : commands) {
      ledger_->submit(ledger::Submission{std::move(command), std::nullopt, "req_bench"}, [&](ledger::Outcome) {
        std::lock_guard lock(mutex);
        if (--remaining == 0) done_signal.notify_one();
      });
    }
    std::unique_lock lock(mutex);
    done_signal.wait(lock, [&] { return remaining == 0; });
  }

  // Submits one command and waits; returns the new object's id.
  std::string run_one(ledger::Command command) {
    std::mutex mutex;
    std::condition_variable done_signal;
    bool done = false;
    std::string body;
    ledger_->submit(ledger::Submission{std::move(command), std::nullopt, "req_bench"}, [&](ledger::Outcome outcome) {
      std::lock_guard lock(mutex);
      body = std::move(outcome.reply.body);
      done = true;
      done_signal.notify_one();
    });
    std::unique_lock lock(mutex);
    done_signal.wait(lock, [&] { return done; });
    return body.substr(7, body.find('"', 7) - 7);  // {"id":"...
  }

  SystemClock clock;
  SeededRandom random{42};
  IdGenerator ids;
  metrics::Registry registry;
  std::string directory;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::vector<std::string> account_ids;
};

// A random 32-hex-digit key, as clients that send UUIDs do: keys land all
// over the idempotency index rather than at its end.
std::string random_key(Random& random) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string key;
  for (int half = 0; half < 2; ++half) {
    std::uint64_t bits = random.next_u64();
    for (int i = 0; i < 16; ++i, bits >>= 4) key.push_back(hex[bits & 0xf]);
  }
  return key;
}

// A time-ordered key, as clients that send UUIDv7 or ULID keys do: each new
// key lands at the end of the idempotency index.
std::string ordered_key(std::uint64_t sequence) {
  char key[24];
  std::snprintf(key, sizeof key, "%020llu", static_cast<unsigned long long>(sequence));
  return key;
}

void BM_DurableTransfers(benchmark::State& state) {
  const auto batch_size_max = static_cast<std::size_t>(state.range(0));
  const bool random_keys = state.range(1) != 0;
  const int transfers_per_iteration = batch_size_max == 1 ? 2'000 : 50'000;
  Fixture fixture(batch_size_max);
  std::uint64_t sequence = 0;
  std::int64_t transfers = 0;
  const auto before = fixture.ledger_->stats();
  for (auto _ : state) {
    std::atomic<int> remaining{transfers_per_iteration};
    std::atomic<int> refused{0};
    std::mutex mutex;
    std::condition_variable all_done;
    for (int i = 0; i < transfers_per_iteration; ++i) {
      ++sequence;
      const std::string& from = fixture.account_ids[(sequence * 7919) % accounts_count];
      const std::string& to = fixture.account_ids[(sequence * 104729 + 1) % accounts_count];
      if (from == to) {
        remaining.fetch_sub(1);
        continue;
      }
      ledger::Submission submission{ledger::MakeTransfer{from, to, 1 + static_cast<Minor>(sequence % 1000), "USD", "", "{}"},
                                    ledger::IdempotencyTag{random_keys ? random_key(fixture.random) : ordered_key(sequence), "fingerprint"},
                                    "req_bench"};
      fixture.ledger_->submit(std::move(submission), [&](ledger::Outcome outcome) {
        if (outcome.reply.status != 201) refused.fetch_add(1);
        if (remaining.fetch_sub(1) == 1) {
          std::lock_guard lock(mutex);
          all_done.notify_one();
        }
      });
    }
    std::unique_lock lock(mutex);
    all_done.wait(lock, [&] { return remaining.load() == 0; });
    if (refused.load() != 0) state.SkipWithError("some transfers were refused");
    transfers += transfers_per_iteration;
  }
  state.SetItemsProcessed(transfers);
  const auto after = fixture.ledger_->stats();
  const auto batches = after.batches - before.batches;
  state.counters["mean_batch"] = batches ? static_cast<double>(after.commands - before.commands) / static_cast<double>(batches) : 0;
}

// Arguments: batch_size_max (1: inline fsyncs on SQLite, see open_ledger), then keys (0: time-ordered,
// 1: random).
BENCHMARK(BM_DurableTransfers)
    ->ArgNames({"batch", "random_keys"})
    ->Args({1, 1})
    ->Args({64, 1})
    ->Args({512, 1})
    ->Args({1, 0})
    ->Args({64, 0})
    ->Args({512, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

}  // namespace
}  // namespace payd

BENCHMARK_MAIN();
